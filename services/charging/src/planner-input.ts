import { chargeEfficiency, powerDerate, type PlannerCar } from './planner';

/** IEC 61851: a pile cannot signal less than 6 A per phase while charging. */
export const PILE_MIN_CURRENT_A = 6;

/** A car parked at a pile, as smart charging reads it from the database. */
export interface ParkedCarRow {
  pileId: string;
  vehicleId: string;
  /** The pile's last MeterValues SoC (null when none is recent). */
  connectorSocPct: number | null;
  /** The car's own last report. */
  vehicleSocPct: number;
  batteryKwh: number | null;
  pileMaxPowerW: number;
  /** When the car's next booking needs it: a rental hold's expiry or a charging slot's end. */
  departure: Date | null;
  /**
   * The charging booking's `energy_wh`: energy the member booked to charge, metered at the pile
   * like a session's energy (null: fill the battery; also null for a rental hold).
   */
  bookedWh: number | null;
  /** Energy metered for the car since that booking was made (what already counts towards it). */
  deliveredWh: number;
}

export interface PlannerCarContext {
  defaultBatteryKwh: number;
  ambientC: number;
  pileVoltageV: number;
  pilePhases: number;
}

/**
 * The lowest power a pile can hold while charging: 6 A on each phase. A pile rated below that on
 * the configured phases can only be wired single-phase.
 */
export function pileMinPowerW(maxPowerW: number, voltageV: number, phases: number): number {
  const perPhaseW = PILE_MIN_CURRENT_A * voltageV;
  return maxPowerW >= perPhaseW * phases ? perPhaseW * phases : perPhaseW;
}

/**
 * The pile's floor as the planner's minimum. A cold car may accept less than the floor: the pile is
 * then sent the floor (profileFromSchedule's minLimitW) and the car draws its derated power, so
 * the planner sees that power, in whole Wh per 15-minute slot, as the minimum (else it could not
 * plan the car at all).
 */
export function plannerMinPowerW(maxPowerW: number, context: Pick<PlannerCarContext, 'ambientC' | 'pileVoltageV' | 'pilePhases'>): number {
  const deratedW = Math.floor((maxPowerW * powerDerate(context.ambientC)) / 4) * 4;
  return Math.min(pileMinPowerW(maxPowerW, context.pileVoltageV, context.pilePhases), deratedW);
}

/**
 * The planner's view of a parked car. A charging booking asks for energy to *add* (metered, what
 * the member pays for); the planner wants a level in the battery, so what is still to be charged
 * becomes a target SoC: the SoC now plus the remaining energy as it reaches the battery. Counting
 * what was delivered since the booking keeps the target still while the car charges (re-plans see
 * a higher SoC and less left to add). No neededWh: the planner's margin is for a driving booking's
 * needs, not for energy the member chose. A rental hold has no energy: the target is a full battery.
 */
export function plannerCarFor(row: ParkedCarRow, context: PlannerCarContext): PlannerCar {
  const socPct = row.connectorSocPct ?? row.vehicleSocPct;
  const capacityWh = Math.round((row.batteryKwh ?? context.defaultBatteryKwh) * 1000);
  const car: PlannerCar = {
    pileId: row.pileId,
    vehicleId: row.vehicleId,
    socPct,
    capacityWh,
    maxPowerW: row.pileMaxPowerW,
    minPowerW: plannerMinPowerW(row.pileMaxPowerW, context),
  };
  if (row.departure) car.departure = row.departure.toISOString();
  if (row.bookedWh !== null) {
    const remainingWh = Math.max(0, row.bookedWh - row.deliveredWh);
    const storedWh = remainingWh * chargeEfficiency(context.ambientC);
    car.targetSocPct = Math.min(100, socPct + (storedWh / capacityWh) * 100);
  }
  return car;
}
