import { createHealth } from './health';

describe('readiness', () => {
  it('turns false at the first failure by default, and reads each check', async () => {
    const health = createHealth();
    let up = true;
    health.addCheck('database', async () => {
      if (!up) throw new Error('connection refused');
    });
    expect(await health.readiness()).toEqual({ ready: true, checks: { database: 'ok' } });
    up = false;
    expect(await health.readiness()).toEqual({ ready: false, checks: { database: 'connection refused' } });
  });

  it('with outageAfterMs, a blip is reported degraded and stays ready; a sustained outage is not ready; a pass starts over', async () => {
    let t = 1_000_000;
    let up = true;
    const health = createHealth({ outageAfterMs: 10_000, now: () => t });
    health.addCheck('sessions', async () => {
      if (!up) throw new Error('ECONNREFUSED');
    });
    health.addCheck('bus', async () => undefined);
    up = false;
    expect(await health.readiness()).toEqual({ ready: true, checks: { sessions: 'degraded for 0 ms: ECONNREFUSED', bus: 'ok' } });
    t += 9_999;
    expect(await health.readiness()).toEqual({ ready: true, checks: { sessions: 'degraded for 9999 ms: ECONNREFUSED', bus: 'ok' } });
    t += 1;
    expect(await health.readiness()).toEqual({ ready: false, checks: { sessions: 'ECONNREFUSED', bus: 'ok' } });
    up = true;
    expect((await health.readiness()).ready).toBe(true);
    // A new failure after a pass gets the whole grace again.
    up = false;
    t += 60_000;
    expect(await health.readiness()).toEqual({ ready: true, checks: { sessions: 'degraded for 0 ms: ECONNREFUSED', bus: 'ok' } });
  });

  it('a check that does not answer in time fails; draining is never ready, whatever the grace', async () => {
    const health = createHealth({ checkTimeoutMs: 20, outageAfterMs: 0 });
    health.addCheck('database', () => new Promise(() => undefined));
    expect(await health.readiness()).toEqual({ ready: false, checks: { database: 'no answer within 20 ms' } });
    const graceful = createHealth({ outageAfterMs: 60_000 });
    graceful.startDraining();
    expect(await graceful.readiness()).toEqual({ ready: false, checks: { draining: 'shutting down' } });
  });
});
