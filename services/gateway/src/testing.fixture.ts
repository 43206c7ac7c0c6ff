import http from 'node:http';
import type net from 'node:net';
import { createLogger, createMemoryBus, parseConfig, SUBJECTS, type AppLoad, type Bus } from '@evshare/kit';
import { gatewayConfigSchema, type GatewayConfig } from './config';
import { startGateway, type RunningGateway } from './gateway';

/**
 * Test support for the gateway's integration tests: tiny node:http upstreams that answer with
 * their id and count what they saw, a gateway on a free port with fast health checks, and
 * bounded waits.
 */

export const silentLog = createLogger('gateway-test', 'silent');

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestUpstream {
  id: string;
  port: number;
  url: string;
  seen: Seen[];
  inflight: number;
  maxInflight: number;
  /** What /readyz answers. */
  ready: boolean;
  /** /readyz answers this late (ms): a starved instance that still serves requests. */
  probeDelayMs: number;
  /** Requests whose client closed before the answer was written. */
  abandoned: number;
  /** Replaces the default answer (JSON with the id) for non-/readyz requests. */
  handler: ((req: http.IncomingMessage, res: http.ServerResponse, body: string) => void) | undefined;
  /** While true, requests wait until release() (to saturate instances). */
  hold: boolean;
  release(): void;
  /** Stops at once: listener closed and every connection destroyed, like a crashed process. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startUpstream(id: string): Promise<TestUpstream> {
  const sockets = new Set<net.Socket>();
  const held: (() => void)[] = [];
  let server: http.Server;
  const up: TestUpstream = {
    id,
    port: 0,
    url: '',
    seen: [],
    inflight: 0,
    maxInflight: 0,
    ready: true,
    probeDelayMs: 0,
    abandoned: 0,
    handler: undefined,
    hold: false,
    release() {
      for (const go of held.splice(0)) go();
    },
    async kill() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restart() {
      await listenOn(up.port);
    },
    async close() {
      up.release();
      if (server.listening) await up.kill();
    },
  };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    if (up.handler) {
      up.handler(req, res, body);
      return;
    }
    const text = JSON.stringify({ id, method: req.method, url: req.url, bodyLength: body.length });
    res.writeHead(200, { 'content-type': 'application/json', 'x-app-instance': id });
    res.end(text);
  };
  const listenOn = async (port: number) => {
    server = http.createServer((req, res) => {
      if (req.url === '/readyz') {
        const ready = () => {
          if (!res.destroyed) res.writeHead(up.ready ? 200 : 503, { 'content-type': 'application/json' }).end('{}');
        };
        if (up.probeDelayMs > 0) setTimeout(ready, up.probeDelayMs);
        else ready();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        up.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        up.inflight++;
        res.once('close', () => {
          up.inflight--;
          if (!res.writableEnded) up.abandoned++;
        });
        up.maxInflight = Math.max(up.maxInflight, up.inflight);
        if (up.hold) held.push(() => answer(req, res, body));
        else answer(req, res, body);
      });
    });
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    up.port = (server.address() as net.AddressInfo).port;
    up.url = `http://127.0.0.1:${up.port}`;
  };
  await listenOn(0);
  return up;
}

/** Gateway configuration for tests: free port, fast probes, quiet logs. */
export function testConfig(env: Record<string, string> = {}): GatewayConfig {
  return parseConfig(gatewayConfigSchema, {
    PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    HEALTH_INTERVAL_MS: '100',
    HEALTH_TIMEOUT_MS: '200',
    MEMBER_TIMEOUT_MS: '1000',
    ...env,
  });
}

export interface TestGateway {
  gateway: RunningGateway;
  bus: Bus;
  url: string;
  /** The operators' listener (/lb/status, /metrics). */
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startTestGateway(env: Record<string, string> = {}, bus: Bus = createMemoryBus()): Promise<TestGateway> {
  const gateway = await startGateway({ config: testConfig(env), log: silentLog, bus });
  return {
    gateway,
    bus,
    url: gateway.url,
    adminUrl: gateway.adminUrl,
    async stop() {
      await gateway.stop();
      await bus.close();
    },
  };
}

export function announce(bus: Bus, up: TestUpstream, maxConcurrency = 100): void {
  bus.publish(SUBJECTS.appAnnounce, { id: up.id, url: up.url, maxConcurrency, startedAt: new Date().toISOString() });
}

export function reportLoad(bus: Bus, up: TestUpstream, load: Partial<AppLoad> = {}): void {
  const report: AppLoad = {
    id: up.id,
    url: up.url,
    inflight: 0,
    rps: 0,
    eventLoopDelayMs: 1,
    eventLoopUtilization: 0.1,
    p95LatencyMs: 2,
    activeMembers: 0,
    maxConcurrency: 100,
    draining: false,
    at: new Date().toISOString(),
    ...load,
  };
  bus.publish(SUBJECTS.appLoad(up.id), report);
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read answers as untyped JSON, as supertest's body
  json(): any;
}

export interface CallOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Bind the client socket to this local address (127.x.y.z all work on Linux loopback). */
  localAddress?: string;
  agent?: http.Agent | false;
  /** Give up (reject) when no answer has come this long. */
  timeoutMs?: number;
}

export function call(base: string, path: string, options: CallOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${base}${path}`,
      { method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress, agent: options.agent ?? false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: response.statusCode!, headers: response.headers, text, json: () => JSON.parse(text) });
        });
      },
    );
    request.on('error', reject);
    if (options.timeoutMs !== undefined) request.setTimeout(options.timeoutMs, () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.end(options.body);
  });
}

/** Polls until `check` returns a truthy value; fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
