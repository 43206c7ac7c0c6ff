import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger } from '../logger';

export interface RunningServer {
  server: http.Server;
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to timeoutMs), then closes every connection. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Handshakes the kernel completes ahead of accept (capped by net.core.somaxconn): Node's default
 * 511 overflows when a fleet or a crowd reconnects at once, and the kernel resets what it dropped.
 */
export const LISTEN_BACKLOG = 4096;

/** Listens on host:port (port 0 = any free port) and resolves once listening. */
export async function listen(handler: Express | http.RequestListener, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  // Idle keep-alive outlives the usual 60 s balancer idle timeout, so the balancer closes first.
  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 60_000 }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    server,
    port: address.port,
    url: `http://${shownHost}:${address.port}`,
    close: (timeoutMs = 10_000) => closeGracefully(server, timeoutMs),
  };
}

export async function closeGracefully(server: http.Server, timeoutMs: number): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections that finish their request are closed as soon as they go idle.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
  server.closeIdleConnections();
  const outcome = await Promise.race([closed, deadline]);
  clearInterval(sweep);
  if (outcome === 'timeout') {
    server.closeAllConnections();
    await closed;
  }
}

/**
 * For a service's main: SIGTERM or SIGINT runs `stop` once and exits 0 when it finishes, or 1
 * when it throws or exceeds `timeoutMs`; a second signal exits at once.
 */
export function exitOnSignals(log: Logger, stop: () => Promise<void>, timeoutMs = 30_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long');
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
