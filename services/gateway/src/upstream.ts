import type { AppLoad } from '@evshare/kit';
import { HealthTracker, type HealthPolicy } from './health';
import type { Slot } from './ring';
import { ConnectionPool } from './upstream-conn';

export type PoolName = 'app' | 'auth' | 'push' | 'charging' | 'web';

/** How an APP instance became known: the static list, its announcement, or a load report. */
export type MemberSource = 'static' | 'announce' | 'report';

/** Upper bounds (seconds) of the upstream latency histogram. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const FIRST_REASON: Record<MemberSource, string> = { static: 'configured', announce: 'announced', report: 'reported its load' };

export interface UpstreamOptions {
  pool: PoolName;
  id: string;
  url: string;
  health: HealthPolicy;
  capacity: number;
  now: number;
  source?: MemberSource;
}

/**
 * One backend server: its connection pool, health, load and counters. Counters are plain
 * numbers updated on the hot path and read by /metrics and /lb/status when asked, which costs
 * far less per request than updating labelled prom-client metrics.
 */
export class Upstream implements Slot {
  readonly pool: PoolName;
  readonly id: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** host:port as a Host field value (IPv6 in brackets), for clients that sent none. */
  readonly authority: string;
  /** Path of the base URL without its trailing slash, prepended to every request path. */
  readonly prefix: string;
  readonly connections: ConnectionPool;
  readonly health: HealthTracker;
  source: MemberSource;
  /** A static-list entry (or the announced instance that replaced one): never forgotten. */
  pinned: boolean;
  capacity: number;
  draining = false;
  /** In the cluster's panic mode: taken although its health says down (see AppCluster.pick). */
  healthIgnored = false;
  /** When it last sent an answer head to real traffic (Date.now()); a slow probe then means load, not death. */
  lastAnsweredAt = 0;
  /** Out of the membership; in-flight requests finish, their connections are not reused. */
  removed = false;
  /** Requests (and WebSocket tunnels) this gateway has open on it. */
  inflight = 0;
  /** Estimated requests other gateways have open on it, from its load reports. */
  foreign = 0;
  served = 0;
  /** Connection failures, resets and timeouts seen by this gateway. */
  errors = 0;
  readonly statuses = new Map<number, number>();
  readonly latencyCounts = new Float64Array(LATENCY_BUCKETS.length + 1);
  latencySum = 0;
  lastSeenAt: number;
  lastReportAt: number | undefined;
  report: AppLoad | undefined;
  /** `served` when the previous report arrived, to know our own share of its reported rate. */
  servedAtReport = 0;

  constructor(options: UpstreamOptions) {
    const parsed = new URL(options.url);
    if (parsed.protocol !== 'http:') throw new Error(`${options.url}: only http:// upstreams are supported`);
    this.pool = options.pool;
    this.id = options.id;
    this.url = options.url.replace(/\/+$/, '');
    this.host = parsed.hostname.replace(/^\[|\]$/g, '');
    this.port = parsed.port ? Number(parsed.port) : 80;
    this.authority = parsed.host;
    this.prefix = parsed.pathname.replace(/\/+$/, '');
    this.connections = new ConnectionPool(this.host, this.port);
    this.source = options.source ?? 'static';
    this.pinned = this.source === 'static';
    this.capacity = options.capacity;
    this.lastSeenAt = options.now;
    this.health = new HealthTracker(options.health, options.now, FIRST_REASON[this.source]);
  }

  get available(): boolean {
    return (this.health.state === 'up' || (this.healthIgnored && !this.health.dead)) && !this.draining && !this.removed;
  }

  get load(): number {
    return this.inflight + this.foreign;
  }

  /** One finished exchange: its final status and how long the upstream took (seconds). */
  record(status: number, seconds: number): void {
    this.served++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket++;
    this.latencyCounts[bucket] = this.latencyCounts[bucket]! + 1;
    this.latencySum += seconds;
  }

  /** Takes it out of the membership: requests still running on it finish, no connection is reused. */
  retire(): void {
    this.removed = true;
    this.connections.retired = true;
  }

  /** Closes its connections (idle ones now; the caller only does this when none is busy, or at shutdown). */
  close(): void {
    this.retire();
    this.connections.close();
  }
}
