import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  appAnnouncementSchema,
  appLoadSchema,
  appWithdrawalSchema,
  createHealth,
  closeGracefully,
  createMetrics,
  Problem,
  problems,
  SUBJECTS,
  type Bus,
  type Logger,
} from '@evshare/kit';
import { FairQueue } from './admission';
import { AppCluster, type MembershipChange } from './cluster';
import type { GatewayConfig } from './config';
import { hash32 } from './hash';
import { forwardRequestHeaders, forwardResponseHeaders, type RequestFacts } from './headers';
import { registerGatewayMetrics } from './metrics';
import { placeholderPage } from './placeholder';
import { StaticPool } from './pool';
import { ALL_BUSY } from './ring';
import { instanceStatus, upstreamStatus, type LbStatus } from './status';
import { Upstream, type MemberSource, type PoolName } from './upstream';

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

const POOL_TITLE: Record<PoolName, string> = { app: 'APP', auth: 'authentication', push: 'push', web: 'web' };

const badGateway = (detail: string) => new Problem(502, 'bad-gateway', 'Bad gateway', detail);
const gatewayTimeout = (detail: string) => new Problem(504, 'gateway-timeout', 'Gateway timeout', detail);

/** `url` is `prefix` itself or below it (`/api/v1` matches `/api/v1/me`, `/api/v1?x`, not `/api/v1x`). */
function under(url: string, prefix: string): boolean {
  if (!url.startsWith(prefix)) return false;
  const next = url.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */;
}

/** One client request on its way through the gateway (one allocation per request). */
class Exchange {
  upstream: Upstream | undefined = undefined;
  /** The upstream that already failed this request, skipped by the retry. */
  exclude: Upstream | undefined = undefined;
  proxyReq: http.ClientRequest | undefined = undefined;
  /** A buffered body, present only for a retry-eligible request with a body. */
  body: Buffer | undefined = undefined;
  attempts = 0;
  sentAt = 0;
  status = 0;
  responded = false;
  timedOut = false;
  queued = false;
  queueTimer: NodeJS.Timeout | undefined = undefined;
  /** The client response is finished or the client went away. */
  done = false;

  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly facts: RequestFacts,
    readonly pool: PoolName,
    readonly hash: number,
    readonly hasBody: boolean,
    readonly retryable: boolean,
  ) {}
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
  private readonly tunnels = new Set<net.Socket>();
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private retries = 0;
  private ejections = 0;
  private rejected = 0;

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
      web: staticPool('web', config.WEB_UPSTREAM ? [config.WEB_UPSTREAM] : [], 'round-robin'),
    };
    this.metrics = registerGatewayMetrics(this.kitMetrics.registry, {
      upstreams: () => this.allUpstreams(),
      queueLength: () => this.queue.length,
    });
    this.health.addCheck('bus', () => this.bus.ping());
  }

  async start(): Promise<RunningGateway> {
    const server = http.createServer(
      // Headers must arrive within 15 s (slow-header clients hold sockets); an idle keep-alive
      // client is kept 65 s, longer than the idle timeout of any load balancer in front.
      { keepAliveTimeout: 65_000, headersTimeout: 15_000, requestTimeout: 60_000 },
      (req, res) => this.handle(req, res),
    );
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.upgrade(req, socket, head));
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
    const parsed = (schema: { safeParse(data: unknown): { success: boolean; data?: unknown } }, what: string, apply: (data: never) => void) => (data: unknown) => {
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
      idleMs: config.UPSTREAM_IDLE_MS,
      health: { fall: config.HEALTH_FALL, rise: config.HEALTH_RISE, ejectAfter5xx: config.EJECT_CONSECUTIVE_5XX },
    });
  }

  private allUpstreams(): Upstream[] {
    const all = [...this.cluster.members];
    for (const pool of Object.values(this.pools)) if (pool) all.push(...pool.members);
    return all;
  }

  // ---------------------------------------------------------------- routing

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    if (under(url, '/api/v1')) {
      this.proxy(req, res, under(url, '/api/v1/auth') ? 'auth' : 'app');
      return;
    }
    if (under(url, '/push')) {
      this.proxy(req, res, 'push');
      return;
    }
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    if (path === '/lb' || path.startsWith('/lb/') || path === '/healthz' || path === '/readyz' || path === '/metrics') {
      this.own(req, res, path).catch((error: unknown) => {
        this.log.error({ err: error, path }, 'gateway endpoint failed');
        this.sendProblem(res, problems.internal());
      });
      return;
    }
    if (this.pools.web) this.proxy(req, res, 'web');
    else this.placeholder(req, res);
  }

  // ---------------------------------------------------------------- proxying

  private proxy(req: http.IncomingMessage, res: http.ServerResponse, pool: PoolName): void {
    const config = this.config;
    const facts = forwardRequestHeaders(req.rawHeaders, {
      socketAddress: req.socket.remoteAddress ?? '',
      trustForwarded: config.TRUST_FORWARDED,
      upgrade: false,
    });
    const hasBody = facts.chunked || facts.contentLength > 0;
    const retryable =
      (IDEMPOTENT.has(req.method!) || facts.idempotencyKey) && (!hasBody || (!facts.chunked && facts.contentLength <= config.RETRY_BODY_LIMIT));
    // Auth is round-robin: its hash is never read.
    const ex = new Exchange(req, res, facts, pool, pool === 'auth' ? 0 : hash32(facts.client), hasBody, retryable);
    res.once('close', () => this.clientClosed(ex));
    if (retryable && hasBody) {
      // Buffered (bounded by RETRY_BODY_LIMIT) so that it can be sent a second time.
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.once('end', () => {
        ex.body = Buffer.concat(chunks);
        this.place(ex);
      });
      return;
    }
    this.place(ex);
  }

  /** Chooses the upstream for a request (first attempt, retry, or out of the queue). */
  private place(ex: Exchange): void {
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
    ex.timedOut = false;
    up.inflight++;
    ex.sentAt = performance.now();
    const proxyReq = http.request({
      agent: up.agent,
      host: up.host,
      port: up.port,
      method: ex.req.method,
      path: up.prefix + ex.req.url,
      // A flat [name, value, ...] list is written as is: no per-header validation or lower-casing.
      headers: ex.facts.headers as unknown as http.OutgoingHttpHeaders,
      timeout: this.config.UPSTREAM_TIMEOUT_MS,
    });
    ex.proxyReq = proxyReq;
    proxyReq.on('response', (response: http.IncomingMessage) => this.upstreamResponded(ex, response));
    proxyReq.on('error', (error: Error) => this.upstreamFailed(ex, proxyReq, error));
    proxyReq.on('timeout', () => {
      ex.timedOut = true;
      proxyReq.destroy(new Error(`no answer within ${this.config.UPSTREAM_TIMEOUT_MS} ms`));
    });
    if (ex.body !== undefined) proxyReq.end(ex.body);
    else if (!ex.hasBody) proxyReq.end();
    else ex.req.pipe(proxyReq);
  }

  private upstreamResponded(ex: Exchange, response: http.IncomingMessage): void {
    const up = ex.upstream!;
    ex.responded = true;
    ex.status = response.statusCode ?? 502;
    if (up.health.responded(ex.status, Date.now())) this.ejected(up);
    ex.res.writeHead(ex.status, response.statusMessage, forwardResponseHeaders(response.rawHeaders));
    response.pipe(ex.res);
    response.once('close', () => {
      // The upstream broke off mid-answer: the client must see a broken response, not a short one.
      if (!response.complete) ex.res.destroy();
    });
  }

  private upstreamFailed(ex: Exchange, proxyReq: http.ClientRequest, error: Error): void {
    if (ex.done || ex.proxyReq !== proxyReq) return;
    const up = ex.upstream;
    if (!up) return;
    up.errors++;
    if (ex.responded) {
      ex.res.destroy();
      return;
    }
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    // A reset on a reused keep-alive socket can be the server closing an idle connection just as
    // we sent on it; a failed fresh connection means the instance is not there.
    if (!ex.timedOut && (!proxyReq.reusedSocket || code === 'ECONNREFUSED') && up.health.connectionFailed(code, Date.now())) {
      this.ejected(up);
    }
    const timedOut = ex.timedOut;
    this.endAttempt(ex, timedOut ? 504 : 502);
    if (!timedOut && ex.retryable && ex.attempts === 1) {
      this.retries++;
      this.metrics.retries.inc();
      ex.exclude = up;
      this.log.debug({ upstream: up.id, code, requestId: ex.facts.requestId }, 'retrying on another instance');
      this.place(ex);
      return;
    }
    this.log.warn({ upstream: up.id, code, requestId: ex.facts.requestId, method: ex.req.method, url: ex.req.url }, 'upstream failed');
    this.reply(ex, timedOut ? gatewayTimeout(`${up.id} did not answer within ${this.config.UPSTREAM_TIMEOUT_MS} ms`) : badGateway(`${up.id}: ${code}`));
  }

  private clientClosed(ex: Exchange): void {
    ex.done = true;
    if (ex.queued) {
      this.queue.remove(ex.facts.client, ex);
      this.dequeued(ex);
      return;
    }
    const finished = ex.res.writableFinished;
    // The client went away: stop the upstream work it no longer waits for.
    if (!finished && ex.proxyReq && !ex.proxyReq.destroyed) ex.proxyReq.destroy();
    // 499: nginx's "client closed request", for a client that left before an answer.
    this.endAttempt(ex, finished || ex.responded ? ex.status : 499);
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
    this.sendProblem(ex.res, problem, ex.facts.requestId);
  }

  private sendProblem(res: http.ServerResponse, problem: Problem, requestId?: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(problem.toJSON());
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body) };
    const retryAfter = problem.extra.retryAfterSeconds;
    if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
    if (requestId) headers['x-request-id'] = requestId;
    res.writeHead(problem.status, headers);
    res.end(body);
  }

  // ---------------------------------------------------------------- WebSocket (and any upgrade)

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '/';
    const pool = under(url, '/push') ? this.pools.push : !under(url, '/api') && !under(url, '/lb') ? this.pools.web : undefined;
    const facts = forwardRequestHeaders(req.rawHeaders, { socketAddress: socket.remoteAddress ?? '', trustForwarded: this.config.TRUST_FORWARDED, upgrade: true });
    if (!pool) {
      rawProblem(socket, problems.notFound(`No WebSocket endpoint at ${url.split('?')[0]}; the push channel is /push`), facts.requestId);
      return;
    }
    this.tunnel(req, socket, head, facts, pool, hash32(facts.client), undefined);
  }

  /** Pipes the raw connection to an upstream; the handshake answer (101 or an error) comes from there. */
  private tunnel(req: http.IncomingMessage, client: net.Socket, head: Buffer, facts: RequestFacts, pool: StaticPool, hash: number, exclude: Upstream | undefined): void {
    const up = pool.pick(hash, exclude);
    if (!up) {
      this.rejected++;
      this.metrics.rejected.inc({ reason: 'no-upstream' });
      rawProblem(client, problems.unavailable(this.config.RETRY_AFTER_S, `No ${POOL_TITLE[pool.members[0]?.pool ?? 'push']} instance is available`), facts.requestId);
      return;
    }
    const lines = [`${req.method} ${up.prefix}${req.url} HTTP/1.1`];
    for (let i = 0; i < facts.headers.length; i += 2) lines.push(`${facts.headers[i]}: ${facts.headers[i + 1]}`);
    const upstream = net.connect({ host: up.host, port: up.port, noDelay: true });
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    let connected = false;
    up.inflight++;
    this.tunnels.add(client);
    const started = performance.now();
    upstream.once('connect', () => {
      connected = true;
      client.setNoDelay(true);
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
        this.tunnel(req, client, head, facts, pool, hash, up);
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

  private async own(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const route = path.startsWith('/lb/') || path === '/lb' ? (path === '/lb/status' ? path : '/lb/*') : path;
    res.once('finish', () => this.kitMetrics.httpRequests.inc({ method: req.method ?? 'GET', route, status: String(res.statusCode) }));
    if (route === '/lb/*') {
      this.sendProblem(res, problems.notFound(`No balancer endpoint at ${path}; see /lb/status`));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.sendProblem(res, problems.methodNotAllowed(`${path} answers GET and HEAD`));
      return;
    }
    if (path === '/metrics') {
      const text = await this.kitMetrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.kitMetrics.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    let status = 200;
    let body: unknown;
    if (path === '/lb/status') {
      body = this.status();
    } else if (path === '/healthz') {
      body = { status: 'ok' };
    } else {
      const readiness = await this.health.readiness();
      const available = this.cluster.members.filter((m) => m.available).length;
      status = readiness.ready ? 200 : 503;
      body = { ...readiness, appInstances: { known: this.cluster.members.length, available } };
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  private placeholder(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.sendProblem(res, problems.methodNotAllowed('The web UI placeholder only answers GET and HEAD'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(placeholderPage), 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : placeholderPage);
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
        web: this.pools.web?.members.map(upstreamStatus) ?? [],
      },
    };
  }

  // ---------------------------------------------------------------- health and membership

  private tick(): void {
    this.cluster.sweep(Date.now());
    for (const up of this.cluster.members) this.probe(up);
    for (const pool of [this.pools.auth, this.pools.push]) for (const up of pool?.members ?? []) this.probe(up);
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
  }

  private membershipChanged(change: MembershipChange, member: Upstream, reason: string): void {
    this.log.info({ upstream: member.id, url: member.url, change, reason }, `APP instance ${change}`);
    if ((change === 'added' || change === 'resumed') && this.queue.length > 0) this.drainQueue();
  }

  // ---------------------------------------------------------------- shutdown

  private async stop(server: http.Server): Promise<void> {
    this.health.startDraining();
    clearInterval(this.timer);
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    for (const request of this.probing.values()) request.destroy();
    // WebSocket clients reconnect through another gateway; waiting for them would never end.
    for (const socket of this.tunnels) socket.destroy();
    await closeGracefully(server, this.config.SHUTDOWN_TIMEOUT_MS);
    for (const ex of this.queue.drain()) {
      this.dequeued(ex);
      this.reject(ex, 'shutdown', 'The gateway is shutting down');
    }
    for (const up of this.allUpstreams()) up.close();
    this.log.info('gateway stopped');
  }
}

/** An RFC 7807 answer written on a raw socket (an upgrade request has no ServerResponse). */
function rawProblem(socket: net.Socket, problem: Problem, requestId: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(problem.toJSON());
  const retryAfter = problem.extra.retryAfterSeconds === undefined ? '' : `Retry-After: ${problem.extra.retryAfterSeconds}\r\n`;
  socket.end(
    `HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
