import type { PileSchedule } from './planner';

/** The one profile id smart charging owns on every pile; a new plan replaces it. */
export const SMART_PROFILE_ID = 1001;
export const SLOT_SECONDS = 900;

/**
 * A planned schedule as an OCPP 1.6 SetChargingProfile request: Absolute, in W, one period per
 * run of equal slots. With a transaction running it is a TxProfile for that transaction;
 * otherwise a TxDefaultProfile, which the pile applies to the next transaction on the connector.
 * `minLimitW` is the pile's 6 A floor: a car planned below it (a cold car drawing less than the
 * floor) is given the floor, since a real pile cannot signal less; the car still draws only what
 * it accepts.
 */
export function profileFromSchedule(schedule: Pick<PileSchedule, 'slots'>, options: { connectorId: number; transactionId?: number; minLimitW?: number }) {
  const periods: Array<{ startPeriod: number; limit: number }> = [];
  schedule.slots.forEach((slot, index) => {
    const planned = Math.max(0, Math.round(slot.powerW));
    const limit = planned > 0 ? Math.max(planned, options.minLimitW ?? 0) : 0;
    if (periods.length > 0 && periods[periods.length - 1]!.limit === limit) return;
    periods.push({ startPeriod: index * SLOT_SECONDS, limit });
  });
  const start = schedule.slots[0]?.start ?? new Date().toISOString();
  return {
    connectorId: options.connectorId,
    csChargingProfiles: {
      chargingProfileId: SMART_PROFILE_ID,
      stackLevel: 0,
      chargingProfilePurpose: options.transactionId === undefined ? ('TxDefaultProfile' as const) : ('TxProfile' as const),
      chargingProfileKind: 'Absolute' as const,
      ...(options.transactionId === undefined ? {} : { transactionId: options.transactionId }),
      chargingSchedule: {
        duration: schedule.slots.length * SLOT_SECONDS,
        startSchedule: start,
        chargingRateUnit: 'W' as const,
        chargingSchedulePeriod: periods.length > 0 ? periods : [{ startPeriod: 0, limit: 0 }],
      },
    },
  };
}
