import type { PlannerCar, PlannerInput, Tariff } from './types';

/** A Shanghai-like three-band tariff (local UTC+8): valley 22-06, peak 08-11 and 18-21, flat otherwise. */
export const SHANGHAI_LIKE: Tariff = {
  utcOffsetMinutes: 480,
  bands: [
    { name: 'valley', fromMinute: 22 * 60, toMinute: 6 * 60, fenPerKwh: 31 },
    { name: 'flat', fromMinute: 6 * 60, toMinute: 8 * 60, fenPerKwh: 68 },
    { name: 'peak', fromMinute: 8 * 60, toMinute: 11 * 60, fenPerKwh: 112 },
    { name: 'flat', fromMinute: 11 * 60, toMinute: 18 * 60, fenPerKwh: 68 },
    { name: 'peak', fromMinute: 18 * 60, toMinute: 21 * 60, fenPerKwh: 112 },
    { name: 'flat', fromMinute: 21 * 60, toMinute: 22 * 60, fenPerKwh: 68 },
  ],
};

/** Deterministic pseudo-random numbers (mulberry32) for property tests and the benchmark. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function car(n: number, over: Partial<PlannerCar> = {}): PlannerCar {
  return { pileId: `P${n}`, vehicleId: `V${n}`, socPct: 20, capacityWh: 50_000, maxPowerW: 7_000, ...over };
}

/** 18:00 Shanghai time on 26 Nov 2026, 48 slots (12 h) by default. */
export function input(cars: PlannerCar[], over: Partial<PlannerInput> = {}): PlannerInput {
  return { start: '2026-11-26T10:00:00Z', horizonSlots: 48, stationCapW: 100_000, ambientC: 20, tariff: SHANGHAI_LIKE, cars, ...over };
}
