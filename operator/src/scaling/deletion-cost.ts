import type { PodLoad } from './decision';

/**
 * `controller.kubernetes.io/pod-deletion-cost`: on a scale-down the ReplicaSet removes
 * ready pods with the lowest cost first, so the operator rates each APP pod by what removing
 * it would disturb. Members count most (each one would reconnect elsewhere; their sessions live
 * in Redis, so they lose nothing but a little latency), requests in flight break ties.
 * Pods without a fresh report cost 0: nothing is known to be lost with them.
 */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

const MEMBER_WEIGHT = 100;
const MAX_COST = 2_147_483_647;

export function podDeletionCost(load: PodLoad | undefined): number {
  if (!load || load.draining) return 0;
  return Math.min(MAX_COST, Math.round(load.activeMembers * MEMBER_WEIGHT + load.inflight));
}

export interface PodCostPatch {
  pod: string;
  cost: number;
}

/** The pods whose annotation differs from their current cost (pods are only patched when needed). */
export function deletionCostPatches(
  pods: ReadonlyArray<{ name: string; annotations?: Record<string, string> }>,
  loads: ReadonlyMap<string, PodLoad>,
): PodCostPatch[] {
  const patches: PodCostPatch[] = [];
  for (const pod of pods) {
    const cost = podDeletionCost(loads.get(pod.name));
    if (pod.annotations?.[POD_DELETION_COST] !== String(cost)) patches.push({ pod: pod.name, cost });
  }
  return patches;
}
