import fc from 'fast-check';
import { bandAt, energyCostFen, energyCostMilliFen, parseTariffBands, priceAt, tariffSpans, type Tariff } from './tariff';

const tariff: Tariff = {
  spans: parseTariffBands('valley:0-8,flat:8-10,peak:10-15,flat:15-18,peak:18-21,flat:21-23,valley:23-24'),
  fenPerKwh: { peak: 120, flat: 75, valley: 35 },
};
// 2026-01-01 local midnight in Shanghai is 2025-12-31T16:00Z.
const local = (hour: number, minute = 0) => Date.parse('2025-12-31T16:00:00Z') + hour * 3600_000 + minute * 60_000;

describe('tariff', () => {
  it.each([
    [0, 'valley'],
    [7.99, 'valley'],
    [8, 'flat'],
    [10, 'peak'],
    [14.5, 'peak'],
    [15, 'flat'],
    [18, 'peak'],
    [21, 'flat'],
    [23, 'valley'],
    [24, 'valley'],
  ] as const)('local hour %s is %s', (hour, band) => {
    expect(bandAt(tariff, local(0) + hour * 3600_000)).toBe(band);
  });

  it.each([
    ['an hour in the valley', local(2), local(3), 10_000, 350],
    ['an hour at peak', local(11), local(12), 10_000, 1_200],
    ['across the valley/flat edge', local(7, 30), local(8, 30), 10_000, Math.round((5_000 * 35 + 5_000 * 75) / 1000)],
    ['across midnight', local(23), local(25), 20_000, 700],
    ['no energy', local(11), local(12), 0, 0],
    ['stop not after start: priced at start', local(11), local(11), 1_000, 120],
    ['rounded to the fen', local(2), local(3), 1, 0],
  ])('%s', (_name, start, stop, wh, fen) => {
    expect(energyCostFen(tariff, start, stop, wh)).toBe(fen);
  });

  // The former implementation, walking hour by hour: the reference for small ranges.
  const hourByHour = (startMs: number, stopMs: number, energyWh: number) => {
    let milliFen = 0;
    for (let at = startMs; at < stopMs;) {
      const nextHour = Math.floor((at + 8 * 3600_000) / 3600_000 + 1) * 3600_000 - 8 * 3600_000;
      const end = Math.min(nextHour, stopMs);
      milliFen += ((energyWh * (end - at)) / (stopMs - startMs)) * priceAt(tariff, at);
      at = end;
    }
    return milliFen;
  };

  it('prices like the hour-by-hour sum on ranges up to ten days', () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 365 * 86_400_000 }),
        fc.integer({ min: 1, max: 10 * 86_400_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (offset, duration, wh) => {
          const start = base + offset;
          const exact = energyCostMilliFen(tariff, start, start + duration, wh);
          expect(Math.abs(exact - hourByHour(start, start + duration, wh))).toBeLessThan(1e-6 * Math.max(1, exact));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('prices year 0 to year 9999 in well under a millisecond (no walk over the hours)', () => {
    const from = Date.parse('0000-01-01T00:00:00Z');
    const to = Date.parse('9999-12-31T23:59:59Z');
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) energyCostFen(tariff, from, to, 1_000_000);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(50);
    // A constant power over whole days costs the day's average price.
    const average = (8 * 35 + 2 * 75 + 5 * 120 + 3 * 75 + 3 * 120 + 2 * 75 + 35) / 24;
    expect(energyCostFen(tariff, local(0), local(24 * 1000), 1_000_000)).toBe(Math.round(average * 1000));
  });

  it.each([
    ['', /not band/],
    ['peak:0-12', /reach hour 24/],
    ['peak:0-12,flat:11-24', /gap or overlap/],
    ['peak:12-10,flat:0-24', /from < to/],
    ['cheap:0-24', /not band/],
  ])('rejects %j', (text, message) => {
    expect(() => parseTariffBands(text)).toThrow(message);
  });

  const iso = (ms: number) => new Date(ms).toISOString();
  it.each([
    ['inside one band', local(2), local(3), [[local(2), local(3), 'valley', 35]]],
    [
      'cut at both ends, mid-hour',
      local(7, 30),
      local(10, 15),
      [
        [local(7, 30), local(8), 'valley', 35],
        [local(8), local(10), 'flat', 75],
        [local(10), local(10, 15), 'peak', 120],
      ],
    ],
    [
      'a day from 21:00, valley joined across midnight',
      local(21),
      local(45),
      [
        [local(21), local(23), 'flat', 75],
        [local(23), local(32), 'valley', 35],
        [local(32), local(34), 'flat', 75],
        [local(34), local(39), 'peak', 120],
        [local(39), local(42), 'flat', 75],
        [local(42), local(45), 'peak', 120],
      ],
    ],
    ['empty range', local(5), local(5), []],
    ['reversed range', local(6), local(5), []],
  ] as Array<[string, number, number, Array<[number, number, string, number]>]>)('spans: %s', (_name, from, to, expected) => {
    expect(tariffSpans(tariff, from, to)).toEqual(expected.map(([start, end, band, fenPerKwh]) => ({ start: iso(start), end: iso(end), band, fenPerKwh })));
  });
});
