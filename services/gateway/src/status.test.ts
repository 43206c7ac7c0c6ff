import { LB_EVENTS_KEPT, mergeStatuses, type LbInstanceStatus, type LbStatus } from './status';

const instance = (id: string, over: Partial<LbInstanceStatus> = {}): LbInstanceStatus => ({
  id,
  url: `http://${id}`,
  source: 'announce',
  health: 'up',
  available: true,
  reason: 'announced',
  since: '2026-12-04T10:00:00.000Z',
  inflight: 0,
  foreignLoad: 0,
  maxConcurrency: 100,
  reported: null,
  lastReportAgeMs: 100,
  ringShare: 0.5,
  served: 0,
  errors: 0,
  ...over,
});

const status = (instances: LbInstanceStatus[], over: Partial<LbStatus> = {}): LbStatus => ({
  balancer: { algorithm: 'consistent-hash-bounded-load', balanceFactor: 1.25, minLoad: 8, vnodes: 160, trustProxy: 'false', panic: false },
  instances,
  totals: { instances: instances.length, available: instances.length, inflight: 0, served: 0, retries: 1, ejections: 0, rejected: 2 },
  queue: { length: 3, clients: 1, max: 1024, perClient: 16, timeoutMs: 5000, drainPerSecond: 50, expectedWaitMs: 60 },
  upstreams: {
    auth: [{ id: 'auth-1', url: 'http://auth-1', health: 'up', reason: 'ok', inflight: 1, served: 10, errors: 0 }],
    push: [],
    charging: [],
    web: [],
  },
  events: [],
  ...over,
});

describe('mergeStatuses', () => {
  it('sums the counts per instance and keeps the shared view of the first worker', () => {
    const merged = mergeStatuses([
      status([instance('a', { inflight: 2, served: 10, errors: 1 }), instance('b', { inflight: 1, served: 5 })]),
      status([instance('a', { inflight: 3, served: 7, health: 'down', available: false }), instance('b', { served: 1 })]),
    ]);
    const a = merged.instances.find((i) => i.id === 'a')!;
    expect(a).toMatchObject({ inflight: 5, served: 17, errors: 1, health: 'up', available: true });
    expect(merged.totals).toEqual({ instances: 2, available: 2, inflight: 6, served: 23, retries: 2, ejections: 0, rejected: 4 });
    expect(merged.queue).toEqual({ length: 6, clients: 2, max: 2048, perClient: 16, timeoutMs: 5000, drainPerSecond: 100, expectedWaitMs: 60 });
    expect(merged.upstreams.auth).toEqual([{ id: 'auth-1', url: 'http://auth-1', health: 'up', reason: 'ok', inflight: 2, served: 20, errors: 0 }]);
  });

  it.each([
    // [worker views of one instance as [inflight, foreignLoad]], load of other gateways
    { views: [[2, 3] as const, [3, 2] as const], others: 0 },
    { views: [[2, 13] as const, [3, 12] as const], others: 10 },
    { views: [[0, 0] as const], others: 0 },
    { views: [[4, 9] as const], others: 9 },
    // A stale estimate below the sibling's count is floored, not negative.
    { views: [[1, 0] as const, [5, 0] as const], others: 0 },
  ])('takes the workers themselves out of the foreign load: $views -> $others', ({ views, others }) => {
    const merged = mergeStatuses(views.map(([inflight, foreignLoad]) => status([instance('a', { inflight, foreignLoad })])));
    expect(merged.instances[0]!.foreignLoad).toBe(others);
  });

  const drain = (drainPerSecond: number | null, expectedWaitMs: number | null) =>
    status([], { queue: { ...status([]).queue, drainPerSecond, expectedWaitMs } });
  it.each([
    { views: [drain(null, null), drain(null, null)], merged: { drainPerSecond: null, expectedWaitMs: null } },
    { views: [drain(null, null), drain(40.5, 100)], merged: { drainPerSecond: 40.5, expectedWaitMs: 100 } },
    { views: [drain(20, 300), drain(40, 100)], merged: { drainPerSecond: 60, expectedWaitMs: 300 } },
    { views: [drain(0, null), drain(40, 100)], merged: { drainPerSecond: 40, expectedWaitMs: null } },
  ])('adds the workers drain rates and keeps the longest wait: $merged', ({ views, merged }) => {
    expect(mergeStatuses(views).queue).toMatchObject(merged);
  });

  it('shows an instance only one worker knows, and panic when any worker is in it', () => {
    const merged = mergeStatuses([
      status([instance('a')]),
      status([instance('a'), instance('c', { served: 4 })], { balancer: { ...status([]).balancer, panic: true } }),
    ]);
    expect(merged.instances.map((i) => i.id)).toEqual(['a', 'c']);
    expect(merged.balancer.panic).toBe(true);
  });

  it('lists each membership decision once, newest first, at most LB_EVENTS_KEPT', () => {
    const event = (second: number, instance = 'a') => ({
      at: `2026-12-04T10:00:${String(second).padStart(2, '0')}.${second}00Z`,
      instance,
      event: 'joined' as const,
      reason: 'announced',
    });
    const one = status([], { events: [event(3), event(1)] });
    const two = status([], { events: [event(3), event(2, 'b'), event(1)] });
    expect(mergeStatuses([one, two]).events.map((e) => `${e.instance}${e.at.slice(17, 19)}`)).toEqual(['a03', 'b02', 'a01']);
    const many = status([], { events: Array.from({ length: 60 }, (_, i) => event(i % 60, `i${i}`)) });
    expect(mergeStatuses([many, many]).events).toHaveLength(LB_EVENTS_KEPT);
  });

  it('needs at least one status', () => {
    expect(() => mergeStatuses([])).toThrow();
  });
});
