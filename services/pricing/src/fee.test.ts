import fc from 'fast-check';
import { computeFee, perKmFen, planAt, planFor, splitMinutes, type FeeInput, type PricingPlan } from './fee';

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
  vehicleModel: null,
  stationId: null,
  timeZone: 'Asia/Shanghai',
  timeBands: [],
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

describe('time bands (local hours in the plan time zone)', () => {
  // Shanghai is UTC+8 all year (no daylight saving): 22:00 local is 14:00 UTC.
  const night = { fromHour: 22, toHour: 6, perMinuteFen: 20 };
  const peak = { fromHour: 7, toHour: 10, perMinuteFen: 100 };
  const banded: Partial<PricingPlan> = { minimumFen: 0, timeBands: [night, peak] };

  it.each<[string, Partial<PricingPlan>, FeeInput, Partial<ReturnType<typeof computeFee>>]>([
    [
      'inside one band',
      banded,
      trip('2024-05-01T15:00:00Z', '2024-05-01T15:30:00Z'),
      { minutes: 30, timeFen: 600, bands: [{ perMinuteFen: 20, minutes: 30 }] },
    ],
    [
      'outside every band: the base rate',
      banded,
      trip('2024-05-01T04:00:00Z', '2024-05-01T04:10:00Z'),
      { timeFen: 500, bands: [{ perMinuteFen: 50, minutes: 10 }] },
    ],
    [
      'into the night band at 22:00 local (21:30 to 22:30)',
      banded,
      trip('2024-05-01T13:30:00Z', '2024-05-01T14:30:00Z'),
      {
        minutes: 60,
        timeFen: 30 * 50 + 30 * 20,
        bands: [
          { perMinuteFen: 50, minutes: 30 },
          { perMinuteFen: 20, minutes: 30 },
        ],
      },
    ],
    [
      'a band across local midnight is one band (23:30 to 00:30 local)',
      banded,
      trip('2024-05-01T15:30:00Z', '2024-05-01T16:30:00Z'),
      { minutes: 60, timeFen: 1_200, bands: [{ perMinuteFen: 20, minutes: 60 }] },
    ],
    [
      'night into the morning peak: 05:50 to 07:10 local',
      banded,
      trip('2024-05-01T21:50:00Z', '2024-05-01T23:10:00Z'),
      {
        minutes: 80,
        timeFen: 10 * 20 + 60 * 50 + 10 * 100,
        bands: [
          { perMinuteFen: 20, minutes: 10 },
          { perMinuteFen: 50, minutes: 60 },
          { perMinuteFen: 100, minutes: 10 },
        ],
      },
    ],
    [
      'a minute belongs to the hour it starts in (21:59:30 to 22:01:00: 2 minutes, one in each)',
      banded,
      trip('2024-05-01T13:59:30Z', '2024-05-01T14:01:00Z'),
      {
        minutes: 2,
        timeFen: 70,
        bands: [
          { perMinuteFen: 50, minutes: 1 },
          { perMinuteFen: 20, minutes: 1 },
        ],
      },
    ],
    [
      'the same UTC trip in UTC hours is priced differently (22:00 UTC is night there)',
      { ...banded, timeZone: 'UTC' },
      trip('2024-05-01T21:30:00Z', '2024-05-01T22:30:00Z'),
      { timeFen: 30 * 50 + 30 * 20 },
    ],
    [
      'the cap bounds a banded day: 24 h at peak and base rates stays at the cap',
      { ...banded, dailyCapFen: 30_000 },
      trip('2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z'),
      { periods: 1, timeFen: 30_000, capApplied: true },
    ],
    [
      'below the cap the bands add up (one day: 8 h night, 3 h peak, 13 h base)',
      { ...banded, dailyCapFen: 1_000_000 },
      trip('2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z'),
      { timeFen: 8 * 60 * 20 + 3 * 60 * 100 + 13 * 60 * 50, capApplied: false },
    ],
    [
      'each 24-hour period has its own cap; the second period is short and under it',
      { ...banded, dailyCapFen: 30_000 },
      trip('2024-05-01T00:00:00Z', '2024-05-02T01:00:00Z'),
      { periods: 2, timeFen: 30_000 + 60 * 100, capApplied: true },
    ],
  ])('%s', (_name, changes, input, expected) => {
    expect(computeFee({ ...plan, ...changes }, input)).toMatchObject(expected);
  });

  it('refuses overlapping bands and an unknown time zone', () => {
    const input = trip('2024-05-01T10:00:00Z', '2024-05-01T11:00:00Z');
    expect(() => computeFee({ ...plan, timeBands: [night, { fromHour: 5, toHour: 8, perMinuteFen: 1 }] }, input)).toThrow(/overlaps/);
    expect(() => computeFee({ ...plan, timeZone: 'Mars/Olympus' }, input)).toThrow(RangeError);
  });

  it('splits at local hours and at the 24-hour periods', () => {
    const runs = splitMinutes({ ...plan, timeBands: [night] }, at('2024-05-01T13:30:00Z'), 24 * 60 + 30);
    expect(runs[0]).toEqual({ firstMinute: 0, minutes: 30, period: 0, hour: 21, perMinuteFen: 50 });
    expect(runs[1]).toEqual({ firstMinute: 30, minutes: 60, period: 0, hour: 22, perMinuteFen: 20 });
    // The second period starts at minute 1440, in the middle of local hour 21.
    expect(runs.filter((r) => r.period === 1)).toEqual([{ firstMinute: 1440, minutes: 30, period: 1, hour: 21, perMinuteFen: 50 }]);
  });
});

describe('fee properties', () => {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261204;
  const band = fc
    .record({ fromHour: fc.integer({ min: 0, max: 23 }), length: fc.integer({ min: 1, max: 23 }), perMinuteFen: fc.integer({ min: 0, max: 500 }) })
    .map(({ fromHour, length, perMinuteFen }) => ({ fromHour, toHour: (fromHour + length) % 24 || 24, perMinuteFen }));
  const planArb = fc.record({
    perMinuteFen: fc.integer({ min: 0, max: 500 }),
    dailyCapFen: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
    minimumFen: fc.integer({ min: 0, max: 2_000 }),
    timeZone: fc.constantFrom('Asia/Shanghai', 'UTC', 'Asia/Kolkata'),
    timeBands: fc.option(band, { nil: undefined }).map((b) => (b ? [b] : [])),
  });
  const startArb = fc.integer({ min: Date.parse('2024-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') });
  const durationArb = fc.integer({ min: 0, max: 4 * 24 * 3600 * 1000 });

  it('is monotone in duration, never above the cap per period, and the bands add up to the trip', () => {
    fc.assert(
      fc.property(planArb, startArb, durationArb, durationArb, (changes, start, d1, d2) => {
        const p = { ...plan, ...changes };
        const [short, long] = d1 <= d2 ? [d1, d2] : [d2, d1];
        const input = (ms: number) => ({ startedAt: new Date(start), endedAt: new Date(start + ms), distanceM: 0, oneWay: null });
        const a = computeFee(p, input(short));
        const b = computeFee(p, input(long));
        expect(b.totalFen).toBeGreaterThanOrEqual(a.totalFen);
        expect(b.timeFen).toBeGreaterThanOrEqual(a.timeFen);
        if (p.dailyCapFen !== null) expect(b.timeFen).toBeLessThanOrEqual(b.periods * p.dailyCapFen);
        expect(b.bands.reduce((sum, r) => sum + r.minutes, 0)).toBe(b.minutes);
        const runs = splitMinutes(p, new Date(start), b.minutes);
        expect(runs.reduce((sum, r) => sum + r.minutes, 0)).toBe(b.minutes);
        // Without a cap, the time fee is exactly the minutes times their band's rate.
        if (p.dailyCapFen === null) expect(b.timeFen).toBe(b.bands.reduce((sum, r) => sum + r.minutes * r.perMinuteFen, 0));
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('planFor (the most specific plan in force wins)', () => {
  const since = at('2024-01-01T00:00:00Z');
  const fleet = { ...plan, id: 'fleet', validFrom: since };
  const laterFleet = { ...plan, id: 'fleet-later', validFrom: at('2024-03-01T00:00:00Z') };
  const station = { ...plan, id: 'station', stationId: 's1', validFrom: since };
  const model = { ...plan, id: 'model', vehicleModel: 'BYD e6', validFrom: since };
  const both = { ...plan, id: 'both', vehicleModel: 'BYD e6', stationId: 's1', validFrom: since };
  const expiredBoth = { ...both, id: 'both-expired', validTo: at('2024-02-01T00:00:00Z') };
  const futureModel = { ...model, id: 'model-future', validFrom: at('2030-01-01T00:00:00Z') };
  const all = [fleet, laterFleet, station, model, expiredBoth, futureModel];

  it.each<[string, readonly PricingPlan[], string | null, string | null, string, string | undefined]>([
    ['model and station beat the rest', [...all, both], 'BYD e6', 's1', '2024-05-01T00:00:00Z', 'both'],
    ['model beats station', all, 'BYD e6', 's1', '2024-05-01T00:00:00Z', 'model'],
    ['station beats the fleet', all, 'Tesla', 's1', '2024-05-01T00:00:00Z', 'station'],
    ['another station and model: the fleet plan, the latest one', all, 'Tesla', 's2', '2024-05-01T00:00:00Z', 'fleet-later'],
    ['an expired specific plan does not count', [fleet, expiredBoth], 'BYD e6', 's1', '2024-05-01T00:00:00Z', 'fleet'],
    ['while it was valid it won', [fleet, expiredBoth], 'BYD e6', 's1', '2024-01-15T00:00:00Z', 'both-expired'],
    ['a future specific plan does not count yet', [fleet, futureModel], 'BYD e6', null, '2024-05-01T00:00:00Z', 'fleet'],
    ['a plan for the model at another station does not apply', [fleet, both], 'BYD e6', 's2', '2024-05-01T00:00:00Z', 'fleet'],
    ['nothing in force', [futureModel], 'BYD e6', 's1', '2024-05-01T00:00:00Z', undefined],
  ])('%s', (_name, plans, vehicleModel, stationId, instant, id) => {
    expect(planFor(plans, { at: at(instant), vehicleModel, stationId })?.id).toBe(id);
  });
});
