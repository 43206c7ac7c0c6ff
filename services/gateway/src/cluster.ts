import type { AppAnnouncement, AppLoad, AppWithdrawal } from '@evshare/kit';
import { ALL_BUSY, HashRing } from './ring';
import type { MemberSource, Upstream } from './upstream';

export type MembershipChange = 'added' | 'removed' | 'draining' | 'resumed' | 'withdrawn';

export interface ClusterOptions {
  balanceFactor: number;
  /** The bound never drops below this many in-flight requests (see HashRing.pick). */
  minBound: number;
  vnodes: number;
  /** Count other gateways' load (estimated from the instances' reports) in the bounded-load check. */
  useReportedLoad: boolean;
  /** Forget a dynamic instance silent this long (ms) whose probes fail. */
  memberTimeoutMs: number;
  create(id: string, url: string, source: MemberSource, capacity: number, now: number): Upstream;
  onChange(change: MembershipChange, member: Upstream, reason: string): void;
  /** The panic mode (see AppCluster.pick) started or ended. */
  onPanic?(panic: boolean, healthy: number, live: number): void;
}

/**
 * Below this share of an instance's reported rate, the difference between its rate and ours is
 * the two counting windows not lining up, not another gateway.
 */
const FOREIGN_NOISE = 0.1;

/** Reports that straggle in after a withdrawal must not bring the instance back. */
const WITHDRAWN_MEMORY_MS = 60_000;

/**
 * The APP cluster as this gateway knows it: membership from the static list, announcements,
 * withdrawals and load reports, and the ring built over it. No I/O of its own (the caller feeds
 * it bus messages and the time, and runs the probes).
 */
export class AppCluster {
  private readonly byId = new Map<string, Upstream>();
  private readonly withdrawnAt = new Map<string, number>();
  private ring: HashRing<Upstream>;
  /** Fewer than half of the live members pass their checks: every live one is taken (Envoy's panic threshold). */
  panic = false;

  constructor(private readonly options: ClusterOptions) {
    this.ring = new HashRing<Upstream>([], [], options.vnodes);
  }

  get members(): readonly Upstream[] {
    return this.ring.members;
  }

  get(id: string): Upstream | undefined {
    return this.byId.get(id);
  }

  /** Places a request for the client whose address hashes to `hash` (see HashRing.pick). */
  pick(hash: number, exclude?: Upstream): Upstream | typeof ALL_BUSY | undefined {
    this.checkPanic();
    return this.ring.pick(hash, this.options.balanceFactor, exclude, this.options.minBound);
  }

  /**
   * Health checks that fail for most instances at once say more about the checker (a starved
   * machine, a network partition of the probes) than about the instances: when fewer than half of
   * the live (announced, not draining, not withdrawn) members pass, the checks are ignored and
   * every live member is taken, as Envoy does below its panic threshold. A member that really is
   * gone then fails its requests, which are retried on another one.
   */
  checkPanic(): void {
    let live = 0;
    let healthy = 0;
    for (const member of this.ring.members) {
      if (member.draining || member.removed) continue;
      live++;
      if (member.health.state === 'up') healthy++;
    }
    const panic = healthy * 2 < live;
    if (panic === this.panic) return;
    this.panic = panic;
    for (const member of this.ring.members) member.healthIgnored = panic;
    this.options.onPanic?.(panic, healthy, live);
  }

  /** Requests the available instances take at once (their limits summed). */
  slots(): number {
    let slots = 0;
    for (const member of this.ring.members) if (member.available) slots += member.capacity;
    return slots;
  }

  /** Some available instance is below its concurrency limit (a queued request can go). */
  hasCapacity(): boolean {
    for (const member of this.ring.members) if (member.available && member.load < member.capacity) return true;
    return false;
  }

  /** Ring share per member. */
  shares(): Map<Upstream, number> {
    const shares = this.ring.shares();
    return new Map(this.ring.members.map((member, i) => [member, shares[i]!]));
  }

  addStatic(url: string, capacity: number, now: number): void {
    const normalized = url.replace(/\/+$/, '');
    if ([...this.byId.values()].some((m) => m.url === normalized)) return;
    this.add(this.options.create(normalized, normalized, 'static', capacity, now), 'configured');
  }

  announce(announcement: AppAnnouncement, now: number): void {
    this.withdrawnAt.delete(announcement.id);
    const member = this.upsert(announcement.id, announcement.url, 'announce', announcement.maxConcurrency, now);
    member.capacity = announcement.maxConcurrency;
    if (member.source === 'report') member.source = 'announce';
    if (member.draining) {
      member.draining = false;
      this.options.onChange('resumed', member, 'announced');
    }
    // An announcement comes from an instance that is listening and ready: a restarted instance
    // is back at once instead of after `rise` probes.
    if (member.health.state === 'down' && member.health.force('up', 'announced', now)) {
      this.options.onChange('resumed', member, 'announced');
    }
  }

  withdraw(withdrawal: AppWithdrawal, now: number): void {
    const member = this.byId.get(withdrawal.id);
    this.withdrawnAt.set(withdrawal.id, now);
    if (!member) return;
    const reason = withdrawal.reason ? `withdrawn: ${withdrawal.reason}` : 'withdrawn';
    if (member.pinned) {
      // A static-list instance stays known, out of the choice until probes or an announcement bring it back.
      member.health.force('down', reason, now);
      this.options.onChange('withdrawn', member, reason);
    } else {
      this.remove(member, reason);
    }
  }

  report(load: AppLoad, now: number): void {
    if (this.withdrawnAt.has(load.id)) return;
    // A report from an unknown instance that is already draining must not add it.
    if (load.draining && !this.byId.has(load.id)) return;
    const member = this.upsert(load.id, load.url, 'report', load.maxConcurrency, now);
    member.capacity = load.maxConcurrency;
    if (load.draining !== member.draining) {
      member.draining = load.draining;
      this.options.onChange(load.draining ? 'draining' : 'resumed', member, load.draining ? 'reported draining' : 'reported ready');
    }
    member.foreign = this.options.useReportedLoad ? foreignLoad(member, load, now) : 0;
    member.report = load;
    member.lastReportAt = now;
    member.servedAtReport = member.served;
  }

  /**
   * Periodic housekeeping: forgets dynamic instances that went silent and fail their probes,
   * drops load estimates that are too old to trust, and forgets old withdrawals.
   */
  sweep(now: number): void {
    const timeout = this.options.memberTimeoutMs;
    for (const member of [...this.byId.values()]) {
      if (!member.pinned && member.health.state === 'down' && now - member.lastSeenAt > timeout) {
        this.remove(member, `silent for ${Math.round((now - member.lastSeenAt) / 1000)} s and failing probes`);
      } else if (member.lastReportAt !== undefined && now - member.lastReportAt > timeout) {
        member.foreign = 0;
      }
    }
    for (const [id, at] of this.withdrawnAt) if (now - at > WITHDRAWN_MEMORY_MS) this.withdrawnAt.delete(id);
  }

  /** Finds or creates the member with this id; a new one replaces any member at the same URL. */
  private upsert(id: string, url: string, source: MemberSource, capacity: number, now: number): Upstream {
    const normalized = url.replace(/\/+$/, '');
    let member = this.byId.get(id);
    if (member && member.url !== normalized) {
      this.remove(member, `moved to ${normalized}`);
      member = undefined;
    }
    if (!member) {
      // The same URL under another id is a static entry or an earlier run of this instance.
      const previous = [...this.byId.values()].find((m) => m.url === normalized);
      if (previous) this.remove(previous, `replaced by ${id}`);
      member = this.options.create(id, normalized, source, capacity, now);
      member.pinned = previous?.pinned ?? false;
      this.add(member, source === 'announce' ? 'announced' : 'reported its load');
    }
    member.lastSeenAt = now;
    return member;
  }

  private add(member: Upstream, reason: string): void {
    this.byId.set(member.id, member);
    this.rebuild();
    this.options.onChange('added', member, reason);
  }

  private remove(member: Upstream, reason: string): void {
    this.byId.delete(member.id);
    member.retire();
    // Requests still running on it finish; the last one closes its connections.
    if (member.inflight === 0) member.close();
    this.rebuild();
    this.options.onChange('removed', member, reason);
  }

  private rebuild(): void {
    const members = [...this.byId.values()];
    for (const member of members) member.healthIgnored = this.panic;
    this.ring = new HashRing(
      members,
      members.map((m) => m.id),
      this.options.vnodes,
    );
  }
}

/**
 * The requests other gateways have open on an instance. Its report counts everyone's; our own
 * share of its completed-request rate over the same second tells how much of that is ours
 * (Little's law: in-flight requests split like the rates when latencies are alike).
 */
function foreignLoad(member: Upstream, load: AppLoad, now: number): number {
  if (member.lastReportAt === undefined || now <= member.lastReportAt || load.rps <= 0) return 0;
  const ownRps = ((member.served - member.servedAtReport) * 1000) / (now - member.lastReportAt);
  const share = 1 - ownRps / load.rps;
  return share > FOREIGN_NOISE ? Math.round(load.inflight * share) : 0;
}
