import net from 'node:net';
import os from 'node:os';
import {
  appAnnouncementSchema,
  appLoadSchema,
  appWithdrawalSchema,
  createHealth,
  createMetrics,
  problems,
  SUBJECTS,
  verifyMembership,
  type AppDiscover,
  type GatewayStatus,
  type Bus,
  type Logger,
} from '@evshare/kit';
import type { Registry } from 'prom-client';
import { FairQueue } from './admission';
import { LocalExchange, rawProblem, sendProblem } from './answers';
import { ClientConnection } from './client';
import { AppCluster, type MembershipChange } from './cluster';
import type { GatewayConfig } from './config';
import { DEADLINE_HEADER, requestDeadline } from './deadline';
import { OwnEndpoints } from './endpoints';
import { Exchange, type ExchangeEnv, type Placement } from './exchange';
import { hash32 } from './hash';
import { fieldLines, forwardRequestHeaders, type RequestFacts } from './headers';
import type { RequestHead } from './http1';
import { registerGatewayMetrics } from './metrics';
import { StaticPool } from './pool';
import { Prober } from './prober';
import { ALL_BUSY } from './ring';
import { route, type RouteTable } from './route';
import { DrainRate, expectedWaitMs, retryAfterSeconds, shedDecision } from './shedding';
import { instanceStatus, LB_EVENTS_KEPT, upstreamStatus, type LbEvent, type LbEventKind, type LbStatus } from './status';
import { Tunnels } from './tunnel';
import { Upstream, type MemberSource, type PoolName } from './upstream';

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  /** Membership comes from here (announcements, withdrawals, load reports); the caller owns it. */
  bus: Bus;
  /**
   * Set in a worker of several sharing the public port (workers.ts): it opens no operators'
   * listener (the primary serves it for all) and names itself with its index.
   */
  worker?: { index: number };
}

export interface RunningGateway {
  url: string;
  port: number;
  /** The operators' listener (/lb/status, /metrics, /healthz, /readyz); '' in a worker. */
  adminUrl: string;
  /** Its Prometheus registry (a worker hands it to the primary's aggregation). */
  registry: Registry;
  /** What /readyz would answer. */
  ready(): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), closes everything it opened. */
  stop(): Promise<void>;
  status(): LbStatus;
}

/** Connections the operators' listener holds at once (Prometheus, the APP, a probe or two). */
const MAX_ADMIN_CONNECTIONS = 64;

export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const gateway = new Gateway(deps);
  return gateway.start();
}

/**
 * The balancer: listeners, membership from the bus, the choice of an upstream and the admission
 * queue (the exchanges' Placement), health, status and shutdown. A request's own life is in
 * Exchange (proxied), Tunnels (upgrades) and OwnEndpoints (answered here).
 */
class Gateway implements Placement {
  private readonly config: GatewayConfig;
  private readonly log: Logger;
  private readonly bus: Bus;
  private readonly worker: { index: number } | undefined;
  private readonly cluster: AppCluster;
  private readonly pools: Record<Exclude<PoolName, 'app'>, StaticPool | undefined>;
  private readonly table: RouteTable;
  private readonly queue: FairQueue<Exchange>;
  /** The APP pool's completions per second: how fast the queue can drain. */
  private readonly drain = new DrainRate();
  private readonly kitMetrics = createMetrics('gateway');
  private readonly metrics;
  private readonly health = createHealth();
  private readonly env: ExchangeEnv;
  private readonly tunnels: Tunnels;
  private readonly endpoints: OwnEndpoints;
  private readonly prober: Prober;
  private readonly clients = new Set<ClientConnection>();
  private readonly adminClients = new Set<ClientConnection>();
  private readonly servers: net.Server[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  /** Names this gateway in its published status (host and public port). */
  private id = '';
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private idleSweep: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private allClosed: (() => void) | undefined;
  private retries = 0;
  private ejections = 0;
  private rejections = 0;
  /** Newest first, at most LB_EVENTS_KEPT. */
  private readonly events: LbEvent[] = [];

  constructor(deps: GatewayDeps) {
    this.config = deps.config;
    this.log = deps.log;
    this.bus = deps.bus;
    this.worker = deps.worker;
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
      onPanic: (panic, healthy, live) =>
        panic
          ? this.log.warn({ healthy, live }, 'fewer than half of the APP instances pass their checks: taking every live one (panic mode)')
          : this.log.info({ healthy, live }, 'APP instances pass their checks again: panic mode over'),
    });
    for (const url of config.APP_UPSTREAMS) this.cluster.addStatic(url, config.DEFAULT_MAX_CONCURRENCY, now);
    const staticPool = (pool: PoolName, urls: string[], mode: 'round-robin' | 'sticky') =>
      urls.length === 0
        ? undefined
        : new StaticPool(
            urls.map((url) => this.upstream(pool, url, url, Infinity, now)),
            mode,
            config.RING_VNODES,
          );
    this.pools = {
      auth: staticPool('auth', config.AUTH_UPSTREAMS, 'round-robin'),
      push: staticPool('push', config.PUSH_UPSTREAMS, 'sticky'),
      charging: staticPool('charging', config.CHARGING_UPSTREAMS, 'sticky'),
      web: staticPool('web', config.WEB_UPSTREAM ? [config.WEB_UPSTREAM] : [], 'round-robin'),
    };
    this.table = { charging: this.pools.charging !== undefined, web: this.pools.web !== undefined, push: this.pools.push !== undefined };
    this.metrics = registerGatewayMetrics(this.kitMetrics.registry, {
      upstreams: () => this.allUpstreams(),
      queueLength: () => this.queue.length,
      queueView: () => this.queueView(Date.now()),
    });
    this.health.addCheck('bus', () => this.bus.ping());
    this.env = { placement: this, log: this.log, upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS, retryAfterS: config.RETRY_AFTER_S };
    this.tunnels = new Tunnels(
      { upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS, idleTimeoutMs: config.WS_IDLE_TIMEOUT_MS, retryAfterS: config.RETRY_AFTER_S },
      this,
    );
    this.endpoints = new OwnEndpoints({
      log: this.log,
      metrics: this.kitMetrics,
      health: this.health,
      status: () => this.status(),
      appInstances: () => ({ known: this.cluster.members.length, available: this.cluster.members.filter((m) => m.available).length }),
    });
    this.prober = new Prober(config.HEALTH_TIMEOUT_MS, config.HEALTH_INTERVAL_MS + config.HEALTH_TIMEOUT_MS, {
      up: (up) => {
        this.log.info({ pool: up.pool, upstream: up.id, reason: up.health.reason }, 'upstream up');
        if (up.pool === 'app') this.recordEvent('readmitted', up, up.health.reason);
        if (this.queue.length > 0) this.drainQueue();
      },
      down: (up) => this.ejected(up),
      busy: (up) => this.log.debug({ pool: up.pool, upstream: up.id }, 'probe timed out on an instance answering real requests: busy, not down'),
    });
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
        (conn, head) => this.endpoints.admin(conn, head),
        (conn) => this.adminClients.delete(conn),
      );
      this.adminClients.add(client);
      if (this.stopping) client.drain();
    });
    this.servers.push(server);
    const port = await listen(server, config.PORT, config.HOST, config.LISTEN_BACKLOG);
    let adminUrl = '';
    if (!this.worker) {
      this.servers.push(admin);
      adminUrl = shownUrl(config.ADMIN_HOST, await listen(admin, config.ADMIN_PORT, config.ADMIN_HOST, MAX_ADMIN_CONNECTIONS));
    }
    const url = shownUrl(config.HOST, port);
    this.id = this.worker ? `${os.hostname()}:${port}/worker-${this.worker.index}` : `${os.hostname()}:${port}`;
    const parsed =
      (schema: { safeParse(data: unknown): { success: boolean; data?: unknown } }, what: string, apply: (data: never) => void) =>
      (data: unknown, subject: string) => {
        if (!verifyMembership(subject, data, this.config.MEMBERSHIP_SIGNING_KEY)) {
          this.log.warn({ subject }, 'ignored a membership message without a valid signature');
          return;
        }
        const result = schema.safeParse(data);
        if (result.success) apply(result.data as never);
        else this.log.warn({ subject: what }, 'ignored a malformed membership message');
      };
    this.unsubscribe.push(
      this.bus.subscribe(
        SUBJECTS.appAnnounce,
        parsed(appAnnouncementSchema, SUBJECTS.appAnnounce, (a) => this.cluster.announce(a, Date.now())),
      ),
      this.bus.subscribe(
        SUBJECTS.appWithdraw,
        parsed(appWithdrawalSchema, SUBJECTS.appWithdraw, (w) => this.cluster.withdraw(w, Date.now())),
      ),
      this.bus.subscribe(
        SUBJECTS.appLoadAll,
        parsed(appLoadSchema, SUBJECTS.appLoadAll, (l) => this.cluster.report(l, Date.now())),
      ),
    );
    // Instances started before us announce themselves again.
    this.bus.publish(SUBJECTS.appDiscover, { from: 'gateway', at: new Date().toISOString() } satisfies AppDiscover);
    this.timer = setInterval(() => this.tick(), this.config.HEALTH_INTERVAL_MS);
    this.timer.unref();
    const idleMs = this.config.UPSTREAM_IDLE_MS;
    this.idleSweep = setInterval(
      () => {
        const now = Date.now();
        for (const up of this.allUpstreams()) up.connections.sweepIdle(idleMs, now);
      },
      Math.max(100, Math.min(1000, idleMs / 4)),
    );
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
      registry: this.kitMetrics.registry,
      ready: async () => (await this.health.readiness()).ready,
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
    const to = route(head.target, head.upgrade, this.table);
    switch (to.to) {
      case 'pool':
        this.proxy(conn, head, to.pool);
        return;
      case 'tunnel': {
        const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trust: this.config.TRUST_PROXY, upgrade: true });
        if (this.withDeadline(conn, facts) === 0) return;
        this.tunnels.start(conn.socket, head, facts, conn.detach(), this.pools[to.pool]!, hash32(facts.client));
        return;
      }
      case 'no-tunnel': {
        const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trust: this.config.TRUST_PROXY, upgrade: true });
        this.endpoints.noTunnel(conn, to.path, facts.requestId);
        return;
      }
      case 'own':
        this.endpoints.serve(conn, head, to.path);
        return;
      case 'not-public':
        this.endpoints.notPublic(conn, head, to.path);
        return;
      case 'placeholder':
        this.endpoints.placeholder(conn, head);
        return;
    }
  }

  private proxy(conn: ClientConnection, head: RequestHead, pool: PoolName): void {
    const config = this.config;
    const facts = forwardRequestHeaders(head.headers, { socketAddress: conn.address, trust: config.TRUST_PROXY, upgrade: false });
    const deadline = this.withDeadline(conn, facts);
    if (deadline === 0) return;
    // Auth is round-robin: its hash is never read.
    const ex = new Exchange(
      this.env,
      conn,
      head,
      facts,
      fieldLines(facts.headers),
      pool,
      pool === 'auth' ? 0 : hash32(facts.client),
      config.RETRY_BODY_LIMIT,
      deadline,
    );
    conn.exchange = ex;
    ex.start();
  }

  /**
   * Adds X-Request-Deadline to the forwarded fields and returns it (epoch ms), or answers 400 for
   * a malformed X-Request-Timeout and returns 0.
   */
  private withDeadline(conn: ClientConnection, facts: RequestFacts): number {
    const result = requestDeadline(facts.timeout, facts.deadline, Date.now(), this.config.GATEWAY_REQUEST_BUDGET_MS);
    if ('malformed' in result) {
      conn.exchange = new LocalExchange();
      sendProblem(conn, problems.validation([{ name: 'X-Request-Timeout', reason: result.malformed }]), facts.requestId);
      return 0;
    }
    facts.headers.push(DEADLINE_HEADER, String(result.deadline));
    return result.deadline;
  }

  // ---------------------------------------------------------------- placement (the exchanges' side)

  choose(pool: PoolName, hash: number, exclude: Upstream | undefined): Upstream | typeof ALL_BUSY | undefined {
    return pool === 'app' ? this.cluster.pick(hash, exclude) : this.pools[pool]?.pick(hash, exclude);
  }

  /**
   * Every APP instance is at its limit: the request waits only if its expected wait fits in what
   * it may wait (shedding.ts), and within the queue's hard caps; otherwise a prompt 503.
   */
  wait(ex: Exchange): void {
    const now = Date.now();
    const client = ex.facts.client;
    const decision = shedDecision({
      now,
      deadline: ex.deadline,
      queueTimeoutMs: this.config.QUEUE_TIMEOUT_MS,
      queue: { length: this.queue.length, clients: this.queue.clients, own: this.queue.waitingOf(client) },
      drainPerSecond: this.drain.perSecond(now, this.cluster.slots()),
      marginMs: this.drain.serviceMs,
    });
    if (!decision.admit) {
      const expected = Number.isFinite(decision.expectedWaitMs) ? `${Math.ceil(decision.expectedWaitMs)} ms` : 'unbounded: none has finished a request lately';
      ex.reject(
        'queue-wait',
        `Every APP instance is at its limit and the expected wait (${expected}) is longer than this request may wait (${decision.mayWaitMs} ms)`,
        this.queueRetryAfter(now),
      );
      return;
    }
    const admission = this.queue.push(client, ex);
    if (admission !== 'queued') {
      ex.reject(
        admission,
        admission === 'queue-full' ? 'Every APP instance is at its limit and the wait queue is full' : 'Too many of your requests are already waiting',
        this.queueRetryAfter(now),
      );
      return;
    }
    ex.queued = true;
    // No longer than the request's deadline: an answer after it is one nobody reads.
    const waitMs = Math.max(0, Math.min(this.config.QUEUE_TIMEOUT_MS, ex.deadline - now));
    ex.queueTimer = setTimeout(() => {
      this.queue.remove(client, ex);
      this.dequeued(ex);
      ex.reject('queue-timeout', `No APP instance became free within ${waitMs} ms`, this.queueRetryAfter(Date.now()));
    }, waitMs);
  }

  /** The queue's Retry-After: its expected drain time, or RETRY_AFTER_S while the drain rate is unknown. */
  private queueRetryAfter(now: number): number {
    const perSecond = this.drain.perSecond(now, this.cluster.slots());
    if (perSecond === undefined) return this.config.RETRY_AFTER_S;
    return retryAfterSeconds(expectedWaitMs(this.queue.length, perSecond), Math.random(), this.config.RETRY_AFTER_MAX_S);
  }

  /** The estimator's view for /lb/status and /metrics: null while unknown (or, for the wait, unbounded). */
  private queueView(now: number): { drainPerSecond: number | null; expectedWaitMs: number | null } {
    const perSecond = this.drain.perSecond(now, this.cluster.slots());
    if (perSecond === undefined) return { drainPerSecond: null, expectedWaitMs: null };
    const wait = expectedWaitMs(this.queue.length, perSecond);
    return { drainPerSecond: Math.round(perSecond * 10) / 10, expectedWaitMs: Number.isFinite(wait) ? Math.round(wait) : null };
  }

  leave(ex: Exchange): void {
    this.queue.remove(ex.facts.client, ex);
    this.dequeued(ex);
  }

  released(up: Upstream, heldMs: number): void {
    if (up.pool === 'app') this.drain.observe(Date.now(), heldMs);
    if (this.queue.length > 0) this.drainQueue();
  }

  retried(): void {
    this.retries++;
    this.metrics.retries.inc();
  }

  rejected(reason: string): void {
    this.rejections++;
    this.metrics.rejected.inc({ reason });
  }

  ejected(up: Upstream): void {
    this.ejections++;
    this.metrics.ejections.inc({ pool: up.pool, upstream: up.id });
    this.log.warn({ pool: up.pool, upstream: up.id, reason: up.health.reason }, 'upstream down');
    if (up.pool === 'app') this.recordEvent('ejected', up, up.health.reason);
  }

  private dequeued(ex: Exchange): void {
    ex.queued = false;
    clearTimeout(ex.queueTimer);
    ex.queueTimer = undefined;
  }

  /**
   * Sends waiting requests to instances that have room, fairly across client addresses. One whose
   * deadline passed is answered instead (its timer may not have run yet on a busy loop); one whose
   * client went away already left the queue (Exchange.clientClosed).
   */
  private drainQueue(): void {
    const now = Date.now();
    // Bounded: a request whose only instance with room is the one it must skip goes back in line.
    for (let budget = this.queue.length; budget > 0 && this.queue.length > 0 && this.cluster.hasCapacity(); budget--) {
      const ex = this.queue.shift()!;
      this.dequeued(ex);
      if (ex.deadline <= now) ex.reject('queue-timeout', 'The request waited past its deadline for an APP instance', this.queueRetryAfter(now));
      else ex.place();
    }
  }

  /** A connection over a limit: a prompt 503 and the connection closed, before any request is read. */
  private refuseConnection(socket: net.Socket, reason: string, detail: string): void {
    this.rejected(reason);
    socket.on('error', () => {});
    rawProblem(socket, problems.unavailable(this.config.RETRY_AFTER_S, detail), '');
  }

  private publishStatus(): void {
    const message: GatewayStatus = { gateway: this.id, at: new Date().toISOString(), status: this.status() as unknown as Record<string, unknown> };
    this.bus.publish(SUBJECTS.gatewayStatus, message);
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
        panic: this.cluster.panic,
      },
      instances,
      totals: {
        instances: instances.length,
        available: instances.filter((i) => i.available).length,
        inflight: instances.reduce((sum, i) => sum + i.inflight, 0),
        served: instances.reduce((sum, i) => sum + i.served, 0),
        retries: this.retries,
        ejections: this.ejections,
        rejected: this.rejections,
      },
      queue: {
        length: this.queue.length,
        clients: this.queue.clients,
        max: config.QUEUE_MAX,
        perClient: config.QUEUE_PER_CLIENT,
        timeoutMs: config.QUEUE_TIMEOUT_MS,
        ...this.queueView(now),
      },
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
    this.cluster.checkPanic();
    for (const up of this.cluster.members) this.prober.probe(up);
    for (const pool of [this.pools.auth, this.pools.push, this.pools.charging]) for (const up of pool?.members ?? []) this.prober.probe(up);
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
    this.prober.stop();
    for (const server of this.servers) server.close();
    for (const client of this.adminClients) client.drain();
    this.tunnels.closeAll();
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

function listen(server: net.Server, port: number, host: string, backlog: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => {
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
