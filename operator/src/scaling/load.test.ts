import { signMembership, SUBJECTS, type AppLoad } from '@evshare/kit';
import { acceptLoadReport, createLoadStore, isSignificantChange, loadKey } from './load';

const base: AppLoad = {
  id: 'i1',
  url: 'http://10.0.0.1:8080',
  pod: 'app-1',
  inflight: 4,
  rps: 100,
  eventLoopDelayMs: 2,
  eventLoopUtilization: 0.3,
  p95LatencyMs: 40,
  activeMembers: 12,
  maxConcurrency: 64,
  draining: false,
  at: '2026-01-01T00:00:00.000Z',
};

describe('load store', () => {
  it('keys reports by pod name in Kubernetes and by instance id elsewhere', () => {
    expect(loadKey(base)).toBe('app-1');
    expect(loadKey({ id: 'i9' })).toBe('i9');
  });

  it('keeps the latest report per pod and returns the fresh ones asked for', () => {
    const store = createLoadStore(5_000);
    store.record(base, 1_000);
    store.record({ ...base, inflight: 9 }, 2_000);
    store.record({ ...base, pod: 'app-2', inflight: 1 }, 2_000);
    store.record({ ...base, pod: 'other', inflight: 50 }, 2_000);
    expect(store.loadsOf(['app-1', 'app-2', 'missing'], 2_500).map((l) => [l.pod, l.inflight])).toEqual([
      ['app-1', 9],
      ['app-2', 1],
    ]);
  });

  it('drops reports older than the staleness limit', () => {
    const store = createLoadStore(5_000);
    store.record(base, 1_000);
    expect(store.loadsOf(['app-1'], 6_000)).toHaveLength(1);
    expect(store.loadsOf(['app-1'], 6_001)).toHaveLength(0);
    store.prune(6_001);
    expect(store.size).toBe(0);
  });

  it('reports the previous fresh load with each new one', () => {
    const store = createLoadStore(5_000);
    expect(store.record(base, 1_000).before).toBeUndefined();
    const { before, after } = store.record({ ...base, inflight: 7, draining: true }, 2_000);
    expect(before?.inflight).toBe(4);
    expect(after).toEqual({ pod: 'app-1', inflight: 7, p95LatencyMs: 40, eventLoopUtilization: 0.3, activeMembers: 12, draining: true });
    // After a gap longer than the staleness limit the old report does not count as "before".
    expect(store.record(base, 10_000).before).toBeUndefined();
  });
});

describe('isSignificantChange', () => {
  const load = { pod: 'p', inflight: 10, p95LatencyMs: 100, eventLoopUtilization: 0.5, activeMembers: 1, draining: false };
  it.each([
    ['a new pod', undefined, load, true],
    ['the same load', load, load, false],
    ['inflight within 10% of the target', load, { ...load, inflight: 10.9 }, false],
    ['inflight beyond 10% of the target', load, { ...load, inflight: 11.5 }, true],
    ['p95 beyond 10% of its target', load, { ...load, p95LatencyMs: 130 }, true],
    ['draining starts', load, { ...load, draining: true }, true],
  ])('%s', (_name, before, after, expected) => {
    expect(isSignificantChange(before, after, { inflightPerPod: 10, p95LatencyMs: 200 })).toBe(expected);
  });

  it('ignores metrics without a target', () => {
    expect(isSignificantChange(load, { ...load, eventLoopUtilization: 1 }, { inflightPerPod: 10 })).toBe(false);
  });
});

describe('acceptLoadReport (rogue load reports)', () => {
  const KEY = 'm'.repeat(32);
  const NOW = Date.parse('2026-12-02T03:00:00Z');
  const subject = SUBJECTS.appLoad(base.id);
  const signed = signMembership(subject, base, KEY, NOW);
  it.each<[string, unknown, string | undefined, string]>([
    ['an unsigned report without a key', base, undefined, 'report'],
    ['a signed report with the key', signed, KEY, 'report'],
    ['an unsigned report with a key', base, KEY, 'unsigned'],
    ['a report signed with another key', signMembership(subject, base, 'x'.repeat(32), NOW), KEY, 'unsigned'],
    ['a signed report with a changed in-flight count', { ...signed, inflight: 9_999 }, KEY, 'unsigned'],
    ["another instance's signed report on this subject", signMembership(SUBJECTS.appLoad('other'), base, KEY, NOW), KEY, 'unsigned'],
    ['a malformed report without a key', { id: base.id }, undefined, 'malformed'],
  ])('%s', (_name, data, key, outcome) => {
    const accepted = acceptLoadReport(subject, data, key, NOW);
    expect('report' in accepted ? 'report' : accepted.ignored).toBe(outcome);
  });
});
