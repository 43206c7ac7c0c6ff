/**
 * Input and output of the time-shared charging planner (docs/charging-planner.md).
 * Times are UTC ISO strings, energy in Wh, power in W, money in integer fen.
 */

/** One time-of-use band: minutes of the local day, [fromMinute, toMinute); from > to wraps midnight. */
export interface TariffBand {
  name: 'peak' | 'flat' | 'valley';
  fromMinute: number;
  toMinute: number;
  fenPerKwh: number;
}

/** A time-of-use tariff. The bands cover every minute of the local day exactly once. */
export interface Tariff {
  /** Local time minus UTC, e.g. +480 for Asia/Shanghai (fixed: pass the offset in force). */
  utcOffsetMinutes: number;
  bands: TariffBand[];
}

export interface PlannerCar {
  pileId: string;
  vehicleId: string;
  socPct: number;
  capacityWh: number;
  /** The lower of the car's and the pile's limit, measured at the pile (grid side), before the cold derating. */
  maxPowerW: number;
  /** SoC to reach by departure; default 100, or only what the booking needs when neededWh is given. */
  targetSocPct?: number;
  /** ISO UTC start of the car's next booking; absent = no deadline (charge cheaply by the horizon's end). */
  departure?: string;
  /** Energy the next booking needs in the battery; the planner adds marginPct. */
  neededWh?: number;
  /**
   * The lowest power the pile can hold while charging (IEC 61851: 6 A, about 1,380 W on one phase,
   * 4,140 W on three); every slot is then either 0 or at least this. Default 0 (any power).
   */
  minPowerW?: number;
}

export interface PlannerInput {
  /** ISO UTC start of the first slot. */
  start: string;
  slotMinutes?: 15;
  horizonSlots: number;
  /** The station's grid connection limit, never exceeded in any slot. */
  stationCapW: number;
  ambientC: number;
  tariff: Tariff;
  cars: PlannerCar[];
  /** Safety margin on neededWh, in percent (default 10). */
  marginPct?: number;
  /**
   * Aim to have each car ready this long before its departure (default 30), when the energy every
   * car is given still fits: slack for cars that arrive later with earlier departures.
   */
  readyBeforeMinutes?: number;
}

export interface PlannedSlot {
  start: string;
  /** Average power drawn at the pile during the slot (the charging profile's limit). */
  powerW: number;
}

export interface PileSchedule {
  pileId: string;
  vehicleId: string;
  /** One entry per slot of the horizon (zero power where the car does not charge). */
  slots: PlannedSlot[];
  /** Energy drawn from the grid (what is paid for). */
  energyWh: number;
  /** Energy that reaches the battery (energyWh times the charging efficiency). */
  storedWh: number;
  /** Energy the planner aimed to store: the booking's need with the margin, or up to the target SoC. */
  targetWh: number;
  /** targetWh not stored by the deadline (0 when met). */
  shortfallWh: number;
  costFen: number;
  /** The departure the plan works to, or null when the car has none. */
  deadline: string | null;
  /** True when targetWh is stored by the deadline (cars without a departure: by the horizon's end). */
  meetsDeadline: boolean;
}

/**
 * Why a deadline cannot be met: 'time' departure already passed or within the first slot,
 * 'car-power' the car's own power limit over the time left is too low, 'cold' it would be enough
 * at normal temperature, 'battery' the booking needs more than the full battery holds,
 * 'cap' the station cap shared with cars that leave earlier.
 */
export type UnmetReason = 'cap' | 'car-power' | 'time' | 'cold' | 'battery';

export interface UnmetDeadline {
  pileId: string;
  vehicleId: string;
  reason: UnmetReason;
  shortfallWh: number;
  message: string;
}

export interface PlannerResult {
  schedules: PileSchedule[];
  costFen: number;
  unmet: UnmetDeadline[];
}
