import type { ScalingRules } from '../crd/types';

/**
 * Scaling policies per period, as the HPA v2 `behavior` (pure, no clock): a policy bounds how far
 * the replicas may move within its last `periodSeconds`, counting the scale events already made
 * in that period, so a series of one-second decisions cannot add up to more than the policy
 * allows. `selectPolicy: Max` picks the policy allowing the biggest change, `Min` the smallest,
 * `Disabled` forbids changes in that direction. The formulas are the HPA's:
 * up:   Pods → start + value,  Percent → ceil(start × (1 + value/100));
 * down: Pods → start − value,  Percent → floor(start × (1 − value/100));
 * where start = current − the replicas added within the period (up), or current + those removed
 * within it (down). Only changes in the same direction count: a policy says "at most this many
 * added (removed) per period"; going back the other way is the stabilization windows' business.
 */
export interface ScaleEvent {
  /** Epoch milliseconds. */
  at: number;
  /** Replicas added (> 0) or removed (< 0). */
  change: number;
}

function changedWithin(events: readonly ScaleEvent[], now: number, periodSeconds: number, direction: 1 | -1): number {
  let sum = 0;
  for (const e of events) {
    if (now - e.at < periodSeconds * 1000 && Math.sign(e.change) === direction) sum += Math.abs(e.change);
  }
  return sum;
}

/** The most replicas the scale-up rules allow now (never below current). */
export function scaleUpLimit(current: number, events: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled' || rules.policies.length === 0) return current;
  const proposals = rules.policies.map((p) => {
    const start = current - changedWithin(events, now, p.periodSeconds, 1);
    return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
  });
  const limit = rules.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
  return Math.max(current, limit);
}

/** The fewest replicas the scale-down rules allow now (never above current). */
export function scaleDownLimit(current: number, events: readonly ScaleEvent[], rules: ScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled' || rules.policies.length === 0) return current;
  const proposals = rules.policies.map((p) => {
    const start = current + changedWithin(events, now, p.periodSeconds, -1);
    return p.type === 'Pods' ? start - p.value : Math.floor(start * (1 - p.value / 100));
  });
  // For scaling down, the biggest change is the lowest count.
  const limit = rules.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
  return Math.max(0, Math.min(current, limit));
}

/** The events still inside some policy's period; older ones can never bound a decision again. */
export function pruneEvents(events: readonly ScaleEvent[], up: ScalingRules, down: ScalingRules, now: number): ScaleEvent[] {
  const longest = Math.max(0, ...up.policies.map((p) => p.periodSeconds), ...down.policies.map((p) => p.periodSeconds)) * 1000;
  return events.filter((e) => now - e.at < longest);
}

/** The events after a scale from `from` to `to` was made at `now`. */
export function withScale(events: readonly ScaleEvent[], now: number, from: number, to: number): ScaleEvent[] {
  return to === from ? [...events] : [...events, { at: now, change: to - from }];
}
