import type { PodLoad } from './decision';
import { deletionCostPatches, podDeletionCost, POD_DELETION_COST } from './deletion-cost';

const load = (pod: string, activeMembers: number, inflight: number, draining = false): PodLoad => ({
  pod,
  activeMembers,
  inflight,
  draining,
  p95LatencyMs: 10,
  eventLoopUtilization: 0.1,
});

describe('pod deletion cost', () => {
  it('weighs members above requests in flight', () => {
    expect(podDeletionCost(load('a', 3, 7))).toBe(307);
    expect(podDeletionCost(load('a', 1, 99))).toBeLessThan(podDeletionCost(load('b', 2, 0)));
  });

  it('costs nothing for a pod without a report or a draining pod', () => {
    expect(podDeletionCost(undefined)).toBe(0);
    expect(podDeletionCost(load('a', 50, 5, true))).toBe(0);
  });

  it('stays within int32', () => {
    expect(podDeletionCost(load('a', 1e9, 0))).toBe(2_147_483_647);
  });

  it('patches only pods whose annotation is out of date', () => {
    const loads = new Map([
      ['a', load('a', 1, 2)],
      ['b', load('b', 0, 0)],
    ]);
    const pods = [{ name: 'a', annotations: { [POD_DELETION_COST]: '102' } }, { name: 'b', annotations: { [POD_DELETION_COST]: '5' } }, { name: 'c' }];
    expect(deletionCostPatches(pods, loads)).toEqual([
      { pod: 'b', cost: 0 },
      { pod: 'c', cost: 0 },
    ]);
  });
});
