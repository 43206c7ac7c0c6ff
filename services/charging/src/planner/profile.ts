import type { PileSchedule } from './types';

/** One OCPP ChargingSchedulePeriod: seconds from the schedule's start, limit in W. */
export interface ChargingPeriod {
  startPeriod: number;
  limit: number;
}

/**
 * The schedule as OCPP charging schedule periods (chargingRateUnit W, relative to the first slot's
 * start): consecutive slots with the same power become one period.
 */
export function chargingPeriods(schedule: PileSchedule): ChargingPeriod[] {
  const first = schedule.slots[0];
  if (!first) return [];
  const origin = Date.parse(first.start);
  const periods: ChargingPeriod[] = [];
  for (const slot of schedule.slots) {
    if (periods.at(-1)?.limit === slot.powerW) continue;
    periods.push({ startPeriod: Math.round((Date.parse(slot.start) - origin) / 1000), limit: slot.powerW });
  }
  return periods;
}
