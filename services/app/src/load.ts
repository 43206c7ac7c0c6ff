import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Pure: the p-quantile of a list of samples (nearest rank); 0 for none. */
export function quantile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

/** Pure: members seen within the window, dropping older ones from the map. */
export function countActive(lastSeen: Map<string, number>, now: number, windowMs: number): number {
  for (const [member, at] of lastSeen) if (now - at > windowMs) lastSeen.delete(member);
  return lastSeen.size;
}

const MAX_LATENCY_SAMPLES = 2048;

/**
 * What an APP instance knows about its own load, summarized once per report interval for the
 * balancer and the operator: in-flight requests, throughput, p95 latency, event-loop delay and
 * utilization, active members.
 */
export function createLoadTracker(activeWindowMs = 60_000) {
  let inflight = 0;
  let completed = 0;
  let latencies: number[] = [];
  const lastSeen = new Map<string, number>();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let since = performance.now();

  return {
    get inflight() {
      return inflight;
    },
    begin: () => {
      inflight++;
    },
    end: (latencyMs: number) => {
      inflight--;
      completed++;
      if (latencies.length < MAX_LATENCY_SAMPLES) latencies.push(latencyMs);
      else latencies[completed % MAX_LATENCY_SAMPLES] = latencyMs;
    },
    seen: (memberId: string) => {
      lastSeen.set(memberId, Date.now());
    },
    /** Summarizes the interval since the last call and starts a new one. */
    report() {
      const now = performance.now();
      const seconds = Math.max(0.001, (now - since) / 1000);
      const nextElu = performance.eventLoopUtilization();
      const summary = {
        inflight,
        rps: Math.round((completed / seconds) * 10) / 10,
        p95LatencyMs: Math.round(quantile(latencies, 0.95) * 100) / 100,
        eventLoopDelayMs: Math.round((delay.percentile(99) / 1e6) * 100) / 100,
        eventLoopUtilization: Math.min(1, Math.round(performance.eventLoopUtilization(nextElu, elu).utilization * 1000) / 1000),
        activeMembers: countActive(lastSeen, Date.now(), activeWindowMs),
      };
      completed = 0;
      latencies = [];
      delay.reset();
      elu = nextElu;
      since = now;
      return summary;
    },
    stop() {
      delay.disable();
    },
  };
}
