import http from 'node:http';
import type { Upstream } from './upstream';

export interface ProbeOutcome {
  /** The probe's answer moved the upstream's health: up again, or down. */
  up(upstream: Upstream): void;
  down(upstream: Upstream): void;
  /** A probe timed out on an upstream that is answering real traffic: counted as load. */
  busy?(upstream: Upstream): void;
}

/**
 * Active health checks: `GET <url>/readyz` on a fresh connection (as HAProxy checks do), at most
 * one in flight per upstream; the result goes to the upstream's health tracker.
 */
export class Prober {
  private readonly inFlight = new Map<Upstream, http.ClientRequest>();
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    /** A probe that times out on an upstream that answered real traffic this recently (ms) is not a failure. */
    private readonly answeredWithinMs: number,
    private readonly outcome: ProbeOutcome,
  ) {}

  probe(up: Upstream): void {
    if (this.stopped || this.inFlight.has(up)) return;
    let settled = false;
    let timedOut = false;
    const settle = (ok: boolean, why: string) => {
      if (settled) return;
      settled = true;
      this.inFlight.delete(up);
      if (up.removed || this.stopped) return;
      const now = Date.now();
      if (ok) {
        if (up.health.probeSucceeded(now)) this.outcome.up(up);
        return;
      }
      // Busy, not dead: it is answering real requests, only not the probe in time (a starved machine).
      if (timedOut && now - up.lastAnsweredAt <= this.answeredWithinMs) {
        this.outcome.busy?.(up);
        return;
      }
      if (up.health.probeFailed(why, now, timedOut)) this.outcome.down(up);
    };
    const request = http.get(
      {
        host: up.host,
        port: up.port,
        path: `${up.prefix}/readyz`,
        agent: false,
        timeout: this.timeoutMs,
        headers: { 'user-agent': 'evshare-gateway-probe' },
      },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        settle(status >= 200 && status < 300, `HTTP ${status}`);
      },
    );
    request.on('timeout', () => {
      timedOut = true;
      request.destroy(new Error(`no answer within ${this.timeoutMs} ms`));
    });
    request.on('error', (error: NodeJS.ErrnoException) => settle(false, error.code ?? error.message));
    this.inFlight.set(up, request);
  }

  stop(): void {
    this.stopped = true;
    for (const request of this.inFlight.values()) request.destroy();
  }
}
