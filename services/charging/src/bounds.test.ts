import { assessSession, clampTime, DEFAULT_SESSION_LIMITS, energyBoundWh, type SessionReport } from './bounds';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const HOUR = 3600_000;
const report = (over: Partial<SessionReport> = {}): SessionReport => ({
  ratedW: 7000,
  meterStartWh: 1000,
  meterStopWh: 8000,
  samplesWh: [3000, 6000],
  startReceivedMs: T0,
  stopReceivedMs: T0 + HOUR,
  startMs: T0,
  startSkewed: false,
  reportedStopMs: T0 + HOUR,
  ...over,
});

describe('charging session bounds', () => {
  it.each([
    ['inside the tolerance', T0 + 60_000, T0, { ms: T0 + 60_000, skewed: false }],
    ['year 9999', Date.parse('9999-12-31T23:59:59Z'), T0, { ms: T0, skewed: true }],
    ['year 0', Date.parse('0000-01-01T00:00:00Z'), T0, { ms: T0, skewed: true }],
    ['not a time', Number.NaN, T0, { ms: T0, skewed: true }],
  ])('clampTime: %s', (_name, reported, received, expected) => {
    expect(clampTime(reported, received, DEFAULT_SESSION_LIMITS.clockToleranceMs)).toEqual(expected);
  });

  it('bounds energy by rated power × elapsed time × margin', () => {
    expect(energyBoundWh(7000, HOUR, 1.1)).toBe(7700);
    expect(energyBoundWh(7000, -HOUR, 1.1)).toBe(0);
  });

  it.each([
    ['an honest session', report(), [], 7000],
    ['the seen attack: 900 MWh in an hour', report({ meterStopWh: 900_000_000 }), ['energy-above-rating'], 899_999_000],
    ['just inside the margin', report({ meterStopWh: 8700 }), [], 7700],
    ['just above the margin', report({ meterStopWh: 8701 }), ['energy-above-rating'], 7701],
    ['meter stop below meter start', report({ meterStopWh: 500, samplesWh: [] }), ['meter-backwards'], 0],
    ['a sample going backwards', report({ samplesWh: [6000, 3000] }), ['meter-backwards'], 7000],
    ['a stop in year 9999', report({ reportedStopMs: Date.parse('9999-01-01T00:00:00Z') }), ['clock-skew'], 7000],
    ['a start that was clamped', report({ startSkewed: true }), ['clock-skew'], 7000],
    [
      'elapsed server time is what counts, not the pile clock',
      report({ stopReceivedMs: T0 + 60_000, reportedStopMs: T0 + 60_000 }),
      ['energy-above-rating'],
      7000,
    ],
  ])('%s', (_name, input, anomalies, energyWh) => {
    const result = assessSession(input, DEFAULT_SESSION_LIMITS);
    expect(result.anomalies.sort()).toEqual([...anomalies].sort());
    expect(result.energyWh).toBe(energyWh);
  });

  it('never prices a stop before the start', () => {
    const result = assessSession(report({ reportedStopMs: T0 - 60_000, stopReceivedMs: T0 + 10_000 }), DEFAULT_SESSION_LIMITS);
    expect(result.stopMs).toBe(T0);
  });
});
