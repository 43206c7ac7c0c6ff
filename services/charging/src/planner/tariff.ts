import type { Tariff } from './types';

const DAY_MINUTES = 1440;

/** Returns a message describing what is wrong with the tariff, or null when it is usable. */
export function tariffProblem(tariff: Tariff): { field: string; message: string } | null {
  if (!Number.isInteger(tariff.utcOffsetMinutes) || Math.abs(tariff.utcOffsetMinutes) > 14 * 60) {
    return { field: 'tariff.utcOffsetMinutes', message: 'must be an integer number of minutes within ±14 h' };
  }
  if (!Array.isArray(tariff.bands) || tariff.bands.length === 0) return { field: 'tariff.bands', message: 'must list at least one band' };
  const owner = new Int32Array(DAY_MINUTES).fill(-1);
  for (const [i, band] of tariff.bands.entries()) {
    const field = `tariff.bands[${i}]`;
    if (band.name !== 'peak' && band.name !== 'flat' && band.name !== 'valley') return { field: `${field}.name`, message: 'must be peak, flat or valley' };
    for (const key of ['fromMinute', 'toMinute'] as const) {
      if (!Number.isInteger(band[key]) || band[key] < 0 || band[key] > DAY_MINUTES)
        return { field: `${field}.${key}`, message: 'must be an integer minute 0..1440' };
    }
    if (!Number.isInteger(band.fenPerKwh) || band.fenPerKwh < 0 || band.fenPerKwh > 100_000) {
      return { field: `${field}.fenPerKwh`, message: 'must be a non-negative integer (fen per kWh)' };
    }
    if (band.fromMinute === band.toMinute) return { field, message: 'is empty (fromMinute equals toMinute)' };
    for (const minute of bandMinutes(band.fromMinute, band.toMinute)) {
      if (owner[minute] !== -1) return { field, message: `overlaps tariff.bands[${owner[minute]}] at minute ${minute}` };
      owner[minute] = i;
    }
  }
  const gap = owner.indexOf(-1);
  if (gap >= 0) return { field: 'tariff.bands', message: `must cover the whole day; minute ${gap} (local) has no band` };
  return null;
}

function* bandMinutes(from: number, to: number): Generator<number> {
  // from > to wraps midnight, e.g. a valley band 22:00-06:00.
  if (from < to) for (let m = from; m < to; m++) yield m;
  else {
    for (let m = from; m < DAY_MINUTES; m++) yield m;
    for (let m = 0; m < to; m++) yield m;
  }
}

/** Price of every local minute of the day, fen per kWh (the tariff must be valid). */
export function minutePrices(tariff: Tariff): Int32Array {
  const prices = new Int32Array(DAY_MINUTES);
  for (const band of tariff.bands) for (const minute of bandMinutes(band.fromMinute, band.toMinute)) prices[minute] = band.fenPerKwh;
  return prices;
}

/**
 * For each slot, the sum over its minutes of the price in force (fen/kWh × minutes). With constant
 * power through the slot, a slot's energy costs energyWh × fenMinutes / (slotMinutes × 1000) fen, so
 * a band edge inside a slot is priced exactly. The UTC start is converted with utcOffsetMinutes.
 */
export function slotFenMinutes(tariff: Tariff, startMs: number, slotMinutes: number, slots: number): number[] {
  const prices = minutePrices(tariff);
  const startMinute = Math.floor(startMs / 60_000);
  const out: number[] = [];
  for (let s = 0; s < slots; s++) {
    let sum = 0;
    for (let m = 0; m < slotMinutes; m++) {
      const local = (((startMinute + s * slotMinutes + m + tariff.utcOffsetMinutes) % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
      sum += prices[local]!;
    }
    out.push(sum);
  }
  return out;
}

/** Cost in fen of energyWh drawn in one slot, rounded half up (the one rounding step; see docs). */
export function slotCostFen(energyWh: number, fenMinutes: number, slotMinutes: number): number {
  const divisor = slotMinutes * 1000;
  return Math.floor((energyWh * fenMinutes * 2 + divisor) / (2 * divisor));
}
