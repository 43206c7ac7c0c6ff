import { planCharging } from './planner';
import { minutePrices, slotCostFen, slotFenMinutes, tariffProblem } from './tariff';
import { car, input, SHANGHAI_LIKE } from './testing';
import type { Tariff } from './types';

const utc = (iso: string) => Date.parse(iso);

describe('tariff', () => {
  test('a band from > to wraps midnight', () => {
    const prices = minutePrices(SHANGHAI_LIKE);
    expect([prices[0], prices[359], prices[360], prices[479], prices[480], prices[1319], prices[1320], prices[1439]]).toEqual([
      31, 31, 68, 68, 112, 68, 31, 31,
    ]);
  });

  test.each<[string, string, number, number[]]>([
    // Shanghai 06:00 = 22:00Z: the slot 21:45Z-22:00Z is all valley, the next all flat.
    ['aligned band edge', '2026-11-26T21:45:00Z', 2, [15 * 31, 15 * 68]],
    // A slot starting 21:50Z: 10 minutes of valley then 5 of flat.
    ['band edge inside a slot', '2026-11-26T21:50:00Z', 1, [10 * 31 + 5 * 68]],
    // 22:00 Shanghai = 14:00Z: a slot from 13:55Z holds 5 flat minutes and 10 valley ones.
    ['into the valley', '2026-11-26T13:55:00Z', 1, [5 * 68 + 10 * 31]],
    // Seconds are ignored: the slot is priced from its minute.
    ['start with seconds', '2026-11-26T21:50:30Z', 1, [10 * 31 + 5 * 68]],
  ])('%s', (_, start, slots, expected) => {
    expect(slotFenMinutes(SHANGHAI_LIKE, utc(start), 15, slots)).toEqual(expected);
  });

  test('a slot across local midnight', () => {
    const tariff: Tariff = {
      utcOffsetMinutes: 0,
      bands: [
        { name: 'valley', fromMinute: 0, toMinute: 60, fenPerKwh: 30 },
        { name: 'peak', fromMinute: 60, toMinute: 1430, fenPerKwh: 100 },
        { name: 'flat', fromMinute: 1430, toMinute: 1440, fenPerKwh: 60 },
      ],
    };
    // 23:50-00:05: 10 minutes at 60, 5 at 30.
    expect(slotFenMinutes(tariff, utc('2026-11-26T23:50:00Z'), 15, 1)).toEqual([10 * 60 + 5 * 30]);
  });

  test.each([
    [480, '2026-11-26T13:45:00Z', [15 * 68, 15 * 31]],
    [0, '2026-11-26T21:45:00Z', [15 * 68, 15 * 31]],
    [-300, '2026-11-27T02:45:00Z', [15 * 68, 15 * 31]],
  ])('UTC offset %i: local 22:00 is the valley start', (utcOffsetMinutes, start, expected) => {
    expect(slotFenMinutes({ ...SHANGHAI_LIKE, utcOffsetMinutes }, utc(start), 15, 2)).toEqual(expected);
  });

  test('the planner follows the offset: the same valley in local time moves in UTC', () => {
    const at = (utcOffsetMinutes: number) => {
      const result = planCharging(
        input([car(1, { neededWh: 15_000 })], { start: '2026-11-26T00:00:00Z', horizonSlots: 96, tariff: { ...SHANGHAI_LIKE, utcOffsetMinutes } }),
      );
      return result.schedules[0]!.slots.filter((s) => s.powerW > 0).map((s) => s.start);
    };
    // Valley 22:00-06:00 local: 14:00Z-22:00Z in Shanghai, 22:00Z-06:00Z at UTC+0.
    expect(at(480).every((t) => t >= '2026-11-26T14:00' && t < '2026-11-26T22:00')).toBe(true);
    expect(at(0).every((t) => t < '2026-11-26T06:00' || t >= '2026-11-26T22:00')).toBe(true);
  });

  test('the planner prefers whole valley slots to a slot that is partly valley', () => {
    // Valley until 06:05 local: one slot (06:00-06:15) is a third valley. A car that needs one slot's energy
    // and may charge from 05:45 to 06:30 picks the whole-valley slot.
    const tariff: Tariff = {
      utcOffsetMinutes: 480,
      bands: [
        { name: 'valley', fromMinute: 22 * 60, toMinute: 6 * 60 + 5, fenPerKwh: 31 },
        { name: 'flat', fromMinute: 6 * 60 + 5, toMinute: 22 * 60, fenPerKwh: 68 },
      ],
    };
    const result = planCharging(
      input([car(1, { socPct: 90, targetSocPct: 93, departure: '2026-11-26T22:30:00Z' })], { start: '2026-11-26T21:45:00Z', horizonSlots: 3, tariff }),
    );
    // 1,500 Wh to store: 1,667 Wh from the grid, all in the first slot (6,668 W of the car's 7,000 W).
    expect(result.schedules[0]!.slots.map((s) => s.powerW)).toEqual([6_668, 0, 0]);
    expect(result.costFen).toBe(slotCostFen(1_667, 15 * 31, 15));
    expect(result.costFen).toBe(52); // 1,667 × 465 / 15,000 = 51.68 fen
  });

  test('slot cost rounds half up, per slot', () => {
    expect(slotCostFen(1_000, 15 * 31, 15)).toBe(31);
    expect(slotCostFen(500, 15 * 31, 15)).toBe(16); // 15.5
    expect(slotCostFen(499, 15 * 31, 15)).toBe(15); // 15.469
    expect(slotCostFen(0, 15 * 112, 15)).toBe(0);
  });

  test.each<[string, Tariff, string]>([
    ['gap', { utcOffsetMinutes: 0, bands: [{ name: 'flat', fromMinute: 0, toMinute: 1000, fenPerKwh: 50 }] }, 'minute 1000'],
    [
      'overlap',
      {
        utcOffsetMinutes: 0,
        bands: [
          { name: 'flat', fromMinute: 0, toMinute: 1440, fenPerKwh: 50 },
          { name: 'peak', fromMinute: 10, toMinute: 20, fenPerKwh: 90 },
        ],
      },
      'overlaps',
    ],
    ['empty band', { utcOffsetMinutes: 0, bands: [{ name: 'flat', fromMinute: 5, toMinute: 5, fenPerKwh: 50 }] }, 'empty'],
    ['fractional price', { utcOffsetMinutes: 0, bands: [{ name: 'flat', fromMinute: 0, toMinute: 1440, fenPerKwh: 50.5 }] }, 'integer'],
    ['offset beyond 14 h', { utcOffsetMinutes: 900, bands: [{ name: 'flat', fromMinute: 0, toMinute: 1440, fenPerKwh: 50 }] }, '14 h'],
  ])('invalid tariff: %s', (_, tariff, message) => {
    expect(tariffProblem(tariff)?.message).toContain(message);
  });

  test('a valid tariff has no problem', () => {
    expect(tariffProblem(SHANGHAI_LIKE)).toBeNull();
  });
});
