import type { AppLoad } from '@evshare/kit';
import { AppCluster, type MembershipChange } from './cluster';
import { hash32 } from './hash';
import { ALL_BUSY } from './ring';
import { Upstream } from './upstream';

const policy = { fall: 3, rise: 2, ejectAfter5xx: 5 };

function cluster(overrides: { useReportedLoad?: boolean; memberTimeoutMs?: number } = {}) {
  const changes: string[] = [];
  const c = new AppCluster({
    balanceFactor: 1.25,
    minBound: 0,
    vnodes: 100,
    useReportedLoad: overrides.useReportedLoad ?? true,
    memberTimeoutMs: overrides.memberTimeoutMs ?? 5000,
    create: (id, url, source, capacity, now) => new Upstream({ pool: 'app', id, url, source, capacity, now, health: policy }),
    onChange: (change: MembershipChange, member, reason) => changes.push(`${change} ${member.id} (${reason})`),
  });
  return { c, changes };
}

const announcement = (id: string, port: number, maxConcurrency = 50) => ({
  id,
  url: `http://127.0.0.1:${port}`,
  maxConcurrency,
  startedAt: '2026-01-01T00:00:00Z',
});

const load = (id: string, port: number, over: Partial<AppLoad> = {}): AppLoad => ({
  id,
  url: `http://127.0.0.1:${port}`,
  inflight: 0,
  rps: 0,
  eventLoopDelayMs: 1,
  eventLoopUtilization: 0.1,
  p95LatencyMs: 1,
  activeMembers: 0,
  maxConcurrency: 50,
  draining: false,
  at: '2026-01-01T00:00:00Z',
  ...over,
});

describe('AppCluster membership', () => {
  it('adds members from announcements and from reports of unknown instances, once each', () => {
    const { c, changes } = cluster();
    c.announce(announcement('a', 1), 0);
    c.announce(announcement('a', 1), 10);
    c.report(load('b', 2, { maxConcurrency: 7 }), 20);
    c.report(load('b', 2), 30);
    expect(c.members.map((m) => [m.id, m.source, m.capacity])).toEqual([
      ['a', 'announce', 50],
      ['b', 'report', 50],
    ]);
    expect(changes).toEqual(['added a (announced)', 'added b (reported its load)']);
  });

  it('does not add an unknown instance that reports it is draining', () => {
    const { c } = cluster();
    c.report(load('a', 1, { draining: true }), 0);
    expect(c.members).toHaveLength(0);
  });

  it('takes a draining instance out of the choice and puts it back when it says so', () => {
    const { c, changes } = cluster();
    c.announce(announcement('a', 1), 0);
    c.report(load('a', 1, { draining: true }), 10);
    expect(c.members[0]!.available).toBe(false);
    expect(c.pick(hash32('x'))).toBeUndefined();
    c.report(load('a', 1), 20);
    expect(c.members[0]!.available).toBe(true);
    expect(changes.slice(1)).toEqual(['draining a (reported draining)', 'resumed a (reported ready)']);
  });

  it('removes a withdrawn instance and ignores its straggling reports until it announces again', () => {
    const { c } = cluster();
    c.announce(announcement('a', 1), 0);
    c.withdraw({ id: 'a', reason: 'SIGTERM' }, 10);
    expect(c.members).toHaveLength(0);
    c.report(load('a', 1), 20);
    expect(c.members).toHaveLength(0);
    c.announce(announcement('a', 1), 30);
    expect(c.members).toHaveLength(1);
  });

  it('keeps a static instance through a withdrawal (down), and lets an announcement take over its URL', () => {
    const { c } = cluster();
    c.addStatic('http://127.0.0.1:1/', 256, 0);
    c.addStatic('http://127.0.0.1:1', 256, 0);
    expect(c.members.map((m) => m.id)).toEqual(['http://127.0.0.1:1']);
    c.announce(announcement('app-1', 1), 10);
    expect(c.members.map((m) => [m.id, m.pinned])).toEqual([['app-1', true]]);
    c.withdraw({ id: 'app-1' }, 20);
    expect(c.members.map((m) => [m.id, m.health.state, m.health.reason])).toEqual([['app-1', 'down', 'withdrawn']]);
    c.announce(announcement('app-1', 1), 30);
    expect(c.members[0]!.available).toBe(true);
  });

  it('replaces an earlier run at the same URL and follows an instance that moved', () => {
    const { c, changes } = cluster();
    c.announce(announcement('run-1', 1), 0);
    c.announce(announcement('run-2', 1), 10);
    c.announce(announcement('run-2', 2), 20);
    expect(c.members.map((m) => m.url)).toEqual(['http://127.0.0.1:2']);
    expect(changes).toEqual([
      'added run-1 (announced)',
      'removed run-1 (replaced by run-2)',
      'added run-2 (announced)',
      'removed run-2 (moved to http://127.0.0.1:2)',
      'added run-2 (announced)',
    ]);
  });

  it('forgets a dynamic instance only when it is both silent and down', () => {
    const { c } = cluster({ memberTimeoutMs: 1000 });
    c.announce(announcement('a', 1), 0);
    c.addStatic('http://127.0.0.1:9', 10, 0);
    c.sweep(5000);
    expect(c.members).toHaveLength(2);
    for (const member of c.members) member.health.connectionFailed('ECONNREFUSED', 5000);
    c.sweep(5000);
    expect(c.members.map((m) => m.id)).toEqual(['http://127.0.0.1:9']);
  });

  it('brings a down instance back at once when it announces (a restart)', () => {
    const { c } = cluster();
    c.announce(announcement('a', 1), 0);
    c.members[0]!.health.connectionFailed('ECONNREFUSED', 10);
    c.announce(announcement('a', 1), 20);
    expect(c.members[0]!.health).toMatchObject({ state: 'up', reason: 'announced' });
  });
});

describe('AppCluster load', () => {
  /** Reports one second apart; `served` is what this gateway completed on the instance in that second. */
  function twoReports(useReportedLoad: boolean, served: number, reported: { inflight: number; rps: number }) {
    const { c } = cluster({ useReportedLoad });
    c.report(load('a', 1), 0);
    const member = c.members[0]!;
    member.served += served;
    c.report(load('a', 1, reported), 1000);
    return member;
  }

  it.each([
    ['we are its only client', true, 100, { inflight: 10, rps: 100 }, 0],
    ['the windows differ slightly', true, 95, { inflight: 10, rps: 100 }, 0],
    ['another gateway sends as much as we do', true, 100, { inflight: 10, rps: 200 }, 5],
    ['another gateway sends everything', true, 0, { inflight: 12, rps: 300 }, 12],
    ['reports are not used', false, 0, { inflight: 12, rps: 300 }, 0],
  ])("counts other gateways' load when %s", (_name, use, served, reported, foreign) => {
    expect(twoReports(use, served, reported).foreign).toBe(foreign);
  });

  it('adds the foreign load to the bounded-load check', () => {
    const { c } = cluster();
    c.report(load('a', 1), 0);
    c.report(load('b', 2), 0);
    const key = hash32('198.51.100.1');
    const home = c.pick(key) as Upstream;
    home.foreign = 10;
    expect(c.pick(key)).not.toBe(home);
  });

  it('drops a stale foreign estimate', () => {
    const { c } = cluster({ memberTimeoutMs: 1000 });
    c.report(load('a', 1), 0);
    c.members[0]!.foreign = 9;
    c.sweep(3000);
    expect(c.members[0]!.foreign).toBe(0);
  });

  it('reports ALL_BUSY when every instance is at its announced limit, and capacity when one frees', () => {
    const { c } = cluster();
    c.announce(announcement('a', 1, 1), 0);
    c.announce(announcement('b', 2, 1), 0);
    for (const member of c.members) member.inflight = 1;
    expect(c.hasCapacity()).toBe(false);
    expect(c.pick(hash32('x'))).toBe(ALL_BUSY);
    c.members[0]!.inflight = 0;
    expect(c.hasCapacity()).toBe(true);
    expect(c.pick(hash32('x'))).toBe(c.members[0]);
  });

  it('reports ring shares per member', () => {
    const { c } = cluster();
    for (let i = 1; i <= 4; i++) c.announce(announcement(`app-${i}`, i), 0);
    const shares = [...c.shares().values()];
    expect(shares.reduce((a, b) => a + b)).toBeCloseTo(1, 9);
    for (const share of shares) expect(share).toBeGreaterThan(0.15);
  });
});

describe('AppCluster panic mode', () => {
  type Down = 'up' | 'timeout' | 'refused';
  it.each<[string, Down[], boolean, string[]]>([
    ['all pass', ['up', 'up', 'up', 'up'], false, ['a', 'b', 'c', 'd']],
    ['half pass: no panic', ['up', 'up', 'timeout', 'timeout'], false, ['a', 'b']],
    ['fewer than half pass: every live one not proven gone', ['up', 'timeout', 'timeout', 'timeout'], true, ['a', 'b', 'c', 'd']],
    ['all time out (a starved machine)', ['timeout', 'timeout', 'timeout', 'timeout'], true, ['a', 'b', 'c', 'd']],
    ['refused ones stay out', ['timeout', 'refused', 'refused', 'timeout'], true, ['a', 'd']],
    ['all refused: nothing to take', ['refused', 'refused', 'refused', 'refused'], true, []],
  ])('%s', (_name, states, panic, picked) => {
    const { c } = cluster();
    const ids = ['a', 'b', 'c', 'd'];
    ids.forEach((id, i) => c.announce(announcement(id, 9000 + i), 0));
    ids.forEach((id, i) => {
      const member = c.get(id)!;
      for (let k = 0; k < policy.fall && states[i] === 'timeout'; k++) member.health.probeFailed('no answer', 1, true);
      if (states[i] === 'refused') member.health.connectionFailed('ECONNREFUSED', 1);
    });
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const choice = c.pick(hash32(`10.0.${i >> 8}.${i & 255}`));
      if (choice !== undefined && choice !== ALL_BUSY) seen.add(choice.id);
    }
    expect(c.panic).toBe(panic);
    expect([...seen].sort()).toEqual(picked);
  });

  it('ends when the checks pass again', () => {
    const { c } = cluster();
    c.announce(announcement('a', 9000), 0);
    const member = c.get('a')!;
    for (let k = 0; k < policy.fall; k++) member.health.probeFailed('no answer', 1, true);
    c.checkPanic();
    expect(c.panic).toBe(true);
    expect(member.available).toBe(true);
    for (let k = 0; k < policy.rise; k++) member.health.probeSucceeded(2);
    c.checkPanic();
    expect(c.panic).toBe(false);
    expect(member.healthIgnored).toBe(false);
  });
});
