import { HealthTracker, type HealthState } from './health';

const policy = { fall: 3, rise: 2, ejectAfter5xx: 5 };

type Event = 'ok' | 'fail' | 'timeout' | 'conn' | 'shed' | 200 | 404 | 500 | 503;

/** Feeds events to a fresh tracker and records the state after each. */
function run(events: Event[], start: HealthState = 'up'): { states: HealthState[]; changes: boolean[]; reason: string; dead: boolean } {
  const tracker = new HealthTracker(policy, 0, 'test', start);
  const states: HealthState[] = [];
  const changes: boolean[] = [];
  events.forEach((event, t) => {
    const changed =
      event === 'ok'
        ? tracker.probeSucceeded(t)
        : event === 'fail'
          ? tracker.probeFailed('503', t)
          : event === 'timeout'
            ? tracker.probeFailed('no answer', t, true)
            : event === 'conn'
              ? tracker.connectionFailed('ECONNREFUSED', t)
              : event === 'shed'
                ? tracker.responded(503, t, true)
                : tracker.responded(event, t);
    states.push(tracker.state);
    changes.push(changed);
  });
  return { states, changes, reason: tracker.reason, dead: tracker.dead };
}

describe('HealthTracker', () => {
  it.each<[string, Event[], HealthState, HealthState[]]>([
    ['stays up on good probes', ['ok', 'ok', 'ok'], 'up', ['up', 'up', 'up']],
    ['goes down after `fall` failed probes in a row', ['fail', 'fail', 'fail'], 'up', ['up', 'up', 'down']],
    ['forgives a failure followed by a success', ['fail', 'fail', 'ok', 'fail', 'fail'], 'up', ['up', 'up', 'up', 'up', 'up']],
    ['comes back after `rise` good probes in a row', ['ok', 'ok'], 'down', ['down', 'up']],
    ['needs the good probes consecutively', ['ok', 'fail', 'ok', 'ok'], 'down', ['down', 'down', 'down', 'up']],
    ['is ejected at once by a failed connection', ['conn'], 'up', ['down']],
    ['is ejected by a burst of 5xx', [500, 503, 500, 500, 500], 'up', ['up', 'up', 'up', 'up', 'down']],
    ['is not ejected by 5xx interleaved with successes', [500, 500, 500, 500, 200, 500], 'up', ['up', 'up', 'up', 'up', 'up', 'up']],
    ['does not count 4xx as failures', [404, 404, 404, 404, 404, 404], 'up', ['up', 'up', 'up', 'up', 'up', 'up']],
    ['is re-admitted only by probes after an ejection', ['conn', 200, 200, 'ok', 'ok'], 'up', ['down', 'down', 'down', 'down', 'up']],
    ['ignores traffic answers while down', [500, 200], 'down', ['down', 'down']],
    [
      'does not count 503 + Retry-After (shedding) towards an ejection',
      ['shed', 'shed', 'shed', 'shed', 'shed', 'shed'],
      'up',
      ['up', 'up', 'up', 'up', 'up', 'up'],
    ],
    ['neither clears the 5xx count with shedding', [500, 500, 'shed', 500, 500, 500], 'up', ['up', 'up', 'up', 'up', 'up', 'down']],
    ['goes down after `fall` timed-out probes', ['timeout', 'timeout', 'timeout'], 'up', ['up', 'up', 'down']],
  ])('%s', (_name, events, start, expected) => {
    expect(run(events, start).states).toEqual(expected);
  });

  it.each<[string, Event[], boolean]>([
    ['timed-out probes are not proof of death', ['timeout', 'timeout', 'timeout'], false],
    ['a refused connection is', ['timeout', 'timeout', 'timeout', 'conn'], true],
    ['a probe answered with an error is', ['fail', 'fail', 'fail'], true],
    ['a 5xx burst is', [500, 500, 500, 500, 500], true],
    ['a good probe clears it', ['conn', 'ok'], false],
  ])('dead: %s', (_name, events, dead) => {
    expect(run(events).dead).toBe(dead);
  });

  it('reports a change exactly when the state flips, with a reason', () => {
    const result = run(['fail', 'fail', 'fail', 'fail', 'ok', 'ok']);
    expect(result.changes).toEqual([false, false, true, false, false, true]);
    expect(result.reason).toBe('2 good probes');
    expect(run(['conn']).reason).toBe('ejected: ECONNREFUSED');
    expect(run(['fail', 'fail', 'fail']).reason).toBe('probe: 503');
  });

  it('keeps the time of the last change', () => {
    const tracker = new HealthTracker(policy, 10);
    tracker.connectionFailed('reset', 20);
    tracker.probeFailed('refused', 30);
    expect(tracker.since).toBe(20);
    expect(tracker.reason).toBe('probe: refused');
  });

  it('forces a state (withdrawal of a pinned instance)', () => {
    const tracker = new HealthTracker(policy, 0);
    expect(tracker.force('down', 'withdrawn', 5)).toBe(true);
    expect(tracker.state).toBe('down');
    expect(tracker.probeSucceeded(6)).toBe(false);
    expect(tracker.probeSucceeded(7)).toBe(true);
  });
});
