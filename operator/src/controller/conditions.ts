import type { Condition, ConditionType } from '../crd/types';

export type ConditionInput = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/**
 * Sets a condition the Kubernetes way: lastTransitionTime moves only when the status changes,
 * so `kubectl describe` shows since when a group has been Ready (or Degraded), not when the
 * operator last looked. Order is kept stable for readable output.
 */
export function setConditions(
  current: readonly Condition[] | undefined,
  updates: readonly ConditionInput[],
  now: string,
  generation: number | undefined,
): Condition[] {
  const byType = new Map<ConditionType, Condition>((current ?? []).map((c) => [c.type, c]));
  for (const update of updates) {
    const previous = byType.get(update.type);
    byType.set(update.type, {
      ...update,
      lastTransitionTime: previous && previous.status === update.status ? previous.lastTransitionTime : now,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    });
  }
  const order: ConditionType[] = ['Ready', 'ScalingActive', 'ScalingLimited', 'Degraded'];
  return order.flatMap((type) => byType.get(type) ?? []);
}
