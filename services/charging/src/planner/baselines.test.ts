import { planCharging, planFlatLimit, planUncontrolled } from './index';
import { car, input } from './testing';

describe('baselines', () => {
  test('uncontrolled: full power from now until the energy is in, whatever the tariff', () => {
    const result = planUncontrolled(input([car(1, { neededWh: 20_000, departure: '2026-11-26T22:00:00Z' })]));
    const powers = result.schedules[0]!.slots.map((s) => s.powerW);
    // 13,334 Wh: 7 full slots then 1,084 Wh.
    expect(powers.slice(0, 9)).toEqual([7_000, 7_000, 7_000, 7_000, 7_000, 7_000, 7_000, 4_336, 0]);
    expect(result.schedules[0]!.energyWh).toBe(13_334);
    expect(powers.slice(8).every((p) => p === 0)).toBe(true);
  });

  test('uncontrolled: the cap is shared equally when the cars ask for more', () => {
    const result = planUncontrolled(input([car(1, { maxPowerW: 3_000 }), car(2), car(3)], { stationCapW: 10_000 }));
    expect(result.schedules.map((s) => s.slots[0]!.powerW)).toEqual([3_000, 3_500, 3_500]);
  });

  test('flat limit: the energy spread evenly until departure, no tariff, capped by the car power', () => {
    const result = planFlatLimit(input([car(1, { neededWh: 20_000, departure: '2026-11-26T20:00:00Z' })]));
    const powers = result.schedules[0]!.slots.map((s) => s.powerW);
    // 13,334 Wh over 40 slots: 334 Wh per slot (1,336 W), the last slot gets the rest.
    expect(powers.slice(0, 39).every((p) => p === 1_336)).toBe(true);
    expect(result.schedules[0]!.energyWh).toBe(13_334);
    expect(powers.slice(40).every((p) => p === 0)).toBe(true);
  });

  test('on a capped station the planner costs less than both and meets the deadlines they miss', () => {
    const cars = Array.from({ length: 6 }, (_, i) => car(i + 1, { socPct: 10 + 5 * i, departure: `2026-11-26T${14 + 2 * i}:00:00Z`, neededWh: 25_000 }));
    const at = input(cars, { stationCapW: 14_000 });
    const ours = planCharging(at);
    const uncontrolled = planUncontrolled(at);
    const flat = planFlatLimit(at);
    expect(ours.unmet.length).toBeLessThanOrEqual(Math.min(uncontrolled.unmet.length, flat.unmet.length));
    const delivered = (r: typeof ours) => r.schedules.reduce((a, s) => a + s.energyWh, 0);
    expect(delivered(ours)).toBeGreaterThanOrEqual(delivered(uncontrolled));
    expect(ours.costFen / delivered(ours)).toBeLessThan(uncontrolled.costFen / delivered(uncontrolled));
    expect(ours.costFen / delivered(ours)).toBeLessThan(flat.costFen / delivered(flat));
  });
});
