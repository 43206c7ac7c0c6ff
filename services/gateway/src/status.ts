import type { HealthState } from './health';
import type { MemberSource, Upstream } from './upstream';

/** One APP instance in GET /lb/status. */
export interface LbInstanceStatus {
  id: string;
  url: string;
  source: MemberSource;
  /** `draining` when the instance reported it is shutting down (out of the choice whatever its probes say). */
  health: HealthState | 'draining';
  /** Can be chosen now. */
  available: boolean;
  /** Why it is in this state, e.g. `ejected: ECONNREFUSED`, `2 good probes`. */
  reason: string;
  /** ISO time of the last health change. */
  since: string;
  /** Requests this gateway has open on it. */
  inflight: number;
  /** Requests other gateways have open on it, estimated from its reports. */
  foreignLoad: number;
  maxConcurrency: number;
  /** The instance's last NATS load report, or null for a static instance that never reported. */
  reported: {
    inflight: number;
    rps: number;
    eventLoopDelayMs: number;
    eventLoopUtilization: number;
    p95LatencyMs: number;
    activeMembers: number;
  } | null;
  lastReportAgeMs: number | null;
  /** Fraction of the hash ring (so of client addresses) it owns when all are healthy. */
  ringShare: number;
  /** Requests answered through it by this gateway since it joined. */
  served: number;
  /** Connection failures, resets and timeouts. */
  errors: number;
}

/** An auth, push or web upstream in GET /lb/status. */
export interface LbUpstreamStatus {
  id: string;
  url: string;
  health: HealthState;
  reason: string;
  inflight: number;
  served: number;
  errors: number;
}

/** What happened to an APP instance, as the balancer decided or was told. */
export type LbEventKind = 'joined' | 'withdrawn' | 'draining' | 'resumed' | 'ejected' | 'readmitted' | 'removed';

/** One membership or health decision in GET /lb/status `events`. */
export interface LbEvent {
  /** UTC ISO time. */
  at: string;
  instance: string;
  event: LbEventKind;
  /** e.g. `announced`, `ejected: ECONNREFUSED`, `2 good probes`, `withdrawn: shutdown`. */
  reason: string;
}

/** How many decisions /lb/status keeps (newest first). */
export const LB_EVENTS_KEPT = 50;

export interface LbStatus {
  balancer: {
    algorithm: 'consistent-hash-bounded-load';
    balanceFactor: number;
    /** BALANCE_MIN_LOAD: the lowest the bound goes. */
    minLoad: number;
    vnodes: number;
    trustProxy: string;
    /** Fewer than half of the live APP instances pass their checks: every live one is taken. */
    panic: boolean;
  };
  instances: LbInstanceStatus[];
  totals: {
    instances: number;
    available: number;
    inflight: number;
    served: number;
    retries: number;
    ejections: number;
    /** Requests answered 503 by the gateway itself (no instance, queue full, waited too long). */
    rejected: number;
  };
  queue: {
    length: number;
    clients: number;
    max: number;
    perClient: number;
    timeoutMs: number;
    /** The APP pool's completions per second lately (how fast the queue drains); null until known. */
    drainPerSecond: number | null;
    /** How long the queue takes to drain at that rate; null while unknown or unbounded (nothing drains). */
    expectedWaitMs: number | null;
  };
  upstreams: { auth: LbUpstreamStatus[]; push: LbUpstreamStatus[]; charging: LbUpstreamStatus[]; web: LbUpstreamStatus[] };
  /** The last LB_EVENTS_KEPT APP membership and health decisions, newest first. */
  events: LbEvent[];
}

export function instanceStatus(member: Upstream, share: number, now: number): LbInstanceStatus {
  const report = member.report;
  return {
    id: member.id,
    url: member.url,
    source: member.source,
    health: member.draining ? 'draining' : member.health.state,
    available: member.available,
    reason: member.draining ? 'reported draining' : member.health.reason,
    since: new Date(member.health.since).toISOString(),
    inflight: member.inflight,
    foreignLoad: member.foreign,
    maxConcurrency: member.capacity,
    reported: report
      ? {
          inflight: report.inflight,
          rps: report.rps,
          eventLoopDelayMs: report.eventLoopDelayMs,
          eventLoopUtilization: report.eventLoopUtilization,
          p95LatencyMs: report.p95LatencyMs,
          activeMembers: report.activeMembers,
        }
      : null,
    lastReportAgeMs: member.lastReportAt === undefined ? null : now - member.lastReportAt,
    ringShare: share,
    served: member.served,
    errors: member.errors,
  };
}

export function upstreamStatus(up: Upstream): LbUpstreamStatus {
  return { id: up.id, url: up.url, health: up.health.state, reason: up.health.reason, inflight: up.inflight, served: up.served, errors: up.errors };
}

/** One worker of a gateway that runs several (workers.ts), in the primary's GET /lb/status. */
export interface LbWorkerStatus {
  index: number;
  pid: number;
  ready: boolean;
  /** Requests it has sent to APP instances (its totals.served). */
  served: number;
  /** Since its last status reached the primary. */
  reportAgeMs: number;
}

/**
 * The workers drain their own queues from the same instances: the rates add up, and the longest
 * of their waits is what a request may meet. Unknown where no worker knows; an unbounded wait
 * (null beside a known rate) stays unbounded.
 */
function mergedDrain(statuses: LbStatus[]): { drainPerSecond: number | null; expectedWaitMs: number | null } {
  const known = statuses.filter((s) => s.queue.drainPerSecond !== null);
  if (known.length === 0) return { drainPerSecond: null, expectedWaitMs: null };
  const unbounded = known.some((s) => s.queue.expectedWaitMs === null);
  return {
    drainPerSecond: Math.round(sumBy(known, (s) => s.queue.drainPerSecond!) * 10) / 10,
    expectedWaitMs: unbounded ? null : Math.max(...known.map((s) => s.queue.expectedWaitMs!)),
  };
}

/** GET /lb/status of a gateway with several workers: their views summed. */
export type LbMergedStatus = LbStatus & { workers: LbWorkerStatus[] };

const sumBy = <T>(items: T[], pick: (item: T) => number) => items.reduce((sum, item) => sum + pick(item), 0);

/**
 * The workers' views as one gateway's: counts (in-flight, served, errors, retries, rejections,
 * queue) are summed per instance and upstream; health, ring share and the instance's own reports
 * are alike in every worker (the same NATS reports and probes) and are taken from the first that
 * knows the instance. Each worker counts its siblings among the "other gateways" of an
 * instance's foreign load; the merged figure removes them.
 */
export function mergeStatuses(statuses: LbStatus[]): LbStatus {
  const [first] = statuses;
  if (first === undefined) throw new Error('mergeStatuses needs at least one status');
  const instances = new Map<string, LbInstanceStatus[]>();
  for (const status of statuses)
    for (const instance of status.instances) {
      const seen = instances.get(instance.id);
      if (seen) seen.push(instance);
      else instances.set(instance.id, [instance]);
    }
  const merged = [...instances.values()].map((views): LbInstanceStatus => {
    const inflight = sumBy(views, (v) => v.inflight);
    const others = sumBy(views, (v) => Math.max(0, v.foreignLoad - (inflight - v.inflight))) / views.length;
    return {
      ...views[0]!,
      inflight,
      foreignLoad: Math.round(others),
      served: sumBy(views, (v) => v.served),
      errors: sumBy(views, (v) => v.errors),
    };
  });
  const upstreams = (pick: (s: LbStatus) => LbUpstreamStatus[]): LbUpstreamStatus[] => {
    const byId = new Map<string, LbUpstreamStatus>();
    for (const status of statuses)
      for (const up of pick(status)) {
        const seen = byId.get(up.id);
        byId.set(
          up.id,
          seen ? { ...seen, inflight: seen.inflight + up.inflight, served: seen.served + up.served, errors: seen.errors + up.errors } : { ...up },
        );
      }
    return [...byId.values()];
  };
  // Every worker records the same membership decision; it is shown once.
  const events = new Map<string, LbEvent>();
  for (const event of statuses.flatMap((s) => s.events).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))) {
    const key = `${event.instance}\u0000${event.event}\u0000${event.reason}\u0000${event.at.slice(0, 19)}`;
    if (!events.has(key)) events.set(key, event);
  }
  return {
    balancer: { ...first.balancer, panic: statuses.some((s) => s.balancer.panic) },
    instances: merged,
    totals: {
      instances: merged.length,
      available: merged.filter((i) => i.available).length,
      inflight: sumBy(merged, (i) => i.inflight),
      served: sumBy(merged, (i) => i.served),
      retries: sumBy(statuses, (s) => s.totals.retries),
      ejections: sumBy(statuses, (s) => s.totals.ejections),
      rejected: sumBy(statuses, (s) => s.totals.rejected),
    },
    queue: {
      length: sumBy(statuses, (s) => s.queue.length),
      clients: sumBy(statuses, (s) => s.queue.clients),
      max: sumBy(statuses, (s) => s.queue.max),
      perClient: first.queue.perClient,
      timeoutMs: first.queue.timeoutMs,
      ...mergedDrain(statuses),
    },
    upstreams: {
      auth: upstreams((s) => s.upstreams.auth),
      push: upstreams((s) => s.upstreams.push),
      charging: upstreams((s) => s.upstreams.charging),
      web: upstreams((s) => s.upstreams.web),
    },
    events: [...events.values()].slice(0, LB_EVENTS_KEPT),
  };
}
