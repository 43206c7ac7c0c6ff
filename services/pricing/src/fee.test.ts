import { computeFee, perKmFen, planAt, type FeeInput, type PricingPlan } from './fee';

const plan: PricingPlan = {
  id: 'plan-a',
  perMinuteFen: 50,
  perKmFen: 100,
  dailyCapFen: 20_000,
  minimumFen: 500,
  reservationFeeFen: 300,
  holdMinutes: 15,
  oneWayFeeFen: 2_000,
  oneWayPerKmFen: 50,
  depositFen: 0,
  validFrom: new Date('2024-01-01T00:00:00Z'),
  validTo: null,
};

const at = (iso: string) => new Date(iso);
const trip = (start: string, end: string, distanceM = 0, oneWay: FeeInput['oneWay'] = null): FeeInput => ({
  startedAt: at(start),
  endedAt: at(end),
  distanceM,
  oneWay,
});

describe('computeFee', () => {
  it.each<[string, Partial<PricingPlan>, FeeInput, Partial<ReturnType<typeof computeFee>>]>([
    [
      'an instant rental pays the minimum',
      {},
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:00:00Z'),
      { minutes: 0, periods: 1, timeFen: 0, minimumApplied: true, totalFen: 500 },
    ],
    [
      'a started minute counts whole (61 s = 2 min)',
      { minimumFen: 0 },
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:01:01Z'),
      { minutes: 2, timeFen: 100, totalFen: 100 },
    ],
    ['exactly 60 s is one minute', { minimumFen: 0 }, trip('2024-05-01T10:00:00Z', '2024-05-01T10:01:00Z'), { minutes: 1, totalFen: 50 }],
    ['zero distance charges time only', {}, trip('2024-05-01T10:00:00Z', '2024-05-01T10:30:00Z', 0), { timeFen: 1_500, distanceFen: 0, totalFen: 1_500 }],
    [
      'distance rounds half up (1 005 m at 100 fen/km = 100.5 → 101)',
      {},
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:30:00Z', 1_005),
      { distanceFen: 101, totalFen: 1_601 },
    ],
    ['distance rounds down below the half (1 004 m → 100)', {}, trip('2024-05-01T10:00:00Z', '2024-05-01T10:30:00Z', 1_004), { distanceFen: 100 }],
    [
      'the minimum applies to time plus distance',
      { minimumFen: 1_000 },
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:05:00Z', 2_000),
      { timeFen: 250, distanceFen: 200, minimumApplied: true, totalFen: 1_000 },
    ],
    [
      'usage at the minimum is not "minimum applied"',
      { minimumFen: 250 },
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:05:00Z'),
      { minimumApplied: false, totalFen: 250 },
    ],
    [
      'the daily cap bounds the time fee',
      {},
      trip('2024-05-01T08:00:00Z', '2024-05-01T18:00:00Z', 10_000),
      { minutes: 600, timeFen: 20_000, capApplied: true, distanceFen: 1_000, totalFen: 21_000 },
    ],
    ['below the cap it does not apply', {}, trip('2024-05-01T08:00:00Z', '2024-05-01T14:00:00Z'), { timeFen: 18_000, capApplied: false }],
    ['no cap configured', { dailyCapFen: null }, trip('2024-05-01T08:00:00Z', '2024-05-01T18:00:00Z'), { timeFen: 30_000, capApplied: false }],
    // Periods run from the start of the rental: the cap does not reset at midnight.
    [
      'across midnight (23:30 to 00:30 UTC) costs what noon costs',
      {},
      trip('2024-05-01T23:30:00Z', '2024-05-02T00:30:00Z'),
      { minutes: 60, periods: 1, timeFen: 3_000 },
    ],
    [
      'across midnight in China time (15:30 to 16:30 UTC)',
      {},
      trip('2024-05-01T15:30:00Z', '2024-05-01T16:30:00Z'),
      { minutes: 60, periods: 1, timeFen: 3_000 },
    ],
    [
      'a capped trip across midnight is capped once per 24 h, not per calendar day',
      {},
      trip('2024-05-01T18:00:00Z', '2024-05-02T10:00:00Z'),
      { minutes: 960, periods: 1, timeFen: 20_000, capApplied: true },
    ],
    ['across a month end (31 Jan to 1 Feb)', {}, trip('2024-01-31T23:50:00Z', '2024-02-01T00:10:00Z'), { minutes: 20, timeFen: 1_000, periods: 1 }],
    [
      'across a leap day and month end (28 Feb to 1 Mar 2024)',
      { dailyCapFen: null },
      trip('2024-02-28T12:00:00Z', '2024-03-01T12:00:00Z'),
      { minutes: 2_880, periods: 2, timeFen: 144_000 },
    ],
    ['exactly 24 h is one period', {}, trip('2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z'), { minutes: 1_440, periods: 1, timeFen: 20_000, capApplied: true }],
    [
      '24 h and 1 s opens a second period (1 minute in it)',
      {},
      trip('2024-05-01T00:00:00Z', '2024-05-02T00:00:01Z'),
      { minutes: 1_441, periods: 2, timeFen: 20_050, capApplied: true },
    ],
    [
      'a long rental: 30 days and 2 hours',
      {},
      trip('2024-05-01T00:00:00Z', '2024-05-31T02:00:00Z', 1_500_000),
      { minutes: 43_320, periods: 31, timeFen: 30 * 20_000 + 6_000, distanceFen: 150_000, totalFen: 756_000 },
    ],
    [
      'one-way: flat fee plus per km between stations, on top of the minimum',
      {},
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:02:00Z', 0, { stationDistanceM: 12_345 }),
      { minimumApplied: true, oneWayFen: 2_000 + 617, totalFen: 500 + 2_617 },
    ],
    [
      'one-way with no one-way fee configured',
      { oneWayFeeFen: 0, oneWayPerKmFen: 0 },
      trip('2024-05-01T10:00:00Z', '2024-05-01T10:30:00Z', 0, { stationDistanceM: 5_000 }),
      { oneWayFen: 0, totalFen: 1_500 },
    ],
    [
      'a free plan',
      { perMinuteFen: 0, perKmFen: 0, minimumFen: 0, dailyCapFen: null },
      trip('2024-05-01T10:00:00Z', '2024-05-03T10:00:00Z', 99_000),
      { totalFen: 0 },
    ],
  ])('%s', (_name, changes, input, expected) => {
    const fee = computeFee({ ...plan, ...changes }, input);
    expect(fee).toMatchObject(expected);
    expect(fee.totalFen).toBe((fee.minimumApplied ? { ...plan, ...changes }.minimumFen : fee.timeFen + fee.distanceFen) + fee.oneWayFen);
    expect(Number.isInteger(fee.totalFen)).toBe(true);
  });

  it('refuses an end before the start and bad amounts', () => {
    expect(() => computeFee(plan, trip('2024-05-01T10:00:00Z', '2024-05-01T09:59:59Z'))).toThrow(RangeError);
    expect(() => computeFee(plan, trip('2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', -1))).toThrow(RangeError);
    expect(() => computeFee(plan, trip('2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z', 1.5))).toThrow(RangeError);
    expect(() => computeFee({ ...plan, perMinuteFen: 0.5 }, trip('2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z'))).toThrow(RangeError);
    expect(() => perKmFen(Number.MAX_SAFE_INTEGER, 2)).toThrow(RangeError);
  });
});

describe('planAt (the plan in force when a rental starts)', () => {
  const a = { ...plan, id: 'a', validFrom: at('2024-01-01T00:00:00Z'), validTo: null };
  const b = { ...plan, id: 'b', perMinuteFen: 80, validFrom: at('2024-06-01T00:00:00Z'), validTo: at('2024-07-01T00:00:00Z') };
  const future = { ...plan, id: 'future', validFrom: at('2030-01-01T00:00:00Z'), validTo: null };

  it.each([
    ['2023-12-31T23:59:59Z', undefined],
    ['2024-01-01T00:00:00Z', 'a'],
    ['2024-05-31T23:59:59Z', 'a'],
    ['2024-06-01T00:00:00Z', 'b'],
    ['2024-06-30T23:59:59Z', 'b'],
    ['2024-07-01T00:00:00Z', 'a'],
  ])('at %s the plan is %s', (instant, id) => {
    expect(planAt([a, b, future], at(instant))?.id).toBe(id);
  });

  it('a plan change during a rental does not change its price', () => {
    // Started under A at 23:00 on 31 May; B (80 fen/min) takes effect at midnight.
    const started = at('2024-05-31T23:00:00Z');
    const startPlan = planAt([a, b], started)!;
    const fee = computeFee(startPlan, trip('2024-05-31T23:00:00Z', '2024-06-01T01:00:00Z'));
    expect(startPlan.id).toBe('a');
    expect(fee).toMatchObject({ planId: 'a', minutes: 120, timeFen: 6_000 });
  });
});
