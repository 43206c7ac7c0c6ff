/**
 * Admission by queue time. A request carries a deadline (X-Request-Deadline, epoch ms, set by the
 * gateway from the client's own timeout); a service runs a bounded number of requests at once and
 * queues the rest, but only while the expected wait (the work ahead of it at the observed service
 * rate) fits before the deadline. A request that would not be served in time is refused at once
 * with 503 + Retry-After, so no work is spent on an answer nobody will read, and a request whose
 * client went away or whose deadline passed while it waited is dropped without work. The queue is
 * bounded by time, not length: a fast service queues many, a slow one few.
 */

export const DEADLINE_HEADER = 'x-request-deadline';

/** The earliest deadline believed (2020-01-01): anything before is a hostile or broken value. */
const EARLIEST_DEADLINE = 1_577_836_800_000;

/**
 * Pure: the deadline (epoch ms) a request is served under. The header is read only from a trusted
 * hop and only when it is one plain decimal number of milliseconds; anything else (absent, a
 * list, signs, exponents, absurd dates) counts as absent. It never extends past now + capMs: a
 * client may ask for less time than the service allows, never more.
 */
export function requestDeadline(header: string | string[] | undefined, options: { now: number; capMs: number; trusted: boolean }): number {
  const cap = options.now + options.capMs;
  if (!options.trusted || typeof header !== 'string' || !/^\d{13}$/.test(header)) return cap;
  const value = Number(header);
  if (value < EARLIEST_DEADLINE) return cap;
  return Math.min(value, cap);
}

export type ShedReason = 'full' | 'expired' | 'abandoned';

/** Why a request was not admitted; `retryAfterSeconds` is what the 503 says. */
export class Shed extends Error {
  constructor(
    readonly reason: ShedReason,
    readonly retryAfterSeconds: number,
  ) {
    super(`shed: ${reason}`);
  }
}

export interface AdmissionOptions {
  /** Requests served at once; the rest wait in the queue. */
  slots: number;
  now?: () => number;
  /** [0, 1): the Retry-After jitter. */
  random?: () => number;
  /** Called with the time a request waited before it was given a slot (ms). */
  onAdmitted?: (waitedMs: number) => void;
  onShed?: (reason: ShedReason) => void;
  /** The assumed service time before any was observed (ms). */
  initialServiceMs?: number;
}

export interface Ticket {
  /** Gives the slot back; the time held feeds the observed service rate. Idempotent. */
  release(): void;
}

interface Waiter {
  deadline: number;
  enqueuedAt: number;
  gone: () => boolean;
  resolve: (ticket: Ticket) => void;
  reject: (shed: Shed) => void;
}

/** The weight of the newest service time in the moving average. */
const EWMA_WEIGHT = 0.1;
/**
 * The longest Retry-After base: if the service slowed down after it queued work (a machine that
 * got busy), the estimated drain can outgrow what clients wait out; they retry sooner instead and
 * are refused again, cheaply.
 */
const MAX_DRAIN_MS = 40_000;

/**
 * The slots and the time-bounded queue. `admit` resolves with a ticket when a slot is free in
 * time, or rejects with `Shed`: at once when the expected wait exceeds what is left of the
 * deadline ('full'), or later, without work, when the deadline passed ('expired') or the client
 * went away ('abandoned') while it waited.
 */
export class Admission {
  private readonly slots: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private inUse = 0;
  // FIFO; the queue is bounded by time, so it stays short enough for shift().
  private queue: Waiter[] = [];
  private serviceMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: AdmissionOptions) {
    this.slots = Math.max(1, Math.floor(options.slots));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.serviceMs = options.initialServiceMs ?? 10;
  }

  get waiting(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.inUse;
  }

  /** The expected wait (ms) of a request queued now: the work ahead of it over the slots. */
  expectedWaitMs(): number {
    if (this.inUse < this.slots && this.waiting === 0) return 0;
    return ((this.waiting + 1) * this.serviceMs) / this.slots;
  }

  /**
   * Whole seconds to tell a refused client: around the time to drain the queue, jittered over
   * [0.5x, 1.5x). Some come back while the queue still drains and take the room it frees, so the
   * slots stay busy (a later return leaves them idle; an earlier one costs only another cheap 503).
   */
  retryAfterSeconds(): number {
    const drainMs = Math.min(MAX_DRAIN_MS, Math.max(1000, ((this.waiting + this.inUse) * this.serviceMs) / this.slots));
    return Math.max(1, Math.ceil((drainMs * (0.5 + this.random())) / 1000));
  }

  admit(deadline: number, gone: () => boolean = () => false): Promise<Ticket> {
    const now = this.now();
    if (deadline <= now) return Promise.reject(this.shed('expired'));
    if (gone()) return Promise.reject(this.shed('abandoned'));
    if (this.inUse < this.slots && this.waiting === 0) {
      this.options.onAdmitted?.(0);
      return Promise.resolve(this.take(now));
    }
    if (now + this.expectedWaitMs() > deadline) return Promise.reject(this.shed('full'));
    return new Promise<Ticket>((resolve, reject) => {
      this.queue.push({ deadline, enqueuedAt: now, gone, resolve, reject });
      this.armTimer();
    });
  }

  /** A waiter that could not be served before its deadline even if it got a slot now. */
  private tooLate(waiter: Waiter, now: number): boolean {
    return now + this.serviceMs > waiter.deadline;
  }

  private shed(reason: ShedReason): Shed {
    this.options.onShed?.(reason);
    return new Shed(reason, this.retryAfterSeconds());
  }

  private take(startedAt: number): Ticket {
    this.inUse += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inUse -= 1;
        const held = this.now() - startedAt;
        this.serviceMs += EWMA_WEIGHT * (held - this.serviceMs);
        this.next();
      },
    };
  }

  /** Hands free slots to the first waiters still worth serving; drops the others without work. */
  private next(): void {
    const now = this.now();
    while (this.inUse < this.slots) {
      const waiter = this.queue.shift();
      if (!waiter) break;
      if (this.tooLate(waiter, now)) waiter.reject(this.shed('expired'));
      else if (waiter.gone()) waiter.reject(this.shed('abandoned'));
      else {
        this.options.onAdmitted?.(now - waiter.enqueuedAt);
        waiter.resolve(this.take(now));
      }
    }
  }

  /**
   * While requests wait, a periodic sweep answers the expired and abandoned ones at once (their
   * gateway stops waiting at the deadline, and the slot holders may take long).
   */
  private armTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const now = this.now();
      this.queue = this.queue.filter((waiter) => {
        if (this.tooLate(waiter, now)) waiter.reject(this.shed('expired'));
        else if (waiter.gone()) waiter.reject(this.shed('abandoned'));
        else return true;
        return false;
      });
      if (this.queue.length === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, 100);
    this.timer.unref();
  }
}
