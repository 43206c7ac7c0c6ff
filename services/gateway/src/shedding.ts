/**
 * Admission to the gateway's queue by queue time, as the services' own admission does it (kit,
 * services/kit/src/http/admission.ts): a request that finds every APP instance at its limit may
 * wait only while its expected wait (its place in the queue over the APP pool's recent drain
 * rate) fits in what it may wait (QUEUE_TIMEOUT_MS, and never past its deadline). Otherwise it is
 * refused at once with 503 + Retry-After, so the queue is bounded by time, not length, and a
 * refusal is cheap and prompt instead of a wait that ends in a timeout. Pure: time is passed in.
 */

/** The time constant of the drain rate's exponential decay (ms): about the last second counts. */
export const DRAIN_TIME_CONSTANT_MS = 1000;
/** Below this many decayed completions the pool counts as idle and the next one starts afresh. */
const IDLE_WEIGHT = 0.05;
/** The measured rate is believed after observing this long (ms); before, a full pool's is taken. */
const WARMUP_MS = DRAIN_TIME_CONSTANT_MS / 4;

/** The weight of the newest service time in its moving average (as the kit's admission). */
const SERVICE_EWMA_WEIGHT = 0.1;

/**
 * Completions per second of the APP pool (each frees a slot a queued request takes), as an
 * exponentially decaying count: with no completion the rate falls towards 0, so a pool that
 * stopped draining refuses instead of queueing for nothing. The count since the start of a busy
 * period is corrected for the decay it has not yet had (as Adam corrects its moments), so a
 * constant rate reads right from the first quarter second. Before that (a storm on a fresh or
 * idle gateway) the rate is what a full pool would do, its slots over the moving average of the
 * service time (Little's law), and never more than that later; `perSecond` is undefined only
 * before any request ended.
 */
export class DrainRate {
  private weight = 0;
  private at = 0;
  private startedAt: number | undefined;
  private service: number | undefined;

  constructor(private readonly timeConstantMs = DRAIN_TIME_CONSTANT_MS) {}

  /** The moving average of the time a request holds its slot (ms); 0 before any ended. */
  get serviceMs(): number {
    return this.service ?? 0;
  }

  /** A request ended at `now` after holding its slot `heldMs`. */
  observe(now: number, heldMs: number): void {
    const held = Math.max(0, heldMs);
    this.service = this.service === undefined ? held : this.service + SERVICE_EWMA_WEIGHT * (held - this.service);
    const decayed = this.decayed(now);
    if (this.startedAt === undefined || decayed < IDLE_WEIGHT) {
      this.startedAt = now;
      this.weight = 1;
    } else {
      this.weight = decayed + 1;
    }
    this.at = Math.max(this.at, now);
  }

  /** `slots`: the requests the pool serves at once. */
  perSecond(now: number, slots: number): number | undefined {
    if (this.startedAt === undefined || this.service === undefined) return undefined;
    const full = (slots * 1000) / Math.max(1, this.service);
    const observed = now - this.startedAt;
    if (observed < WARMUP_MS) return full;
    const seen = 1 - Math.exp(-observed / this.timeConstantMs);
    // Completions come in bursts (slots freed together): never more than a full pool can do.
    return Math.min(full, (this.decayed(now) / seen) * (1000 / this.timeConstantMs));
  }

  private decayed(now: number): number {
    return this.weight * Math.exp(-Math.max(0, now - this.at) / this.timeConstantMs);
  }
}

/** What the queue holds when a request asks to wait. */
export interface QueueView {
  length: number;
  /** Addresses with at least one waiting request. */
  clients: number;
  /** Requests of this request's address already waiting. */
  own: number;
}

/**
 * How many dequeues until this request is served, at most: the queue is round-robin across
 * addresses, so a request whose address has `own` waiting goes after at most `own + 1` from each
 * waiting address (its own included), and never after more than the whole queue. A polite
 * address gets in ahead of a flood; a flooding one waits for its own backlog.
 */
export function queuePosition(view: QueueView): number {
  const addresses = view.own === 0 ? view.clients + 1 : view.clients;
  return Math.min(view.length + 1, (view.own + 1) * addresses);
}

/** The expected wait (ms) of `dequeues` at `perSecond`; Infinity when nothing drains. */
export function expectedWaitMs(dequeues: number, perSecond: number): number {
  if (dequeues <= 0) return 0;
  return perSecond > 0 ? (dequeues / perSecond) * 1000 : Infinity;
}

/**
 * Whole seconds to tell a refused client, from the time the queue takes to drain, jittered over
 * [0.5x, 1.5x) like the kit's (some come back while the queue still drains and take the room it
 * frees, so the instances stay busy), at least 1 and at most `maxS` (a pool that slowed down or
 * stopped must not send clients away for minutes; they come back and are refused again, cheaply).
 * `random` is in [0, 1).
 */
export function retryAfterSeconds(drainMs: number, random: number, maxS: number): number {
  const seconds = Math.ceil((drainMs * (0.5 + random)) / 1000);
  return Math.max(1, Math.min(maxS, Number.isFinite(seconds) ? seconds : maxS));
}

export interface ShedInput {
  now: number;
  /** Epoch ms after which the answer is of no use. */
  deadline: number;
  queueTimeoutMs: number;
  queue: QueueView;
  /** DrainRate.perSecond: undefined while unknown. */
  drainPerSecond: number | undefined;
  /**
   * Headroom the expected wait must leave (ms), DrainRate.serviceMs: the estimate is an average,
   * and the slot a request waits for frees at some moment within a service time of it, so a
   * request admitted with no headroom would often miss its budget by a little and time out.
   */
  marginMs: number;
}

export type ShedDecision = { admit: true; expectedWaitMs: number } | { admit: false; expectedWaitMs: number; mayWaitMs: number };

/**
 * Whether a request may wait: its expected wait, with the headroom, must fit in
 * min(QUEUE_TIMEOUT_MS, deadline − now). An unknown drain rate (no APP request has ended yet) admits it; the queue's length caps
 * and the wait's timer still bound it.
 */
export function shedDecision(input: ShedInput): ShedDecision {
  const mayWaitMs = Math.min(input.queueTimeoutMs, input.deadline - input.now);
  if (mayWaitMs <= 0) return { admit: false, expectedWaitMs: 0, mayWaitMs: Math.max(0, mayWaitMs) };
  if (input.drainPerSecond === undefined) return { admit: true, expectedWaitMs: 0 };
  const wait = expectedWaitMs(queuePosition(input.queue), input.drainPerSecond);
  return wait + input.marginMs <= mayWaitMs ? { admit: true, expectedWaitMs: wait } : { admit: false, expectedWaitMs: wait, mayWaitMs };
}
