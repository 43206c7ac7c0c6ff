export type HealthState = 'up' | 'down';

export interface HealthPolicy {
  /** Consecutive failed probes that take an up instance down (HAProxy `fall`). */
  fall: number;
  /** Consecutive good probes that bring a down instance back (HAProxy `rise`). */
  rise: number;
  /** Consecutive 5xx answers that eject an up instance (Envoy `consecutive_5xx`). */
  ejectAfter5xx: number;
}

/**
 * One upstream's health, driven by active probes and by what real traffic sees (passive checks).
 * Every input returns true when the state changed, so the caller can log it and count ejections.
 *
 * - Active: `fall` failed probes in a row -> down; `rise` good probes in a row -> up again.
 * - Passive: a failed connection ejects at once (the next request would fail the same way);
 *   `ejectAfter5xx` 5xx answers in a row eject. Only probes re-admit, so an ejected instance
 *   must prove itself `rise` times before it gets traffic again.
 *
 * Draining and withdrawal are membership facts, not health: the caller removes such an instance
 * from the choice regardless of this state. Pure: the caller passes the time.
 */
export class HealthTracker {
  state: HealthState = 'up';
  reason: string;
  /** When the state last changed (ms, caller's clock). */
  since: number;
  /**
   * The last failure proved the instance gone (a refused or reset fresh connection, a 5xx burst,
   * a probe answered with an error), as opposed to a probe that only timed out, which a starved
   * machine causes as well. The cluster's panic mode takes only instances not proven gone.
   */
  dead = false;
  private goodProbes = 0;
  private badProbes = 0;
  private serverErrors = 0;

  constructor(
    private readonly policy: HealthPolicy,
    now: number,
    reason = 'new',
    state: HealthState = 'up',
  ) {
    this.reason = reason;
    this.since = now;
    this.state = state;
  }

  probeSucceeded(now: number): boolean {
    this.badProbes = 0;
    this.dead = false;
    if (this.state === 'up') return false;
    if (++this.goodProbes < this.policy.rise) return false;
    return this.set('up', `${this.policy.rise} good probe${this.policy.rise > 1 ? 's' : ''}`, now);
  }

  /** `timedOut`: no answer in time, which is not proof of death (see `dead`). */
  probeFailed(why: string, now: number, timedOut = false): boolean {
    this.goodProbes = 0;
    this.dead = !timedOut;
    if (this.state === 'down') {
      this.reason = `probe: ${why}`;
      return false;
    }
    if (++this.badProbes < this.policy.fall) return false;
    return this.set('down', `probe: ${why}`, now);
  }

  connectionFailed(why: string, now: number): boolean {
    this.goodProbes = 0;
    this.dead = true;
    if (this.state === 'down') return false;
    return this.set('down', `ejected: ${why}`, now);
  }

  /**
   * Every answer from the upstream (status code), for the 5xx burst detector. `shed` is a 503 with
   * Retry-After: the instance is alive and refusing work it cannot do in time, which neither
   * counts towards an ejection nor clears the count.
   */
  responded(status: number, now: number, shed = false): boolean {
    if (shed) return false;
    if (status < 500) {
      this.serverErrors = 0;
      return false;
    }
    if (this.state === 'down' || ++this.serverErrors < this.policy.ejectAfter5xx) return false;
    this.dead = true;
    return this.set('down', `ejected: ${this.serverErrors} consecutive 5xx`, now);
  }

  /** Forces the state, e.g. down at a withdrawal of an instance the static list pins. */
  force(state: HealthState, reason: string, now: number): boolean {
    return this.set(state, reason, now);
  }

  private set(state: HealthState, reason: string, now: number): boolean {
    const changed = state !== this.state;
    if (state === 'up') this.dead = false;
    this.state = state;
    this.reason = reason;
    if (changed) this.since = now;
    this.goodProbes = 0;
    this.badProbes = 0;
    this.serverErrors = 0;
    return changed;
  }
}
