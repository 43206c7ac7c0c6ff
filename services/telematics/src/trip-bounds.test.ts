import { assessTrip, DEFAULT_TRIP_LIMITS, distanceBoundM, type TripReport } from './trip-bounds';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3600_000;
const trip = (over: Partial<TripReport> = {}): TripReport => ({
  startedAtMs: NOW - 2 * HOUR,
  endedAtMs: NOW - HOUR,
  startOdometerM: 100_000,
  endOdometerM: 140_000,
  receivedMs: NOW,
  allowed: true,
  previousEndOdometerM: 90_000,
  nextStartOdometerM: null,
  ...over,
});

describe('trip bounds', () => {
  it('200 km/h for an hour is 200 km', () => expect(distanceBoundM(HOUR, DEFAULT_TRIP_LIMITS)).toBe(200_000));

  it.each([
    ['an honest trip', trip(), []],
    ['a member not on the car', trip({ allowed: false }), ['member-not-allowed']],
    ['a start in year 9999', trip({ startedAtMs: Date.parse('9999-01-01T00:00:00Z'), endedAtMs: Date.parse('9999-01-01T01:00:00Z') }), ['starts-in-future']],
    ['a start in year 0, ten thousand years long', trip({ startedAtMs: Date.parse('0000-01-01T00:00:00Z') }), ['starts-too-long-ago', 'too-long']],
    ['a three-day trip', trip({ startedAtMs: NOW - 72 * HOUR, endOdometerM: 150_000 }), ['too-long']],
    ['1,000 km in an hour', trip({ endOdometerM: 1_100_000 }), ['too-fast']],
    ['exactly the top speed', trip({ endOdometerM: 300_000 }), []],
    ["a start below the previous trip's end", trip({ previousEndOdometerM: 120_000 }), ['odometer-backwards']],
    ["an end above the next trip's start", trip({ nextStartOdometerM: 130_000 }), ['odometer-backwards']],
    ['an odometer going backwards within the trip', trip({ endOdometerM: 50_000 }), ['odometer-backwards']],
    ['clock skew inside the tolerance', trip({ endedAtMs: NOW + 60_000 }), []],
  ])('%s', (_name, input, expected) => {
    expect(assessTrip(input, DEFAULT_TRIP_LIMITS)).toEqual(expected);
  });
});
