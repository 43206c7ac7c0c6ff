import type { FallbackSpec, LoadTarget, ScalingBehavior } from '../crd/types';
import { pruneEvents, scaleDownLimit, scaleUpLimit, withScale, type ScaleEvent } from './policies';

/**
 * The scaling decision, pure (no clock, no I/O): the operator and the local actuator of
 * `make run` both call it once per evaluation and keep the returned history for the next call.
 *
 * 1. Per target metric, the HPA formula: ratio = mean load per reporting pod / target;
 *    within the tolerance (10%) nothing changes; above it, ceil(pods x ratio). Below it,
 *    ceil(pods x ratio / (1 - tolerance)): a scale-down keeps the tolerance as headroom, so a
 *    steady, noisy load does not cross the scale-up threshold right after (no flapping).
 *    Pods that should exist but do not report count as idle when scaling up and as exactly on
 *    target when scaling down, so a slow starter never causes a scale-down and never inflates
 *    a scale-up. The largest recommendation over the metrics wins.
 * 2. Stabilization (as the HPA's behavior): up to the smallest recommendation within the
 *    scale-up window (0 s by default: at once), down only to the largest recommendation within
 *    the scale-down window (60 s by default). An empty history counts as "current replicas
 *    recommended now", so a restarted or newly elected operator does not scale down at once.
 * 3. Scaling policies per period (`./policies.ts`, as the HPA v2 behavior): the scale events of
 *    each policy's last periodSeconds count against it, so one-second decisions cannot add up
 *    to more than a policy allows.
 * 4. Bounds: minReplicas..maxReplicas always win.
 * Without reports, a fallback (as KEDA's) sets its replica count once the ready pods have been
 * silent for its afterSeconds, bypassing windows and policies (they need load to mean anything).
 */
export const DEFAULT_TOLERANCE = 0.1;

export interface PodLoad {
  pod: string;
  inflight: number;
  p95LatencyMs: number;
  eventLoopUtilization: number;
  activeMembers: number;
  /** A draining pod is on its way out; its load says nothing about the pods that stay. */
  draining: boolean;
}

export interface Recommendation {
  /** Epoch milliseconds. */
  at: number;
  replicas: number;
}

export interface ScalingInput {
  /** The Deployment's spec.replicas. */
  currentReplicas: number;
  /** The latest fresh report of each pod of the group. */
  loads: readonly PodLoad[];
  target: LoadTarget;
  behavior: ScalingBehavior;
  minReplicas: number;
  maxReplicas: number;
  /** The history returned by the previous decision ([] the first time). */
  history: readonly Recommendation[];
  /** The scale events returned by the previous decision ([] the first time). */
  events?: readonly ScaleEvent[];
  fallback?: FallbackSpec | null;
  /** How long the group's ready pods have sent no load report (0 while any reports). */
  silentForMs?: number;
  /** Epoch milliseconds. */
  now: number;
  tolerance?: number;
}

export type MetricName = 'inflight' | 'p95LatencyMs' | 'eventLoopUtilization';

export interface MetricReading {
  metric: MetricName;
  perPod: number;
  target: number;
  ratio: number;
  replicas: number;
}

export type ScalingLimit = 'minReplicas' | 'maxReplicas' | 'scaleUpPolicy' | 'scaleDownPolicy';

export type ScalingReason =
  | 'ScaleUp'
  | 'ScaleDown'
  | 'WithinTolerance'
  | 'ScaleUpStabilizing'
  | 'ScaleDownStabilizing'
  | 'AtMaxReplicas'
  | 'AtMinReplicas'
  | 'NoLoadReports'
  | 'Fallback';

export interface ScalingDecision {
  desiredReplicas: number;
  /** What the load alone asks for, before windows, steps and bounds. */
  recommendedReplicas: number;
  reason: ScalingReason;
  message: string;
  limitedBy: ScalingLimit | null;
  metrics: MetricReading[];
  reportingPods: number;
  history: Recommendation[];
  /** The scale events still inside a policy period, with this decision's change if any. */
  events: ScaleEvent[];
}

const METRICS: ReadonlyArray<{ metric: MetricName; target: (t: LoadTarget) => number | undefined; value: (l: PodLoad) => number }> = [
  { metric: 'inflight', target: (t) => t.inflightPerPod, value: (l) => l.inflight },
  { metric: 'p95LatencyMs', target: (t) => t.p95LatencyMs, value: (l) => l.p95LatencyMs },
  { metric: 'eventLoopUtilization', target: (t) => t.eventLoopUtilization, value: (l) => l.eventLoopUtilization },
];

/** Floating-point noise (11 / 10 - 1 > 0.1) must neither leave the tolerance nor add a pod. */
const EPSILON = 1e-9;

export function decideReplicas(input: ScalingInput): ScalingDecision {
  const { currentReplicas: current, behavior, minReplicas, maxReplicas, now } = input;
  const tolerance = input.tolerance ?? DEFAULT_TOLERANCE;
  const reporting = input.loads.filter((l) => !l.draining);
  const metrics = reporting.length === 0 ? [] : readMetrics(reporting, input.target, current, tolerance);
  const recommended = metrics.length === 0 ? current : Math.max(...metrics.map((m) => m.replicas));

  const upMs = behavior.scaleUp.stabilizationWindowSeconds * 1000;
  const downMs = behavior.scaleDown.stabilizationWindowSeconds * 1000;
  const prior = input.history.length > 0 ? input.history : [{ at: now, replicas: current }];
  const kept = prior.filter((r) => now - r.at < Math.max(upMs, downMs));
  let upBound = recommended;
  let downBound = recommended;
  for (const r of kept) {
    if (now - r.at < upMs) upBound = Math.min(upBound, r.replicas);
    if (now - r.at < downMs) downBound = Math.max(downBound, r.replicas);
  }
  let stabilized = current;
  if (stabilized < upBound) stabilized = upBound;
  if (stabilized > downBound) stabilized = downBound;
  // Without reports there is no recommendation to remember; the bounds below still apply.
  const history = metrics.length === 0 ? kept : [...kept, { at: now, replicas: recommended }];

  const prunedEvents = pruneEvents(input.events ?? [], behavior.scaleUp, behavior.scaleDown, now);
  const fallback = input.fallback;
  const fallingBack = metrics.length === 0 && !!fallback && (input.silentForMs ?? 0) >= fallback.afterSeconds * 1000;
  let desired = fallingBack ? fallback.replicas : stabilized;
  let limitedBy: ScalingLimit | null = null;
  if (!fallingBack && desired > current) {
    const limit = scaleUpLimit(current, prunedEvents, behavior.scaleUp, now);
    if (desired > limit) {
      desired = limit;
      limitedBy = 'scaleUpPolicy';
    }
  } else if (!fallingBack && desired < current) {
    const limit = scaleDownLimit(current, prunedEvents, behavior.scaleDown, now);
    if (desired < limit) {
      desired = limit;
      limitedBy = 'scaleDownPolicy';
    }
  }
  if (desired > maxReplicas || (recommended > maxReplicas && desired === maxReplicas)) {
    desired = maxReplicas;
    limitedBy = 'maxReplicas';
  } else if (desired < minReplicas || (metrics.length > 0 && recommended < minReplicas && desired === minReplicas)) {
    desired = minReplicas;
    limitedBy = 'minReplicas';
  }

  const reason = fallingBack && desired !== current ? 'Fallback' : reasonFor(current, desired, recommended, limitedBy, metrics.length > 0);
  return {
    desiredReplicas: desired,
    recommendedReplicas: recommended,
    reason,
    message: messageFor(reason, current, desired, recommended, limitedBy, metrics, reporting.length, behavior, fallback?.afterSeconds ?? 0),
    limitedBy,
    metrics,
    reportingPods: reporting.length,
    history,
    events: withScale(prunedEvents, now, current, desired),
  };
}

function readMetrics(reporting: readonly PodLoad[], target: LoadTarget, current: number, tolerance: number): MetricReading[] {
  const readings: MetricReading[] = [];
  for (const { metric, target: targetOf, value } of METRICS) {
    const goal = targetOf(target);
    if (goal === undefined || goal <= 0) continue;
    const sum = reporting.reduce((s, l) => s + value(l), 0);
    const perPod = sum / reporting.length;
    const ratio = perPod / goal;
    const pods = Math.max(reporting.length, current);
    const missing = pods - reporting.length;
    let replicas = current;
    if (ratio > 1 + tolerance + EPSILON) {
      const adjusted = sum / (goal * pods);
      if (adjusted > 1 + tolerance + EPSILON) replicas = Math.max(0, Math.ceil(adjusted * pods - EPSILON));
    } else if (ratio < 1 - tolerance - EPSILON) {
      const adjusted = (sum + missing * goal) / (goal * pods);
      // Hysteresis: come down only as far as leaves the load at (1 - tolerance) x target, so the
      // usual noise of the next reports cannot cross the scale-up threshold at once.
      if (adjusted < 1 - tolerance - EPSILON) replicas = Math.max(0, Math.ceil((adjusted * pods) / (1 - tolerance) - EPSILON));
    }
    readings.push({ metric, perPod, target: goal, ratio, replicas });
  }
  return readings;
}

function reasonFor(current: number, desired: number, recommended: number, limitedBy: ScalingLimit | null, hasReports: boolean): ScalingReason {
  if (desired > current) return 'ScaleUp';
  if (desired < current) return 'ScaleDown';
  if (limitedBy === 'maxReplicas') return 'AtMaxReplicas';
  if (limitedBy === 'minReplicas') return 'AtMinReplicas';
  if (!hasReports) return 'NoLoadReports';
  if (recommended > current) return 'ScaleUpStabilizing';
  if (recommended < current) return 'ScaleDownStabilizing';
  return 'WithinTolerance';
}

function messageFor(
  reason: ScalingReason,
  current: number,
  desired: number,
  recommended: number,
  limitedBy: ScalingLimit | null,
  metrics: MetricReading[],
  reportingPods: number,
  behavior: ScalingBehavior,
  fallbackAfter: number,
): string {
  if (reason === 'Fallback')
    return `no fresh load reports for ${fallbackAfter}s or more; fallback: ${current} -> ${desired} replicas${limitedBy ? ` (limited by ${limitedBy})` : ''}`;
  if (metrics.length === 0) {
    return reason === 'NoLoadReports'
      ? `no fresh load reports; keeping ${desired} replicas`
      : `no fresh load reports; ${current} -> ${desired} replicas (limited by ${limitedBy})`;
  }
  const driver = metrics.reduce((a, b) => (b.replicas > a.replicas || (b.replicas === a.replicas && b.ratio > a.ratio) ? b : a));
  const load = `${driver.metric} ${round(driver.perPod)}/pod vs target ${round(driver.target)} (${reportingPods} reporting)`;
  const limit = limitedBy ? `; limited by ${limitedBy}` : '';
  switch (reason) {
    case 'ScaleUp':
    case 'ScaleDown':
      return `${load}: ${current} -> ${desired} replicas (load asks for ${recommended}${limit})`;
    case 'ScaleDownStabilizing':
      return `${load}: load asks for ${recommended}, holding ${current} within the ${behavior.scaleDown.stabilizationWindowSeconds}s scale-down window`;
    case 'ScaleUpStabilizing':
      return `${load}: load asks for ${recommended}, holding ${current} within the ${behavior.scaleUp.stabilizationWindowSeconds}s scale-up window`;
    case 'AtMaxReplicas':
    case 'AtMinReplicas':
      return `${load}: load asks for ${recommended}, staying at ${desired}${limit}`;
    default:
      return `${load}: within tolerance, keeping ${current} replicas`;
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
