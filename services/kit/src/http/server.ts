import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
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

/**
 * A request head a service accepts: the gateway's own limit (16 KiB of the client's head) plus
 * room for the fields the gateway adds, so nothing the gateway let through is refused behind it.
 */
export const MAX_HEADER_BYTES = 32 * 1024;

const CLIENT_ERRORS: Record<number, { slug: string; title: string; detail: string }> = {
  400: { slug: 'bad-request', title: 'Bad request', detail: 'The request could not be parsed as HTTP/1.1' },
  408: { slug: 'request-timeout', title: 'Request timeout', detail: 'The request did not arrive in time' },
  431: { slug: 'headers-too-large', title: 'Request header fields too large', detail: `The request head exceeds ${MAX_HEADER_BYTES} bytes` },
};

/**
 * A request Node cannot parse (or that is too large or too slow) is answered problem+json like
 * every other refusal, not with Node's bare status line, and the connection is closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const { slug, title, detail } = CLIENT_ERRORS[status]!;
  const body = JSON.stringify({ type: `urn:evshare:problem:${slug}`, title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Listens on host:port (port 0 = any free port) and resolves once listening. */
export async function listen(handler: Express | http.RequestListener, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  // Idle keep-alive outlives the usual 60 s balancer idle timeout, so the balancer closes first.
  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 60_000, maxHeaderSize: MAX_HEADER_BYTES }, handler);
  server.on('clientError', answerClientError);
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
 * when it throws or exceeds `timeoutMs`; the same signal again (an impatient second Ctrl-C) exits
 * at once. The other signal after the first is the same request relayed: a terminal's Ctrl-C
 * reaches every process of its group, and a parent (the stack's processes mode, the gateway's
 * primary) then sends its children SIGTERM as well.
 */
export function exitOnSignals(log: Logger, stop: () => Promise<void>, timeoutMs = 30_000): void {
  let first: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      if (signal !== first) return;
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    first = signal;
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
