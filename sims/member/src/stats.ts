/** Pure: the p-quantile of samples by nearest rank; 0 for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

export interface MemberFleetStats {
  members: number;
  /** Members holding a session now. */
  loggedIn: number;
  inflight: number;
  requests: number;
  ok: number;
  notModified: number;
  unauthorized: number;
  errors: number;
  logins: number;
  loginFailures: number;
  /** Logins sent again after a shed answer (503 + Retry-After), within one login. */
  loginRetries: number;
  browses: number;
  /** Over the most recent requests (a bounded window). */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Replies per APP instance (the X-App-Instance header), showing how load spreads. */
  instances: Record<string, number>;
}

/** Counters and a bounded latency window; a reply is recorded once, whatever its kind. */
export function createStatsRecorder(window = 4096) {
  const counts = { requests: 0, ok: 0, notModified: 0, unauthorized: 0, errors: 0, logins: 0, loginFailures: 0, loginRetries: 0, browses: 0 };
  const latencies: number[] = [];
  const instances: Record<string, number> = {};
  let next = 0;
  return {
    counts,
    record(kind: 'ok' | 'not-modified' | 'unauthorized' | 'error', latencyMs: number, instance?: string) {
      counts.requests++;
      if (kind === 'ok') counts.ok++;
      else if (kind === 'not-modified') counts.notModified++;
      else if (kind === 'unauthorized') counts.unauthorized++;
      else counts.errors++;
      if (latencies.length < window) latencies.push(latencyMs);
      else latencies[next] = latencyMs;
      next = (next + 1) % window;
      if (instance) instances[instance] = (instances[instance] ?? 0) + 1;
    },
    snapshot(live: { members: number; loggedIn: number; inflight: number }): MemberFleetStats {
      const round = (n: number) => Math.round(n * 10) / 10;
      return {
        ...live,
        ...counts,
        latencyMs: {
          p50: round(percentile(latencies, 0.5)),
          p95: round(percentile(latencies, 0.95)),
          p99: round(percentile(latencies, 0.99)),
          max: round(latencies.length ? Math.max(...latencies) : 0),
        },
        instances: { ...instances },
      };
    },
  };
}
