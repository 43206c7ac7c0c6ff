import { createStatsRecorder, percentile } from './stats';

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  it.each([
    [[], 0.5, 0],
    [[7], 0.99, 7],
    [[3, 1, 2], 0.5, 2],
    [hundred, 0.5, 50],
    [hundred, 0.95, 95],
    [hundred, 0.99, 99],
    [hundred, 1, 100],
    [hundred, 0, 1],
  ])('%# of %j at %s is %s', (samples, p, expected) => expect(percentile(samples, p)).toBe(expected));
});

describe('createStatsRecorder', () => {
  it('counts replies by kind, per instance, and keeps a bounded latency window', () => {
    const recorder = createStatsRecorder(4);
    recorder.record('ok', 1000, 'app-1');
    recorder.record('not-modified', 1, 'app-1');
    recorder.record('not-modified', 2, 'app-2');
    recorder.record('unauthorized', 3, 'app-2');
    recorder.record('error', 4);
    recorder.counts.logins += 2;
    const stats = recorder.snapshot({ members: 2, loggedIn: 1, inflight: 0 });
    expect(stats).toMatchObject({
      members: 2,
      loggedIn: 1,
      requests: 5,
      ok: 1,
      notModified: 2,
      unauthorized: 1,
      errors: 1,
      logins: 2,
      instances: { 'app-1': 2, 'app-2': 2 },
    });
    // The 1000 ms sample fell out of the four-sample window.
    expect(stats.latencyMs).toEqual({ p50: 2, p95: 4, p99: 4, max: 4 });
  });
});
