import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  appAnnouncementSchema,
  appLoadSchema,
  appWithdrawalSchema,
  createHealth,
  createMetrics,
  Problem,
  problems,
  SUBJECTS,
  verifyMembership,
  type Bus,
  type Logger,
} from '@evshare/kit';
import { FairQueue } from './admission';
import { ClientConnection, type ClientExchange } from './client';
import { AppCluster, type MembershipChange } from './cluster';
import type { GatewayConfig } from './config';
import { hash32 } from './hash';
import { clientHead, fieldLines, forwardRequestHeaders, type RequestFacts } from './headers';
import { ChunkedScanner, HttpError, type RequestHead, type ResponseHead } from './http1';
import { registerGatewayMetrics } from './metrics';
import { placeholderPage } from './placeholder';
import { StaticPool } from './pool';
import { ALL_BUSY } from './ring';
import { instanceStatus, LB_EVENTS_KEPT, upstreamStatus, type LbEvent, type LbEventKind, type LbStatus } from './status';
import { Upstream, type MemberSource, type PoolName } from './upstream';
import { Framing, UpstreamConnection, type UpstreamExchange } from './upstream-conn';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** Membership comes from here (announcements, withdrawals, load reports); the caller owns it. */
  bus: Bus;
}

export interface RunningGateway {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), closes everything it opened. */
  stop(): Promise<void>;
  status(): LbStatus;
}

/** Methods that may be sent twice (RFC 9110 9.2.2), so a request that never got an answer can be retried. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

const POOL_TITLE: Record<PoolName, string> = { app: 'APP', auth: 'authentication', push: 'push', charging: 'charging', web: 'web' };

/** Idle keep-alive connections kept per upstream. */
const MAX_IDLE_PER_UPSTREAM = 512;


const badGateway = (detail: string) => new Problem(502, 'bad-gateway', 'Bad gateway', detail);
const gatewayTimeout = (detail: string) => new Problem(504, 'gateway-timeout', 'Gateway timeout', detail);

/** `target` is `prefix` itself or below it (`/api/v1` matches `/api/v1/me`, `/api/v1?x`, not `/api/v1x`). */
function under(target: string, prefix: string): boolean {
  if (!target.startsWith(prefix)) return false;
  const next = target.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */;
}

/**
 * One proxied request: the client's side (request body in, answer out) and the upstream
 * connection carrying the current attempt. The decisions are the gateway's; this object only
 * carries the state between the events of both connections (one allocation per request).
 */
class Exchange implements ClientExchange, UpstreamExchange {
  upstream: Upstream | undefined = undefined;
  /** The upstream that already failed this request, skipped by the retry. */
  exclude: Upstream | undefined = undefined;
  conn: UpstreamConnection | null = null;
  /** The body, buffered, for a retry-eligible request that has one; null when streamed. */
  parts: Buffer[] | null = null;
  bodyComplete: boolean;
  /** The whole request went to the current upstream connection. */
  requestSent = false;
  attempts = 0;
  sentAt = 0;
  status = 0;
  responded = false;
  queued = false;
  queueTimer: NodeJS.Timeout | undefined = undefined;
  /** Answered, failed or abandoned: nothing more is sent to the client. */
  done = false;
  /** De-chunks the answer for an HTTP/1.0 client. */
  dechunk: ChunkedScanner | null = null;

  constructor(
    readonly gateway: Gateway,
    readonly client: ClientConnection,
    readonly head: RequestHead,
    readonly facts: RequestFacts,
    /** The request's header lines for the upstream, each ending in CRLF. */
    readonly fields: string,
    readonly pool: PoolName,
    readonly hash: number,
    readonly hasBody: boolean,
    readonly retryable: boolean,
  ) {
    this.bodyComplete = !hasBody;
  }

  get acceptsBody(): boolean {
    return this.parts !== null || this.conn !== null;
  }

  body(chunk: Buffer): void {
    if (this.parts !== null) this.parts.push(chunk);
    else if (this.conn !== null && !this.conn.write(chunk)) this.client.pauseBody();
  }

  bodyEnd(): void {
    this.bodyComplete = true;
    if (this.parts !== null) this.gateway.place(this);
    else if (this.conn !== null) this.requestSent = true;
  }

  clientClosed(): void {
    this.gateway.clientClosed(this);
  }

  clientDrained(): void {
    this.conn?.resume();
  }

  responseHead(head: ResponseHead, framing: Framing): void {
    this.gateway.upstreamResponded(this, head, framing);
  }

  responseBody(buffer: Buffer, from: number, to: number): void {
    if (this.done) return;
    if (this.dechunk !== null) {
      this.dechunk.scan(buffer, from, to);
      return;
    }
    const chunk = from === 0 && to === buffer.length ? buffer : buffer.subarray(from, to);
    if (!this.client.write(chunk)) this.conn?.pause();
  }

  responseEnd(reusable: boolean): void {
    this.gateway.upstreamEnded(this, reusable);
  }

  upstreamFailed(error: NodeJS.ErrnoException, started: boolean): void {
    this.gateway.upstreamFailed(this, error, started);
  }

  upstreamTimedOut(): void {
    this.gateway.upstreamTimedOut(this);
  }

  upstreamDrained(): void {
    this.client.resumeBody();
  }
}

/** A request the gateway answers itself: any body is read and dropped. */
class LocalExchange implements ClientExchange {
  closed = false;
  readonly acceptsBody = true;
  body(): void {}
  bodyEnd(): void {}
  clientClosed(): void {
    this.closed = true;
  }
  clientDrained(): void {}
}

export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const gateway = new Gateway(deps);
  return gateway.start();
}

class Gateway {
  private readonly config: GatewayConfig;
  private readonly log: Logger;
  private readonly bus: Bus;
  private readonly cluster: AppCluster;
  private readonly pools: Record<Exclude<PoolName, 'app'>, StaticPool | undefined>;
  private readonly queue: FairQueue<Exchange>;
  private readonly kitMetrics = createMetrics('gateway');
  private readonly metrics;
  private readonly health = createHealth();
  private readonly probing = new Map<Upstream, http.ClientRequest>();
  private readonly clients = new Set<ClientConnection>();
  private readonly tunnels = new Set<net.Socket>();
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private idleSweep: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;
  private retries = 0;
  private ejections = 0;
  private rejected = 0;
  /** Newest first, at most LB_EVENTS_KEPT. */
  private readonly events: LbEvent[] = [];

  constructor(deps: GatewayDeps) {
    this.config = deps.config;
    this.log = deps.log;
    this.bus = deps.bus;
    const config = deps.config;
    const now = Date.now();
    this.queue = new FairQueue(config.QUEUE_MAX, config.QUEUE_PER_CLIENT);
    this.cluster = new AppCluster({
      balanceFactor: config.BALANCE_FACTOR,
      minBound: config.BALANCE_MIN_LOAD,
      vnodes: config.RING_VNODES,
      useReportedLoad: config.USE_REPORTED_LOAD,
      memberTimeoutMs: config.MEMBER_TIMEOUT_MS,
      create: (id, url, source, capacity, at) => this.upstream('app', id, url, capacity, at, source),
      onChange: (change, member, reason) => this.membershipChanged(change, member, reason),
    });
    for (const url of config.APP_UPSTREAMS) this.cluster.addStatic(url, config.DEFAULT_MAX_CONCURRENCY, now);
    const staticPool = (pool: PoolName, urls: string[], mode: 'round-robin' | 'sticky') =>
      urls.length === 0 ? undefined : new StaticPool(urls.map((url) => this.upstream(pool, url, url, Infinity, now)), mode, config.RING_VNODES);
    this.pools = {
      auth: staticPool('auth', config.AUTH_UPSTREAMS, 'round-robin'),
      push: staticPool('push', config.PUSH_UPSTREAMS, 'sticky'),
      charging: staticPool('charging', config.CHARGING_UPSTREAMS, 'sticky'),
      web: staticPool('web', config.WEB_UPSTREAM ? [config.WEB_UPSTREAM] : [], 'round-robin'),
    };
    this.metrics = registerGatewayMetrics(this.kitMetrics.registry, {
      upstreams: () => this.allUpstreams(),
      queueLength: () => this.queue.length,
    });
    this.health.addCheck('bus', () => this.bus.ping());
  }

  async start(): Promise<RunningGateway> {
    // An idle client is kept 65 s (longer than the idle timeout of a load balancer in front) and
    // at least as long as an answer may take; a request head must arrive within 15 s.
    const limits = { keepAliveMs: Math.max(65_000, this.config.UPSTREAM_TIMEOUT_MS + 1000), headersMs: 15_000, bodyIdleMs: 60_000 };
    // allowHalfOpen: the connection decides itself what a client's FIN means (ClientConnection).
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      const client = new ClientConnection(
        socket,
        limits,
        (conn, head) => this.request(conn, head),
        (conn) => this.clientGone(conn),
      );
      this.clients.add(client);
      if (this.stopping) client.drain();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.PORT, this.config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as net.AddressInfo).port;
    const shownHost = this.config.HOST === '0.0.0.0' || this.config.HOST === '::' ? '127.0.0.1' : this.config.HOST;
    const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
    const parsed = (schema: { safeParse(data: unknown): { success: boolean; data?: unknown } }, what: string, apply: (data: never) => void) => (data: unknown, subject: string) => {
      if (!verifyMembership(subject, data, this.config.MEMBERSHIP_SIGNING_KEY)) {
        this.log.warn({ subject }, 'ignored a membership message without a valid signature');
        return;
      }
      const result = schema.safeParse(data);
      if (result.success) apply(result.data as never);
      else this.log.warn({ subject: what }, 'ignored a malformed membership message');
    };
    this.unsubscribe.push(
      this.bus.subscribe(SUBJECTS.appAnnounce, parsed(appAnnouncementSchema, SUBJECTS.appAnnounce, (a) => this.cluster.announce(a, Date.now()))),
      this.bus.subscribe(SUBJECTS.appWithdraw, parsed(appWithdrawalSchema, SUBJECTS.appWithdraw, (w) => this.cluster.withdraw(w, Date.now()))),
      this.bus.subscribe(SUBJECTS.appLoadAll, parsed(appLoadSchema, SUBJECTS.appLoadAll, (l) => this.cluster.report(l, Date.now()))),
    );
    // Instances started before us announce themselves again.
    this.bus.publish(SUBJECTS.appDiscover, { from: 'gateway', at: new Date().toISOString() });
    this.timer = setInterval(() => this.tick(), this.config.HEALTH_INTERVAL_MS);
    this.timer.unref();
    const idleMs = this.config.UPSTREAM_IDLE_MS;
    this.idleSweep = setInterval(() => {
      const now = Date.now();
      for (const up of this.allUpstreams()) UpstreamConnection.sweepIdle(up, idleMs, now);
    }, Math.max(100, Math.min(1000, idleMs / 4)));
    this.idleSweep.unref();
    this.tick();
    this.log.info({ url, app: this.cluster.members.length, auth: this.config.AUTH_UPSTREAMS, push: this.config.PUSH_UPSTREAMS }, 'gateway listening');
    return {
      url,
      port,
      status: () => this.status(),
      stop: () => (this.stopping ??= this.stop(server)),
    };
  }

  private upstream(pool: PoolName, id: string, url: string, capacity: number, now: number, source?: MemberSource): Upstream {
    const config = this.config;
    return new Upstream({
      pool,
      id,
      url,
      capacity,
      now,
      source,
      health: { fall: config.HEALTH_FALL, rise: config.HEALTH_RISE, ejectAfter5xx: config.EJECT_CONSECUTIVE_5XX },
    });
  }

  private allUpstreams(): Upstream[] {
    const all = [...this.cluster.members];
    for (const pool of Object.values(this.pools)) if (pool) all.push(...pool.members);
    return all;
  }

  // ---------------------------------------------------------------- routing

  private request(conn: ClientConnection, head: RequestHead): void {
    const target = head.target;
    if (head.upgrade) {
      this.upgrade(conn, head);
      return;
    }
    if (under(target, '/api')) {
      this.proxy(conn, head, under(target, '/api/v1/auth') ? 'auth' : this.pools.charging && under(target, '/api/v1/charging') ? 'charging' : 'app');
      return;
    }
    if (under(target, '/push')) {
      this.proxy(conn, head, 'push');
      return;
    }
    const query = target.indexOf('?');
    const path = query < 0 ? target : target.slice(0, query);
    if (path === '/lb' || path.startsWith('/lb/') || path === '/healthz' || path === '/readyz' || path === '/metrics') {
      this.own(conn, head, path);
      return;
    }
    if (this.pools.web) this.proxy(conn, head, 'web');
    else this.placeholder(conn, head);
  }

  // ---------------------------------------------------------------- proxying

  private proxy(conn: ClientConnection, head: RequestHead, pool: PoolName): void {
    const config = this.config;
    const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trustForwarded: config.TRUST_FORWARDED, upgrade: false });
    const hasBody = head.chunked || head.contentLength > 0;
    const retryable =
      (IDEMPOTENT.has(head.method) || facts.idempotencyKey) && (!hasBody || (!head.chunked && head.contentLength <= config.RETRY_BODY_LIMIT));
    // Auth is round-robin: its hash is never read.
    const ex = new Exchange(this, conn, head, facts, fieldLines(facts.headers), pool, pool === 'auth' ? 0 : hash32(facts.client), hasBody, retryable);
    conn.exchange = ex;
    if (retryable && hasBody) {
      // Buffered (at most RETRY_BODY_LIMIT) so that it can be sent a second time; placed at its end.
      ex.parts = [];
      return;
    }
    this.place(ex);
  }

  /** Chooses the upstream for a request (first attempt, retry, or out of the queue). */
  place(ex: Exchange): void {
    if (ex.done) return;
    let up: Upstream | undefined;
    if (ex.pool === 'app') {
      const choice = this.cluster.pick(ex.hash, ex.exclude);
      if (choice === ALL_BUSY) {
        this.enqueue(ex);
        return;
      }
      up = choice;
    } else {
      up = this.pools[ex.pool]?.pick(ex.hash, ex.exclude);
    }
    if (up) {
      this.send(ex, up);
    } else if (ex.attempts > 0) {
      this.reply(ex, badGateway(`${ex.exclude?.id ?? 'the upstream'} failed and no other ${POOL_TITLE[ex.pool]} instance is available`));
    } else {
      this.reject(ex, 'no-upstream', `No ${POOL_TITLE[ex.pool]} instance is available`);
    }
  }

  private send(ex: Exchange, up: Upstream): void {
    ex.upstream = up;
    ex.attempts++;
    ex.responded = false;
    up.inflight++;
    ex.sentAt = performance.now();
    const conn = UpstreamConnection.acquire(up, this.config.UPSTREAM_TIMEOUT_MS);
    ex.conn = conn;
    const host = ex.facts.hasHost ? '' : `Host: ${up.authority}\r\n`;
    conn.send(ex, ex.head.method, `${ex.head.method} ${up.prefix}${ex.head.target} HTTP/1.1\r\n${host}${ex.fields}\r\n`, ex.parts);
    if (ex.bodyComplete) {
      ex.requestSent = true;
    } else {
      // A streamed body flows from now on.
      ex.client.resumeBody();
    }
  }

  upstreamResponded(ex: Exchange, head: ResponseHead, framing: Framing): void {
    const up = ex.upstream!;
    ex.responded = true;
    ex.status = head.status;
    if (up.health.responded(head.status, Date.now())) this.ejected(up);
    if (ex.done) return;
    let mustClose = framing === Framing.Close;
    const dechunk = framing === Framing.Chunked && ex.client.httpMinor === 0;
    if (dechunk) {
      const client = ex.client;
      ex.dechunk = new ChunkedScanner(502, (buffer, from, to) => client.write(buffer.subarray(from, to)));
      mustClose = true;
    }
    ex.client.writeHead(clientHead(head.status, head.reason, head.fields, dechunk), mustClose);
  }

  upstreamEnded(ex: Exchange, reusable: boolean): void {
    const conn = ex.conn;
    ex.conn = null;
    conn?.release(reusable && ex.requestSent, MAX_IDLE_PER_UPSTREAM);
    if (ex.done) return;
    ex.done = true;
    this.endAttempt(ex, ex.status);
    ex.client.end();
  }

  upstreamFailed(ex: Exchange, error: NodeJS.ErrnoException, started: boolean): void {
    const conn = ex.conn;
    ex.conn = null;
    const up = ex.upstream;
    if (ex.done || !up || !conn) return;
    up.errors++;
    if (ex.responded) {
      // Broken off mid-answer: the client must see a broken response, not a short one.
      ex.done = true;
      this.endAttempt(ex, ex.status);
      ex.client.abort();
      return;
    }
    const code = error.code ?? error.message;
    const now = Date.now();
    if (error instanceof HttpError || started) {
      // The instance answered, wrongly: a server error, not a connection failure; never replayed.
      if (up.health.responded(502, now)) this.ejected(up);
      this.endAttempt(ex, 502);
      this.reply(ex, badGateway(`${up.id}: ${error.message}`));
      return;
    }
    // A reset on a reused keep-alive connection can be the server closing an idle connection just
    // as we sent on it; a failed fresh connection means the instance is not there.
    if ((!conn.reused || code === 'ECONNREFUSED') && up.health.connectionFailed(code, now)) this.ejected(up);
    this.endAttempt(ex, 502);
    if (ex.retryable && ex.attempts === 1) {
      this.retries++;
      this.metrics.retries.inc();
      ex.exclude = up;
      this.log.debug({ upstream: up.id, code, requestId: ex.facts.requestId }, 'retrying on another instance');
      this.place(ex);
      return;
    }
    this.log.warn({ upstream: up.id, code, requestId: ex.facts.requestId, method: ex.head.method, target: ex.head.target }, 'upstream failed');
    this.reply(ex, badGateway(`${up.id}: ${code}`));
  }

  upstreamTimedOut(ex: Exchange): void {
    ex.conn = null;
    const up = ex.upstream;
    if (ex.done || !up) return;
    up.errors++;
    if (ex.responded) {
      ex.done = true;
      this.endAttempt(ex, ex.status);
      ex.client.abort();
      return;
    }
    this.endAttempt(ex, 504);
    this.reply(ex, gatewayTimeout(`${up.id} did not answer within ${this.config.UPSTREAM_TIMEOUT_MS} ms`));
  }

  clientClosed(ex: Exchange): void {
    if (ex.done) return;
    ex.done = true;
    if (ex.queued) {
      this.queue.remove(ex.facts.client, ex);
      this.dequeued(ex);
      return;
    }
    ex.conn?.destroy();
    ex.conn = null;
    // 499: nginx's "client closed request", for a client that left before an answer.
    this.endAttempt(ex, ex.responded ? ex.status : 499);
  }

  /** The end of one attempt on one upstream: exactly once per send(). */
  private endAttempt(ex: Exchange, status: number): void {
    const up = ex.upstream;
    if (!up) return;
    ex.upstream = undefined;
    up.inflight--;
    up.record(status, (performance.now() - ex.sentAt) / 1000);
    if (up.removed && up.inflight === 0) up.close();
    if (this.queue.length > 0) this.drainQueue();
  }

  // ---------------------------------------------------------------- admission

  private enqueue(ex: Exchange): void {
    const admission = this.queue.push(ex.facts.client, ex);
    if (admission !== 'queued') {
      this.reject(ex, admission, admission === 'queue-full' ? 'Every APP instance is at its limit and the wait queue is full' : 'Too many of your requests are already waiting');
      return;
    }
    ex.queued = true;
    ex.queueTimer = setTimeout(() => {
      this.queue.remove(ex.facts.client, ex);
      this.dequeued(ex);
      this.reject(ex, 'queue-timeout', `No APP instance became free within ${this.config.QUEUE_TIMEOUT_MS} ms`);
    }, this.config.QUEUE_TIMEOUT_MS);
  }

  private dequeued(ex: Exchange): void {
    ex.queued = false;
    clearTimeout(ex.queueTimer);
    ex.queueTimer = undefined;
  }

  /** Sends waiting requests to instances that have room, fairly across client addresses. */
  private drainQueue(): void {
    // Bounded: a request whose only instance with room is the one it must skip goes back in line.
    for (let budget = this.queue.length; budget > 0 && this.queue.length > 0 && this.cluster.hasCapacity(); budget--) {
      const ex = this.queue.shift()!;
      this.dequeued(ex);
      this.place(ex);
    }
  }

  // ---------------------------------------------------------------- answers made by the gateway

  private reject(ex: Exchange, reason: string, detail: string): void {
    this.rejected++;
    this.metrics.rejected.inc({ reason });
    this.reply(ex, problems.unavailable(this.config.RETRY_AFTER_S, detail));
  }

  private reply(ex: Exchange, problem: Problem): void {
    if (ex.done) return;
    ex.done = true;
    this.sendProblem(ex.client, problem, ex.facts.requestId);
  }

  private sendProblem(conn: ClientConnection, problem: Problem, requestId?: string, extraFields = ''): void {
    const body = JSON.stringify(problem.toJSON());
    const retryAfter = problem.extra.retryAfterSeconds;
    conn.respond(
      problem.status,
      http.STATUS_CODES[problem.status] ?? 'Error',
      `Content-Type: application/problem+json\r\n${retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`}${requestId ? `X-Request-Id: ${requestId}\r\n` : ''}${extraFields}`,
      body,
    );
  }

  // ---------------------------------------------------------------- WebSocket (and any upgrade)

  private upgrade(conn: ClientConnection, head: RequestHead): void {
    const target = head.target;
    const pool = under(target, '/push')
      ? this.pools.push
      : under(target, '/ocpp')
        ? this.pools.charging
        : !under(target, '/api') && !under(target, '/lb')
          ? this.pools.web
          : undefined;
    const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trustForwarded: this.config.TRUST_FORWARDED, upgrade: true });
    if (!pool) {
      conn.exchange = new LocalExchange();
      this.sendProblem(conn, problems.notFound(`No WebSocket endpoint at ${target.split('?')[0]}; the push channel is /push`), facts.requestId);
      return;
    }
    const rest = conn.detach();
    this.tunnel(conn.socket, head, facts, rest, pool, hash32(facts.client), undefined);
  }

  /** Pipes the raw connection to an upstream; the handshake answer (101 or an error) comes from there. */
  private tunnel(client: net.Socket, head: RequestHead, facts: RequestFacts, rest: Buffer | null, pool: StaticPool, hash: number, exclude: Upstream | undefined): void {
    const up = pool.pick(hash, exclude);
    if (!up) {
      this.rejected++;
      this.metrics.rejected.inc({ reason: 'no-upstream' });
      rawProblem(client, problems.unavailable(this.config.RETRY_AFTER_S, `No ${POOL_TITLE[pool.members[0]?.pool ?? 'push']} instance is available`), facts.requestId);
      return;
    }
    const upstream = net.connect({ host: up.host, port: up.port, noDelay: true });
    const host = facts.hasHost ? '' : `Host: ${up.authority}\r\n`;
    upstream.write(`${head.method} ${up.prefix}${head.target} HTTP/1.1\r\n${host}${fieldLines(facts.headers)}\r\n`, 'latin1');
    if (rest !== null) upstream.write(rest);
    let connected = false;
    up.inflight++;
    this.tunnels.add(client);
    const started = performance.now();
    upstream.once('connect', () => {
      connected = true;
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      up.errors++;
      if (up.health.connectionFailed(error.code ?? error.message, Date.now())) this.ejected(up);
      if (exclude === undefined && !client.destroyed) {
        // A handshake that never reached an instance is safe to send to another one.
        this.retries++;
        this.metrics.retries.inc();
        this.tunnel(client, head, facts, rest, pool, hash, up);
      } else {
        rawProblem(client, badGateway(`${up.id}: ${error.code ?? error.message}`), facts.requestId);
      }
    });
    upstream.once('close', () => {
      up.inflight--;
      up.record(connected ? 101 : 502, (performance.now() - started) / 1000);
      if (connected) client.destroy();
    });
    client.once('close', () => {
      this.tunnels.delete(client);
      upstream.destroy();
    });
  }

  // ---------------------------------------------------------------- the gateway's own endpoints

  private own(conn: ClientConnection, head: RequestHead, path: string): void {
    const local = new LocalExchange();
    conn.exchange = local;
    const route = path.startsWith('/lb/') || path === '/lb' ? (path === '/lb/status' ? path : '/lb/*') : path;
    const count = (status: number) => this.kitMetrics.httpRequests.inc({ method: head.method, route, status: String(status) });
    if (route === '/lb/*') {
      count(404);
      this.sendProblem(conn, problems.notFound(`No balancer endpoint at ${path}; see /lb/status`));
      return;
    }
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      count(405);
      this.sendProblem(conn, problems.methodNotAllowed(`${path} answers GET and HEAD`), undefined, 'Allow: GET, HEAD\r\n');
      return;
    }
    const answer = (status: number, contentType: string, body: string) => {
      count(status);
      if (local.closed) return;
      conn.respond(status, http.STATUS_CODES[status]!, `Content-Type: ${contentType}\r\nCache-Control: no-store\r\n`, body, false, head.method === 'HEAD');
    };
    const json = (status: number, value: unknown) => answer(status, 'application/json', JSON.stringify(value));
    if (path === '/lb/status') {
      json(200, this.status());
    } else if (path === '/healthz') {
      json(200, { status: 'ok' });
    } else {
      const work =
        path === '/metrics'
          ? this.kitMetrics.registry.metrics().then((text) => answer(200, this.kitMetrics.registry.contentType, text))
          : this.health.readiness().then((readiness) => {
              const available = this.cluster.members.filter((m) => m.available).length;
              json(readiness.ready ? 200 : 503, { ...readiness, appInstances: { known: this.cluster.members.length, available } });
            });
      work.catch((error: unknown) => {
        this.log.error({ err: error, path }, 'gateway endpoint failed');
        if (!local.closed) this.sendProblem(conn, problems.internal());
      });
    }
  }

  private placeholder(conn: ClientConnection, head: RequestHead): void {
    conn.exchange = new LocalExchange();
    if (head.method !== 'GET' && head.method !== 'HEAD') {
      this.sendProblem(conn, problems.methodNotAllowed('The web UI placeholder only answers GET and HEAD'), undefined, 'Allow: GET, HEAD\r\n');
      return;
    }
    conn.respond(200, 'OK', 'Content-Type: text/html; charset=utf-8\r\nCache-Control: no-cache\r\n', placeholderPage, false, head.method === 'HEAD');
  }

  status(): LbStatus {
    const now = Date.now();
    const shares = this.cluster.shares();
    const instances = this.cluster.members.map((m) => instanceStatus(m, shares.get(m) ?? 0, now));
    const config = this.config;
    return {
      balancer: {
        algorithm: 'consistent-hash-bounded-load',
        balanceFactor: config.BALANCE_FACTOR,
        minLoad: config.BALANCE_MIN_LOAD,
        vnodes: config.RING_VNODES,
        trustForwarded: config.TRUST_FORWARDED,
      },
      instances,
      totals: {
        instances: instances.length,
        available: instances.filter((i) => i.available).length,
        inflight: instances.reduce((sum, i) => sum + i.inflight, 0),
        served: instances.reduce((sum, i) => sum + i.served, 0),
        retries: this.retries,
        ejections: this.ejections,
        rejected: this.rejected,
      },
      queue: { length: this.queue.length, clients: this.queue.clients, max: config.QUEUE_MAX, perClient: config.QUEUE_PER_CLIENT, timeoutMs: config.QUEUE_TIMEOUT_MS },
      upstreams: {
        auth: this.pools.auth?.members.map(upstreamStatus) ?? [],
        push: this.pools.push?.members.map(upstreamStatus) ?? [],
        charging: this.pools.charging?.members.map(upstreamStatus) ?? [],
        web: this.pools.web?.members.map(upstreamStatus) ?? [],
      },
      events: [...this.events],
    };
  }

  // ---------------------------------------------------------------- health and membership

  private tick(): void {
    this.cluster.sweep(Date.now());
    for (const up of this.cluster.members) this.probe(up);
    for (const pool of [this.pools.auth, this.pools.push, this.pools.charging]) for (const up of pool?.members ?? []) this.probe(up);
  }

  /** GET <url>/readyz on a fresh connection (as HAProxy checks do), at most one at a time per upstream. */
  private probe(up: Upstream): void {
    if (this.probing.has(up)) return;
    let settled = false;
    const settle = (ok: boolean, why: string) => {
      if (settled) return;
      settled = true;
      this.probing.delete(up);
      if (up.removed || this.stopping) return;
      const now = Date.now();
      if (ok) {
        if (up.health.probeSucceeded(now)) {
          this.log.info({ pool: up.pool, upstream: up.id, reason: up.health.reason }, 'upstream up');
          if (up.pool === 'app') this.recordEvent('readmitted', up, up.health.reason);
          if (this.queue.length > 0) this.drainQueue();
        }
      } else if (up.health.probeFailed(why, now)) {
        this.ejected(up);
      }
    };
    const request = http.get(
      {
        host: up.host,
        port: up.port,
        path: `${up.prefix}/readyz`,
        agent: false,
        timeout: this.config.HEALTH_TIMEOUT_MS,
        headers: { 'user-agent': 'evshare-gateway-probe' },
      },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        settle(status >= 200 && status < 300, `HTTP ${status}`);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${this.config.HEALTH_TIMEOUT_MS} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => settle(false, error.code ?? error.message));
    this.probing.set(up, request);
  }

  private ejected(up: Upstream): void {
    this.ejections++;
    this.metrics.ejections.inc({ pool: up.pool, upstream: up.id });
    this.log.warn({ pool: up.pool, upstream: up.id, reason: up.health.reason }, 'upstream down');
    if (up.pool === 'app') this.recordEvent('ejected', up, up.health.reason);
  }

  private membershipChanged(change: MembershipChange, member: Upstream, reason: string): void {
    this.log.info({ upstream: member.id, url: member.url, change, reason }, `APP instance ${change}`);
    this.recordEvent(change === 'added' ? 'joined' : change, member, reason);
    if ((change === 'added' || change === 'resumed') && this.queue.length > 0) this.drainQueue();
  }

  /** Kept for the operators' console (GET /lb/status `events`). */
  private recordEvent(event: LbEventKind, member: Upstream, reason: string): void {
    this.events.unshift({ at: new Date().toISOString(), instance: member.id, event, reason });
    if (this.events.length > LB_EVENTS_KEPT) this.events.length = LB_EVENTS_KEPT;
  }

  // ---------------------------------------------------------------- shutdown

  private clientGone(conn: ClientConnection): void {
    this.clients.delete(conn);
    if (this.clients.size === 0) this.allClosed?.();
  }

  private async stop(server: net.Server): Promise<void> {
    this.health.startDraining();
    clearInterval(this.timer);
    clearInterval(this.idleSweep);
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    for (const request of this.probing.values()) request.destroy();
    server.close();
    // WebSocket clients reconnect through another gateway; waiting for them would never end.
    for (const socket of this.tunnels) socket.destroy();
    // Idle keep-alive clients are closed now, busy ones after their answer.
    for (const client of this.clients) client.drain();
    if (this.clients.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.allClosed = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.config.SHUTDOWN_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      for (const client of this.clients) client.abort();
    }
    for (const ex of this.queue.drain()) this.dequeued(ex);
    for (const up of this.allUpstreams()) up.close();
    this.log.info('gateway stopped');
  }
}

/** An RFC 7807 answer written on a raw socket that is no longer an HTTP connection. */
function rawProblem(socket: net.Socket, problem: Problem, requestId: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(problem.toJSON());
  const retryAfter = problem.extra.retryAfterSeconds === undefined ? '' : `Retry-After: ${problem.extra.retryAfterSeconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
