import { countActive, createLoadTracker, quantile } from './load';

describe('quantile', () => {
  it.each([
    [[], 0.95, 0],
    [[5], 0.95, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 10],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5, 5],
    [[10, 1, 5], 0.5, 5],
  ])('%j p%s = %s', (samples, p, expected) => {
    expect(quantile(samples, p)).toBe(expected);
  });
});

describe('countActive', () => {
  it('counts members inside the window and forgets the rest', () => {
    const seen = new Map([
      ['a', 1_000],
      ['b', 50_000],
      ['c', 59_000],
    ]);
    expect(countActive(seen, 70_000, 30_000)).toBe(2);
    expect([...seen.keys()]).toEqual(['b', 'c']);
  });
});

describe('createLoadTracker', () => {
  it('summarizes one interval and starts the next', () => {
    const tracker = createLoadTracker();
    tracker.begin();
    tracker.begin();
    tracker.end(4);
    tracker.seen('m1');
    tracker.seen('m1');
    tracker.seen('m2');
    const first = tracker.report();
    expect(first).toMatchObject({ inflight: 1, p95LatencyMs: 4, activeMembers: 2 });
    expect(first.rps).toBeGreaterThan(0);
    const second = tracker.report();
    expect(second).toMatchObject({ inflight: 1, rps: 0, p95LatencyMs: 0, activeMembers: 2 });
    tracker.stop();
  });
});
