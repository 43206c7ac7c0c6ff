import type { ScalingRules } from '../crd/types';
import { pruneEvents, scaleDownLimit, scaleUpLimit, withScale, type ScaleEvent } from './policies';

const NOW = 1_000_000;
const ago = (seconds: number, change: number): ScaleEvent => ({ at: NOW - seconds * 1000, change });
const rules = (selectPolicy: ScalingRules['selectPolicy'], ...policies: ScalingRules['policies']): ScalingRules => ({
  stabilizationWindowSeconds: 0,
  selectPolicy,
  policies,
});
const pods = (value: number, periodSeconds = 15) => ({ type: 'Pods' as const, value, periodSeconds });
const percent = (value: number, periodSeconds = 15) => ({ type: 'Percent' as const, value, periodSeconds });

describe('scaleUpLimit', () => {
  it.each<[string, number, ScaleEvent[], ScalingRules, number]>([
    ['Pods adds its value to the period start', 4, [], rules('Max', pods(4)), 8],
    ['Percent multiplies the period start (rounded up)', 3, [], rules('Max', percent(50)), 5],
    ['Max picks the policy allowing more (percent at 10 pods)', 10, [], rules('Max', pods(4), percent(100)), 20],
    ['Max picks the policy allowing more (pods at 2 pods)', 2, [], rules('Max', pods(4), percent(100)), 6],
    ['Min picks the policy allowing less', 10, [], rules('Min', pods(4), percent(100)), 14],
    ['Disabled never scales up', 4, [], rules('Disabled', pods(4)), 4],
    ['no policy never scales up', 4, [], rules('Max'), 4],
    ['an earlier scale-up inside the period counts against it', 8, [ago(5, 4)], rules('Max', pods(4)), 8],
    ['two earlier scale-ups add up', 8, [ago(10, 2), ago(3, 2)], rules('Max', pods(5)), 9],
    ['a scale-up older than the period no longer counts', 8, [ago(16, 4)], rules('Max', pods(4)), 12],
    ['exactly one period ago is outside it', 8, [ago(15, 4)], rules('Max', pods(4)), 12],
    ['each policy counts its own period', 8, [ago(20, 4)], rules('Min', pods(4, 15), pods(6, 60)), 10],
    ['a scale-down in the period does not count against scaling up', 4, [ago(5, -2)], rules('Max', pods(1)), 5],
    ['never below the current replicas', 10, [ago(1, 8)], rules('Max', pods(1)), 10],
  ])('%s', (_name, current, events, r, expected) => {
    expect(scaleUpLimit(current, events, r, NOW)).toBe(expected);
  });
});

describe('scaleDownLimit', () => {
  it.each<[string, number, ScaleEvent[], ScalingRules, number]>([
    ['Pods removes its value from the period start', 6, [], rules('Max', pods(1)), 5],
    ['Percent removes a share (rounded down, so at least the share)', 5, [], rules('Max', percent(50)), 2],
    ['Max picks the policy allowing the bigger removal', 12, [], rules('Max', pods(1), percent(50)), 6],
    ['Max: a small group still loses a pod per period', 3, [], rules('Max', pods(1), percent(10)), 2],
    ['Min picks the policy allowing the smaller removal', 12, [], rules('Min', pods(1), percent(50)), 11],
    ['Disabled never scales down', 6, [], rules('Disabled', pods(4)), 6],
    ['100 percent may go to zero (the bounds decide)', 6, [], rules('Max', percent(100)), 0],
    ['an earlier scale-down inside the period counts against it', 6, [ago(5, -6)], rules('Max', percent(50)), 6],
    ['a scale-down older than the period no longer counts', 6, [ago(20, -6)], rules('Max', percent(50)), 3],
    ['a scale-up in the period does not count against scaling down', 8, [ago(5, 4)], rules('Max', pods(2)), 6],
    ['never below zero', 1, [], rules('Max', pods(5)), 0],
  ])('%s', (_name, current, events, r, expected) => {
    expect(scaleDownLimit(current, events, r, NOW)).toBe(expected);
  });
});

describe('scale events', () => {
  it('keeps only what the longest period can still see', () => {
    const events = [ago(100, 1), ago(59, -1), ago(10, 2)];
    expect(pruneEvents(events, rules('Max', pods(1, 15)), rules('Max', pods(1, 60)), NOW)).toEqual([ago(59, -1), ago(10, 2)]);
    expect(pruneEvents(events, rules('Max'), rules('Max'), NOW)).toEqual([]);
  });

  it('records a change, and nothing for none', () => {
    expect(withScale([], NOW, 4, 6)).toEqual([{ at: NOW, change: 2 }]);
    expect(withScale([ago(1, 2)], NOW, 6, 3)).toEqual([ago(1, 2), { at: NOW, change: -3 }]);
    expect(withScale([], NOW, 4, 4)).toEqual([]);
  });
});
