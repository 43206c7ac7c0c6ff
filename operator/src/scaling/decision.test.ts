import type { AppLoad } from '@evshare/kit';
import { DEFAULT_BEHAVIOR } from '../crd/defaults';
import type { LoadTarget } from '../crd/types';
import { type ScaleEvent } from './policies';
import { decideReplicas, type PodLoad, type Recommendation, type ScalingDecision, type ScalingInput } from './decision';
import { createLoadStore } from './load';

const NOW = 1_000_000_000;
const target: LoadTarget = { inflightPerPod: 10 };

function pods(...inflight: number[]): PodLoad[] {
  return inflight.map((value, i) => ({ pod: `app-${i}`, inflight: value, p95LatencyMs: 50, eventLoopUtilization: 0.2, activeMembers: 5, draining: false }));
}

function decide(overrides: Partial<ScalingInput>): ScalingDecision {
  return decideReplicas({
    currentReplicas: 4,
    loads: pods(10, 10, 10, 10),
    target,
    behavior: DEFAULT_BEHAVIOR,
    minReplicas: 1,
    maxReplicas: 20,
    // A recommendation older than every window: no stabilization unless a case adds its own.
    history: [{ at: NOW - 3_600_000, replicas: 4 }],
    now: NOW,
    ...overrides,
  });
}

describe('decideReplicas', () => {
  const old = (replicas: number, secondsAgo: number): Recommendation => ({ at: NOW - secondsAgo * 1000, replicas });

  it.each<[string, Partial<ScalingInput>, { desired: number; reason: string; limitedBy?: string | null; recommended?: number }]>([
    ['load on target keeps the replicas', {}, { desired: 4, reason: 'WithinTolerance' }],
    ['10% over target is within tolerance', { loads: pods(11, 11, 11, 11) }, { desired: 4, reason: 'WithinTolerance' }],
    ['10% under target is within tolerance', { loads: pods(9, 9, 9, 9) }, { desired: 4, reason: 'WithinTolerance' }],
    ['twice the target doubles at once', { loads: pods(20, 20, 20, 20) }, { desired: 8, reason: 'ScaleUp', limitedBy: null, recommended: 8 }],
    ['uneven load counts by its mean', { loads: pods(0, 0, 30, 30) }, { desired: 6, reason: 'ScaleUp', recommended: 6 }],
    [
      'a big step is limited to max(4 pods, 100%) per period',
      { currentReplicas: 2, loads: pods(50, 50) },
      { desired: 6, reason: 'ScaleUp', limitedBy: 'scaleUpPolicy', recommended: 10 },
    ],
    [
      'a scale-up earlier in the period counts against the policy',
      { currentReplicas: 6, loads: pods(50, 50, 50, 50, 50, 50), events: [{ at: NOW - 5_000, change: 4 }] },
      { desired: 6, reason: 'ScaleUpStabilizing', limitedBy: 'scaleUpPolicy', recommended: 30 },
    ],
    [
      'a scale-up a period ago no longer counts',
      { currentReplicas: 6, loads: pods(50, 50, 50, 50, 50, 50), events: [{ at: NOW - 15_000, change: 4 }] },
      { desired: 12, reason: 'ScaleUp', limitedBy: 'scaleUpPolicy' },
    ],
    [
      'selectPolicy Disabled never scales up',
      { loads: pods(50, 50, 50, 50), behavior: { ...DEFAULT_BEHAVIOR, scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, selectPolicy: 'Disabled' } } },
      { desired: 4, reason: 'ScaleUpStabilizing', limitedBy: 'scaleUpPolicy' },
    ],
    [
      'selectPolicy Disabled still lifts to minReplicas',
      {
        currentReplicas: 1,
        minReplicas: 3,
        loads: pods(50),
        behavior: { ...DEFAULT_BEHAVIOR, scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, selectPolicy: 'Disabled' } },
      },
      { desired: 3, reason: 'ScaleUp', limitedBy: 'minReplicas' },
    ],
    [
      'no reports for the fallback time set the fallback replicas',
      { loads: [], fallback: { replicas: 6, afterSeconds: 30 }, silentForMs: 30_000 },
      { desired: 6, reason: 'Fallback', limitedBy: null },
    ],
    [
      'the fallback may also scale down',
      { currentReplicas: 9, loads: [], fallback: { replicas: 3, afterSeconds: 30 }, silentForMs: 60_000 },
      { desired: 3, reason: 'Fallback' },
    ],
    [
      'the fallback stays within maxReplicas',
      { loads: [], fallback: { replicas: 50, afterSeconds: 30 }, silentForMs: 60_000 },
      { desired: 20, reason: 'Fallback', limitedBy: 'maxReplicas' },
    ],
    [
      'a shorter silence keeps the replicas',
      { loads: [], fallback: { replicas: 6, afterSeconds: 30 }, silentForMs: 29_000 },
      { desired: 4, reason: 'NoLoadReports' },
    ],
    [
      'with reports the fallback does not apply',
      { loads: pods(10, 10, 10, 10), fallback: { replicas: 6, afterSeconds: 30 }, silentForMs: 60_000 },
      { desired: 4, reason: 'WithinTolerance' },
    ],
    ['maxReplicas caps a scale-up', { loads: pods(50, 50, 50, 50), maxReplicas: 6 }, { desired: 6, reason: 'ScaleUp', limitedBy: 'maxReplicas' }],
    [
      'at maxReplicas under overload',
      { currentReplicas: 6, loads: pods(50, 50, 50, 50, 50, 50), maxReplicas: 6 },
      { desired: 6, reason: 'AtMaxReplicas', limitedBy: 'maxReplicas' },
    ],
    ['no reports keep the replicas', { loads: [] }, { desired: 4, reason: 'NoLoadReports', limitedBy: null }],
    ['no reports still lift to minReplicas', { currentReplicas: 0, loads: [], minReplicas: 2 }, { desired: 2, reason: 'ScaleUp', limitedBy: 'minReplicas' }],
    [
      'replicas above maxReplicas come down without reports',
      { currentReplicas: 9, loads: [], maxReplicas: 5 },
      { desired: 5, reason: 'ScaleDown', limitedBy: 'maxReplicas' },
    ],
    [
      'low load with an empty history waits (a new leader does not scale down at once)',
      { loads: pods(2, 2, 2, 2), history: [] },
      { desired: 4, reason: 'ScaleDownStabilizing', recommended: 1 },
    ],
    [
      'low load after the window scales down by at most half',
      { loads: pods(2, 2, 2, 2) },
      { desired: 2, reason: 'ScaleDown', limitedBy: 'scaleDownPolicy', recommended: 1 },
    ],
    [
      'a scale-down earlier in the period counts against the policy',
      { currentReplicas: 2, loads: pods(1, 1), events: [{ at: NOW - 10_000, change: -2 }] },
      { desired: 2, reason: 'ScaleDownStabilizing', limitedBy: 'scaleDownPolicy' },
    ],
    [
      'scale-down goes only to the highest recommendation in the window',
      { loads: pods(2, 2, 2, 2), history: [old(8, 70), old(3, 30)] },
      { desired: 3, reason: 'ScaleDown', limitedBy: null },
    ],
    ['a recent high recommendation holds the replicas', { loads: pods(2, 2, 2, 2), history: [old(4, 59)] }, { desired: 4, reason: 'ScaleDownStabilizing' }],
    [
      'minReplicas stops a scale-down',
      { currentReplicas: 2, loads: pods(0, 0), minReplicas: 2 },
      { desired: 2, reason: 'AtMinReplicas', limitedBy: 'minReplicas', recommended: 0 },
    ],
    ['pods not reporting yet count as idle when scaling up', { loads: pods(20, 20) }, { desired: 4, reason: 'WithinTolerance', recommended: 4 }],
    ['pods not reporting yet count as on target when scaling down', { loads: pods(2, 2) }, { desired: 3, reason: 'ScaleDown', recommended: 3 }],
    [
      'draining pods are ignored',
      { currentReplicas: 3, loads: [...pods(10, 10), { ...pods(100)[0]!, pod: 'app-x', draining: true }] },
      { desired: 3, reason: 'WithinTolerance' },
    ],
    [
      'p95 latency over its target scales up even with inflight on target',
      { loads: pods(10, 10, 10, 10).map((l) => ({ ...l, p95LatencyMs: 400 })), target: { inflightPerPod: 10, p95LatencyMs: 200 } },
      { desired: 8, reason: 'ScaleUp' },
    ],
    [
      'event-loop utilization over its target scales up',
      { currentReplicas: 2, loads: pods(1, 1).map((l) => ({ ...l, eventLoopUtilization: 0.9 })), target: { inflightPerPod: 10, eventLoopUtilization: 0.6 } },
      { desired: 3, reason: 'ScaleUp' },
    ],
    [
      'a scale-up window takes the smallest recent recommendation',
      {
        loads: pods(20, 20, 20, 20),
        behavior: { ...DEFAULT_BEHAVIOR, scaleUp: { ...DEFAULT_BEHAVIOR.scaleUp, stabilizationWindowSeconds: 10 } },
        history: [old(4, 5)],
      },
      { desired: 4, reason: 'ScaleUpStabilizing', recommended: 8 },
    ],
  ])('%s', (_name, input, expected) => {
    const decision = decide(input);
    expect(decision.desiredReplicas).toBe(expected.desired);
    expect(decision.reason).toBe(expected.reason);
    if (expected.limitedBy !== undefined) expect(decision.limitedBy).toBe(expected.limitedBy);
    if (expected.recommended !== undefined) expect(decision.recommendedReplicas).toBe(expected.recommended);
    expect(decision.message).toEqual(expect.any(String));
  });

  it('explains the decision with the driving metric', () => {
    const decision = decide({ loads: pods(20, 20, 20, 20) });
    expect(decision.message).toBe('inflight 20/pod vs target 10 (4 reporting): 4 -> 8 replicas (load asks for 8)');
  });

  it('keeps only the recommendations still inside a window, plus the new one', () => {
    const decision = decide({
      loads: pods(20, 20, 20, 20),
      history: [
        { at: NOW - 61_000, replicas: 9 },
        { at: NOW - 10_000, replicas: 5 },
      ],
    });
    expect(decision.history).toEqual([
      { at: NOW - 10_000, replicas: 5 },
      { at: NOW, replicas: 8 },
    ]);
  });

  it('does not move on float noise at the tolerance edge', () => {
    expect(decide({ currentReplicas: 10, loads: pods(...Array<number>(10).fill(11)) }).desiredReplicas).toBe(10);
    expect(decide({ currentReplicas: 3, loads: pods(0.1, 0.1, 0.1), target: { inflightPerPod: 0.1 } }).desiredReplicas).toBe(3);
  });
});

/**
 * Simulated time, through the same pipeline as the operator (the load store keeps the fresh reports,
 * one evaluation per second): pods report 3 s after they are added, the total in-flight load is
 * spread over the reporting pods with per-pod noise, and the Deployment follows every decision.
 */
describe('decideReplicas over simulated time', () => {
  interface Trace {
    replicas: number[];
    changes: Array<{ t: number; from: number; to: number }>;
  }

  function simulate(seconds: number, totalLoad: (t: number) => number, options: { start?: number; noise?: number } = {}): Trace {
    const random = mulberry32(42);
    const store = createLoadStore();
    const startupSeconds = 3;
    let replicas = options.start ?? 4;
    let history: Recommendation[] = [];
    let events: ScaleEvent[] = [];
    let next = 0;
    let pods = Array.from({ length: replicas }, () => ({ name: `app-${next++}`, startedAt: -100 }));
    const trace: Trace = { replicas: [], changes: [] };
    for (let t = 0; t < seconds; t++) {
      const now = t * 1000;
      const ready = pods.filter((p) => t - p.startedAt >= startupSeconds);
      for (const pod of ready) {
        const inflight = Math.max(0, (totalLoad(t) / ready.length) * (1 + (options.noise ?? 0) * (2 * random() - 1)));
        store.record({ ...report, id: pod.name, pod: pod.name, inflight, at: new Date(now).toISOString() }, now);
      }
      const decision = decideReplicas({
        currentReplicas: replicas,
        loads: store.loadsOf(
          pods.map((p) => p.name),
          now,
        ),
        target,
        behavior: DEFAULT_BEHAVIOR,
        minReplicas: 2,
        maxReplicas: 30,
        history,
        events,
        now,
      });
      history = decision.history;
      events = decision.events;
      if (decision.desiredReplicas !== replicas) {
        trace.changes.push({ t, from: replicas, to: decision.desiredReplicas });
        if (decision.desiredReplicas > replicas) {
          pods.push(...Array.from({ length: decision.desiredReplicas - replicas }, () => ({ name: `app-${next++}`, startedAt: t })));
        } else {
          pods = pods.slice(0, decision.desiredReplicas);
        }
        replicas = decision.desiredReplicas;
      }
      trace.replicas.push(replicas);
    }
    return trace;
  }

  /** Direction reversals (up then down, or down then up) closer together than the given seconds. */
  function flaps(trace: Trace, withinSeconds: number): number {
    let count = 0;
    for (let i = 1; i < trace.changes.length; i++) {
      const a = trace.changes[i - 1]!;
      const b = trace.changes[i]!;
      if (Math.sign(a.to - a.from) !== Math.sign(b.to - b.from) && b.t - a.t < withinSeconds) count++;
    }
    return count;
  }

  it('steady load with 10% per-pod noise never scales', () => {
    expect(simulate(900, () => 40, { noise: 0.1 }).changes).toEqual([]);
  });

  it('steady load with 30% per-pod noise (Poisson-like) scales up at most once and never back and forth', () => {
    for (const load of [40, 43, 47]) {
      const trace = simulate(1800, () => load, { noise: 0.3 });
      expect(trace.changes.length).toBeLessThanOrEqual(1);
      expect(trace.changes.every((c) => c.to > c.from)).toBe(true);
    }
  });

  it('a load step reaches a scale-up decision with the first report and settles within one policy period, without overshoot', () => {
    const trace = simulate(400, (t) => (t < 100 ? 40 : 120), { noise: 0.1 });
    const first = trace.changes[0]!;
    expect(first.t).toBe(100);
    expect(first.to).toBeGreaterThan(4);
    const settledAt = trace.changes.find((c) => c.to >= 12)!.t;
    // 4 -> 8 at once (100% per 15 s), the rest when the first step leaves the 15 s period.
    expect(first.to).toBe(8);
    expect(settledAt - 100).toBeLessThanOrEqual(16);
    expect(Math.max(...trace.replicas)).toBeLessThanOrEqual(14);
    expect(trace.replicas.at(-1)).toBeGreaterThanOrEqual(12);
    expect(flaps(trace, 60)).toBe(0);
  });

  it('a one-second spike scales up at once and back down only after the window', () => {
    const trace = simulate(400, (t) => (t === 100 ? 200 : 40), { noise: 0.05 });
    const up = trace.changes.filter((c) => c.to > c.from);
    const down = trace.changes.filter((c) => c.to < c.from);
    expect(up).toHaveLength(1);
    expect(up[0]!.t).toBe(100);
    expect(down[0]!.t - 100).toBeGreaterThanOrEqual(60);
    // Back to what the load needs, with the scale-down headroom: 40 / (10 x 0.9) -> 5 pods.
    expect(trace.replicas.at(-1)).toBe(5);
    expect(flaps(trace, 60)).toBe(0);
  });

  it('a load drop scales down after the window, in a few bounded steps, never below the need', () => {
    const trace = simulate(400, (t) => (t < 100 ? 120 : 40), { start: 12, noise: 0.1 });
    const downs = trace.changes.filter((c) => c.to < c.from);
    // The window counts from the last high recommendation (t = 99, or later while smoothing decays).
    expect(downs[0]!.t - 99).toBeGreaterThanOrEqual(60);
    // At most half per 15 s: 12 -> 6, then 6 -> 5 one period later.
    expect(downs.map((c) => c.to)).toEqual([6, 5]);
    expect(downs[1]!.t - downs[0]!.t).toBe(15);
    expect(Math.min(...trace.replicas)).toBeGreaterThanOrEqual(4);
    expect(trace.changes.some((c) => c.to > c.from)).toBe(false);
  });
});

const report: AppLoad = {
  id: 'app',
  url: 'http://127.0.0.1:8101',
  inflight: 0,
  rps: 0,
  eventLoopDelayMs: 1,
  eventLoopUtilization: 0.2,
  p95LatencyMs: 50,
  activeMembers: 5,
  maxConcurrency: 64,
  draining: false,
  at: new Date(0).toISOString(),
};

/** Small deterministic PRNG so the simulated noise is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
