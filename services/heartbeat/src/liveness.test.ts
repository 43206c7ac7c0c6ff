import { livenessAction, sweepIntervalMs } from './liveness';

const I = 1000;

describe('livenessAction', () => {
  it('pings once an interval has passed since the last ping', () => {
    expect(livenessAction({ lastSeenAt: 0, lastPingAt: 0 }, I - 1, I)).toBe('ok');
    expect(livenessAction({ lastSeenAt: 0, lastPingAt: 0 }, I, I)).toBe('ping');
    expect(livenessAction({ lastSeenAt: 0, lastPingAt: I }, I + 10, I)).toBe('ok');
  });

  it('declares a connection dead after two intervals of silence, whatever the pings', () => {
    expect(livenessAction({ lastSeenAt: 0, lastPingAt: I - 1 }, 2 * I - 1, I)).toBe('ping');
    expect(livenessAction({ lastSeenAt: 0, lastPingAt: 2 * I - 1 }, 2 * I, I)).toBe('dead');
  });

  it('keeps a connection that answers every ping', () => {
    let state = { lastSeenAt: 0, lastPingAt: 0 };
    for (let now = 0; now <= 20 * I; now += I / 4) {
      const action = livenessAction(state, now, I);
      expect(action).not.toBe('dead');
      // The pong arrives 50 ms after the ping.
      if (action === 'ping') state = { lastPingAt: now, lastSeenAt: now + 50 };
    }
  });

  it('detects a client that stops answering within two intervals plus one sweep', () => {
    const sweep = sweepIntervalMs(I);
    let state = { lastSeenAt: 0, lastPingAt: 0 };
    let deadAt: number | undefined;
    for (let now = sweep; deadAt === undefined; now += sweep) {
      const action = livenessAction(state, now, I);
      if (action === 'ping') state = { ...state, lastPingAt: now };
      if (action === 'dead') deadAt = now;
    }
    expect(deadAt).toBeGreaterThanOrEqual(2 * I);
    expect(deadAt).toBeLessThanOrEqual(2 * I + sweep);
  });
});

describe('sweepIntervalMs', () => {
  it('is a quarter interval, never below 10 ms', () => {
    expect(sweepIntervalMs(15_000)).toBe(3750);
    expect(sweepIntervalMs(8)).toBe(10);
  });
});
