import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
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
  type GatewayStatus,
  type Bus,
  type Logger,
} from '@evshare/kit';
import { FairQueue } from './admission';
import { ClientConnection, type ClientExchange } from './client';
import { AppCluster, type MembershipChange } from './cluster';
import type { GatewayConfig } from './config';
import { hash32 } from './hash';
import { clientHead, fieldLines, forwardRequestHeaders, type RequestFacts } from './headers';
import { ChunkedScanner, headEnd, HttpError, MAX_HEAD_BYTES, parseResponseHead, responseHasBody, type RequestHead, type ResponseHead } from './http1';
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
  /** The operators' listener (/lb/status, /metrics, /healthz, /readyz). */
  adminUrl: string;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), closes everything it opened. */
  stop(): Promise<void>;
  status(): LbStatus;
}

/** Methods that may be sent twice (RFC 9110 9.2.2), so a request that never got an answer can be retried. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

const POOL_TITLE: Record<PoolName, string> = { app: 'APP', auth: 'authentication', push: 'push', charging: 'charging', web: 'web' };

/** Idle keep-alive connections kept per upstream. */
const MAX_IDLE_PER_UPSTREAM = 512;

/** Connections the operators' listener holds at once (Prometheus, the APP, a probe or two). */
const MAX_ADMIN_CONNECTIONS = 64;


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
  private readonly adminClients = new Set<ClientConnection>();
  private readonly servers: net.Server[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  /** Names this gateway in its published status (host and public port). */
  private id = '';
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
    const config = this.config;
    // An idle client is kept 65 s (longer than the idle timeout of a load balancer in front) and
    // at least as long as an answer may take; a request head must arrive within HEADERS_TIMEOUT_MS.
    const limits = { keepAliveMs: Math.max(65_000, config.UPSTREAM_TIMEOUT_MS + 1000), headersMs: config.HEADERS_TIMEOUT_MS, bodyIdleMs: 60_000 };
    // allowHalfOpen: the connection decides itself what a client's FIN means (ClientConnection).
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (this.clients.size >= config.MAX_CLIENT_CONNECTIONS) {
        this.refuseConnection(socket, 'client-connections', 'The gateway holds as many connections as it may; try again shortly');
        return;
      }
      const client = new ClientConnection(
        socket,
        limits,
        (conn, head) => this.request(conn, head),
        (conn) => this.clientGone(conn),
      );
      this.clients.add(client);
      if (this.stopping) client.drain();
    });
    const admin = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      if (this.adminClients.size >= MAX_ADMIN_CONNECTIONS) {
        this.refuseConnection(socket, 'admin-connections', 'Too many connections to the admin listener');
        return;
      }
      const client = new ClientConnection(
        socket,
        limits,
        (conn, head) => this.adminRequest(conn, head),
        (conn) => this.adminClients.delete(conn),
      );
      this.adminClients.add(client);
      if (this.stopping) client.drain();
    });
    this.servers.push(server, admin);
    const port = await listen(server, config.PORT, config.HOST);
    const adminPort = await listen(admin, config.ADMIN_PORT, config.ADMIN_HOST);
    const url = shownUrl(config.HOST, port);
    const adminUrl = shownUrl(config.ADMIN_HOST, adminPort);
    this.id = `${os.hostname()}:${port}`;
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
    // The operators' console reads the balancer's view through the APP, which hears it here.
    this.statusTimer = setInterval(() => this.publishStatus(), config.STATUS_PUBLISH_MS);
    this.statusTimer.unref();
    this.tick();
    this.publishStatus();
    this.log.info({ url, adminUrl, app: this.cluster.members.length, auth: config.AUTH_UPSTREAMS, push: config.PUSH_UPSTREAMS }, 'gateway listening');
    return {
      url,
      port,
      adminUrl,
      status: () => this.status(),
      stop: () => (this.stopping ??= this.stop()),
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
      // The balancer's status and the metrics show pod addresses, upstream URLs and load: they
      // are served on the admin listener only.
      if (path === '/healthz' || path === '/readyz') this.own(conn, head, path);
      else this.notPublic(conn, head, path);
      return;
    }
    if (this.pools.web) this.proxy(conn, head, 'web');
    else this.placeholder(conn, head);
  }

  // ---------------------------------------------------------------- proxying

  private proxy(conn: ClientConnection, head: RequestHead, pool: PoolName): void {
    const config = this.config;
    const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trust: config.TRUST_PROXY, upgrade: false });
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
    const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trust: this.config.TRUST_PROXY, upgrade: true });
    if (!pool) {
      conn.exchange = new LocalExchange();
      this.sendProblem(conn, problems.notFound(`No WebSocket endpoint at ${target.split('?')[0]}; the push channel is /push`), facts.requestId);
      return;
    }
    const rest = conn.detach();
    this.tunnel(conn.socket, head, facts, rest, pool, hash32(facts.client), undefined);
  }

  /**
   * Sends the handshake to an upstream and pipes the two sockets only once the upstream answered
   * 101: until then nothing the client sends goes on (bytes after the head would otherwise reach
   * the upstream as a second request if it refused the upgrade), and any other answer is relayed
   * as a plain HTTP answer that closes the connection.
   */
  private tunnel(client: net.Socket, head: RequestHead, facts: RequestFacts, rest: Buffer | null, pool: StaticPool, hash: number, exclude: Upstream | undefined): void {
    const up = pool.pick(hash, exclude);
    if (!up) {
      this.rejected++;
      this.metrics.rejected.inc({ reason: 'no-upstream' });
      rawProblem(client, problems.unavailable(this.config.RETRY_AFTER_S, `No ${POOL_TITLE[pool.members[0]?.pool ?? 'push']} instance is available`), facts.requestId);
      return;
    }
    // Held until the 101 (the socket buffers and applies backpressure meanwhile).
    client.pause();
    const upstream = net.connect({ host: up.host, port: up.port, noDelay: true });
    const host = facts.hasHost ? '' : `Host: ${up.authority}\r\n`;
    upstream.write(`${head.method} ${up.prefix}${head.target} HTTP/1.1\r\n${host}${fieldLines(facts.headers)}\r\n`, 'latin1');
    let connected = false;
    let answered = 0;
    up.inflight++;
    this.tunnels.add(client);
    const started = performance.now();
    let received: Buffer | null = null;
    const answer = (chunk: Buffer) => {
      received = received === null ? chunk : Buffer.concat([received, chunk]);
      const end = headEnd(received);
      if (end < 0) {
        if (received.length > MAX_HEAD_BYTES) refused(new HttpError(502, 'answer head too large'));
        return;
      }
      upstream.off('data', answer);
      let response: ResponseHead;
      try {
        response = parseResponseHead(received.toString('latin1', 0, end - 4));
      } catch (error) {
        refused(error instanceof HttpError ? error : new HttpError(502, String(error)));
        return;
      }
      answered = response.status;
      const after = received.subarray(end);
      if (response.status === 101) {
        // The handshake answer goes on as the upstream wrote it (its Upgrade and Connection fields).
        client.write(received.subarray(0, end));
        if (after.length > 0) client.write(after);
        if (rest !== null) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
        // Tunnel traffic goes through the client socket both ways, so its timeout is the tunnel's.
        client.setTimeout(this.config.WS_IDLE_TIMEOUT_MS, () => client.destroy());
        return;
      }
      this.relayRefusal(client, upstream, response, head.method, after);
    };
    const refused = (error: HttpError) => {
      upstream.off('data', answer);
      upstream.destroy();
      if (up.health.responded(502, Date.now())) this.ejected(up);
      answered = 502;
      rawProblem(client, badGateway(`${up.id}: ${error.message}`), facts.requestId);
    };
    upstream.once('connect', () => {
      connected = true;
    });
    upstream.on('data', answer);
    // A handshake the upstream never answers ends like any request that gets no answer.
    upstream.setTimeout(this.config.UPSTREAM_TIMEOUT_MS, () => {
      if (answered === 0) {
        answered = 504;
        upstream.destroy();
        rawProblem(client, gatewayTimeout(`${up.id} did not answer the upgrade within ${this.config.UPSTREAM_TIMEOUT_MS} ms`), facts.requestId);
      }
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
      up.record(connected ? answered || 502 : 502, (performance.now() - started) / 1000);
      if (answered === 101) client.destroy();
      else if (answered === 0 && connected) rawProblem(client, badGateway(`${up.id} closed the connection before answering the upgrade`), facts.requestId);
    });
    client.once('close', () => {
      this.tunnels.delete(client);
      upstream.destroy();
    });
  }

  /**
   * The upstream answered the handshake with something other than 101: the answer goes to the
   * client as plain HTTP, framed as the upstream framed it, and both connections close after it.
   */
  private relayRefusal(client: net.Socket, upstream: net.Socket, response: ResponseHead, method: string, after: Buffer): void {
    upstream.setTimeout(0);
    const finish = () => {
      upstream.destroy();
      lingerClose(client);
    };
    const hasBody = responseHasBody(method, response.status);
    client.write(`${clientHead(response.status, response.reason, response.fields)}\r\nConnection: close\r\n\r\n`, 'latin1');
    if (!hasBody || (!response.chunked && response.contentLength === 0)) {
      finish();
      return;
    }
    let left = response.chunked ? -1 : response.contentLength;
    const scanner = response.chunked ? new ChunkedScanner(502) : null;
    const pass = (chunk: Buffer) => {
      let end = chunk.length;
      try {
        if (scanner !== null) {
          const at = scanner.scan(chunk, 0, chunk.length);
          if (at >= 0) end = at;
        } else if (left >= 0) {
          end = Math.min(left, chunk.length);
          left -= end;
        }
      } catch {
        // Broken framing: the client must not see a complete-looking answer.
        upstream.destroy();
        client.destroy();
        return;
      }
      if (end > 0) client.write(end === chunk.length ? chunk : chunk.subarray(0, end));
      if (scanner?.done || left === 0) finish();
    };
    upstream.on('data', pass);
    upstream.once('end', () => lingerClose(client));
    if (after.length > 0) pass(after);
  }

  // ---------------------------------------------------------------- the gateway's own endpoints

  /** The operators' listener: only the gateway's own endpoints, nothing is proxied. */
  private adminRequest(conn: ClientConnection, head: RequestHead): void {
    const query = head.target.indexOf('?');
    const path = query < 0 ? head.target : head.target.slice(0, query);
    if (head.upgrade || !(path === '/lb' || path.startsWith('/lb/') || path === '/healthz' || path === '/readyz' || path === '/metrics')) {
      conn.exchange = new LocalExchange();
      this.sendProblem(conn, problems.notFound(`The admin listener serves /lb/status, /metrics, /healthz and /readyz, not ${path}`));
      return;
    }
    this.own(conn, head, path);
  }

  /** /lb/* and /metrics on the public port: they exist only on the admin listener. */
  private notPublic(conn: ClientConnection, head: RequestHead, path: string): void {
    conn.exchange = new LocalExchange();
    this.kitMetrics.httpRequests.inc({ method: head.method, route: 'not-public', status: '404' });
    this.sendProblem(conn, problems.notFound(`No endpoint at ${path}`));
  }

  /** A connection over a limit: a prompt 503 and the connection closed, before any request is read. */
  private refuseConnection(socket: net.Socket, reason: string, detail: string): void {
    this.rejected++;
    this.metrics.rejected.inc({ reason });
    socket.on('error', () => {});
    rawProblem(socket, problems.unavailable(this.config.RETRY_AFTER_S, detail), '');
  }

  private publishStatus(): void {
    const message: GatewayStatus = { gateway: this.id, at: new Date().toISOString(), status: this.status() as unknown as Record<string, unknown> };
    this.bus.publish(SUBJECTS.gatewayStatus, message);
  }

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
        trustProxy: config.TRUST_PROXY.text,
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

  private async stop(): Promise<void> {
    this.health.startDraining();
    clearInterval(this.timer);
    clearInterval(this.idleSweep);
    clearInterval(this.statusTimer);
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    for (const request of this.probing.values()) request.destroy();
    for (const server of this.servers) server.close();
    for (const client of this.adminClients) client.drain();
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
    for (const client of this.adminClients) client.abort();
    for (const ex of this.queue.drain()) this.dequeued(ex);
    for (const up of this.allUpstreams()) up.close();
    this.log.info('gateway stopped');
  }
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** The URL to reach a listener on `host` (a wildcard address is reached on loopback). */
function shownUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

/** How long a socket the gateway has ended may wait for the client's own close. */
const LINGER_MS = 1000;

/**
 * Ends a raw socket (its last answer written) so that it cannot linger: what the client still
 * sends is discarded, and a client that never closes its side is cut after LINGER_MS.
 */
function lingerClose(socket: net.Socket): void {
  socket.end();
  socket.resume();
  socket.setTimeout(LINGER_MS, () => socket.destroy());
}

/** An RFC 7807 answer written on a raw socket that is no longer an HTTP connection. */
function rawProblem(socket: net.Socket, problem: Problem, requestId: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(problem.toJSON());
  const retryAfter = problem.extra.retryAfterSeconds === undefined ? '' : `Retry-After: ${problem.extra.retryAfterSeconds}\r\n`;
  socket.write(
    `HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}${requestId ? `X-Request-Id: ${requestId}\r\n` : ''}Connection: close\r\n\r\n${body}`,
  );
  lingerClose(socket);
}
