import { MAX_APPS_REMEMBERED, touchSession, type SessionRecord } from './record';

const base: SessionRecord = {
  sessionHash: 'h',
  memberId: 'm1',
  role: 'member',
  address: '10.0.0.1',
  createdAt: 0,
  lastAccessAt: 1_000,
  apps: ['app-1'],
};

describe('touchSession', () => {
  it.each([
    ['same app, fresh', { now: 2_000, appId: 'app-1', address: '10.0.0.1' }, false, ['app-1'], 1_000],
    ['same app, interval passed', { now: 16_000, appId: 'app-1' }, true, ['app-1'], 16_000],
    ['another app', { now: 2_000, appId: 'app-2' }, true, ['app-1', 'app-2'], 2_000],
    ['back to an earlier app moves it last', { now: 2_000, appId: 'app-0' }, true, ['app-1', 'app-0'], 2_000],
    ['address changed', { now: 2_000, address: '10.0.0.9' }, true, ['app-1'], 2_000],
    ['no app (push channel), fresh', { now: 2_000 }, false, ['app-1'], 1_000],
  ])('%s', (_name, access, write, apps, lastAccessAt) => {
    const result = touchSession(base, access, 15_000);
    expect(result.write).toBe(write);
    expect(result.record.apps).toEqual(apps);
    expect(result.record.lastAccessAt).toBe(lastAccessAt);
  });

  it('remembers a bounded number of instances', () => {
    let record = base;
    for (let i = 0; i < 40; i++) record = touchSession(record, { now: 2_000 + i, appId: `app-${i + 10}` }, 15_000).record;
    expect(record.apps).toHaveLength(MAX_APPS_REMEMBERED);
    expect(record.apps[record.apps.length - 1]).toBe('app-49');
  });
});
