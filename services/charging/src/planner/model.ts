import { slotCostFen, slotFenMinutes, tariffProblem } from './tariff';
import { chargeEfficiency, NOMINAL_EFFICIENCY, powerDerate } from './temperature';
import type { PileSchedule, PlannerCar, PlannerInput, PlannerResult, UnmetDeadline, UnmetReason } from './types';

/** Invalid planner input; `field` names the offending field (e.g. "cars[3].socPct"). */
export class PlannerInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'PlannerInputError';
  }
}

export const DEFAULT_MARGIN_PCT = 10;
export const DEFAULT_READY_BEFORE_MINUTES = 30;
/** A week of 15-minute slots: plenty for the next booking, and bounds the work per plan. */
export const MAX_HORIZON_SLOTS = 672;
export const MAX_CARS = 5000;

/** A car reduced to integers: energies in Wh per slot and per plan, grid side unless named stored. */
export interface ModelCar {
  car: PlannerCar;
  /** Grid Wh the car can take in one slot (rated power, cold-derated); 0 when that is below its minimum. */
  slotMaxWh: number;
  /** Least grid Wh in a slot where the car charges (from minPowerW), 0 for none. */
  slotMinWh: number;
  /** Most grid Wh the battery can take. */
  roomGridWh: number;
  /** Slots the car can use: those ending by its departure, at most the horizon. */
  windowSlots: number;
  /** Grid Wh to draw so that targetWh is stored. */
  demandWh: number;
  /** Battery Wh to add. */
  targetWh: number;
  /** What the booking needs beyond the full battery (stored Wh), 0 normally. */
  beyondBatteryWh: number;
  /** Departure lies inside the horizon: a deadline this plan must meet. */
  deadlineInHorizon: boolean;
  /** Slots between the horizon's end and a departure beyond it (0 otherwise). */
  slotsAfterHorizon: number;
  /** At most what the car alone can take in its window (demand clipped by its power and time). */
  reachableWh: number;
  /** Why reachableWh < demandWh, if it is. */
  ownLimit: Exclude<UnmetReason, 'cap'> | null;
}

export interface Model {
  input: PlannerInput;
  startMs: number;
  slotMinutes: number;
  slots: number;
  /** Station cap in Wh per slot. */
  capWh: number;
  /** Slots before a departure by which the plan aims to be done (readyBeforeMinutes). */
  bufferSlots: number;
  efficiency: number;
  /** Per slot: Σ over its minutes of fen/kWh (see tariff.ts). */
  fenMinutes: number[];
  slotStarts: string[];
  cars: ModelCar[];
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseTime(value: unknown, field: string): number {
  const ms = typeof value === 'string' && ISO_UTC.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new PlannerInputError(field, 'must be an ISO 8601 date-time with a zone, e.g. 2026-11-26T08:00:00Z');
  return ms;
}

function finite(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new PlannerInputError(field, `must be a number from ${min} to ${max}`);
  }
  return value;
}

/** Validates the input and reduces every car to the integer model both the planner and the baselines use. */
export function buildModel(input: PlannerInput): Model {
  if (typeof input !== 'object' || input === null) throw new PlannerInputError('input', 'must be an object');
  const startMs = parseTime(input.start, 'start');
  const slotMinutes = input.slotMinutes ?? 15;
  if (slotMinutes !== 15) throw new PlannerInputError('slotMinutes', 'must be 15');
  const slots = input.horizonSlots;
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_HORIZON_SLOTS) {
    throw new PlannerInputError('horizonSlots', `must be an integer from 1 to ${MAX_HORIZON_SLOTS}`);
  }
  const capW = finite(input.stationCapW, 'stationCapW', 0, 1e9);
  const ambientC = finite(input.ambientC, 'ambientC', -60, 70);
  const readyBefore =
    input.readyBeforeMinutes === undefined ? DEFAULT_READY_BEFORE_MINUTES : finite(input.readyBeforeMinutes, 'readyBeforeMinutes', 0, 24 * 60);
  const marginPct = input.marginPct === undefined ? DEFAULT_MARGIN_PCT : finite(input.marginPct, 'marginPct', 0, 100);
  if (typeof input.tariff !== 'object' || input.tariff === null) throw new PlannerInputError('tariff', 'must be an object');
  const problem = tariffProblem(input.tariff);
  if (problem) throw new PlannerInputError(problem.field, problem.message);
  if (!Array.isArray(input.cars) || input.cars.length > MAX_CARS) throw new PlannerInputError('cars', `must be an array of at most ${MAX_CARS} cars`);

  const slotMs = slotMinutes * 60_000;
  const derate = powerDerate(ambientC);
  const efficiency = chargeEfficiency(ambientC);
  const piles = new Set<string>();
  const vehicles = new Set<string>();
  const cars = input.cars.map((car, i): ModelCar => {
    const at = `cars[${i}]`;
    if (typeof car !== 'object' || car === null) throw new PlannerInputError(at, 'must be an object');
    for (const key of ['pileId', 'vehicleId'] as const) {
      if (typeof car[key] !== 'string' || car[key].length === 0) throw new PlannerInputError(`${at}.${key}`, 'must be a non-empty string');
    }
    if (piles.has(car.pileId)) throw new PlannerInputError(`${at}.pileId`, `pile ${car.pileId} appears twice`);
    if (vehicles.has(car.vehicleId)) throw new PlannerInputError(`${at}.vehicleId`, `vehicle ${car.vehicleId} appears twice`);
    piles.add(car.pileId);
    vehicles.add(car.vehicleId);
    const soc = finite(car.socPct, `${at}.socPct`, 0, 100);
    const capacity = finite(car.capacityWh, `${at}.capacityWh`, 1, 1e7);
    const maxPowerW = finite(car.maxPowerW, `${at}.maxPowerW`, 0, 1e7);
    const targetSoc = car.targetSocPct === undefined ? undefined : finite(car.targetSocPct, `${at}.targetSocPct`, 0, 100);
    const needed = car.neededWh === undefined ? undefined : finite(car.neededWh, `${at}.neededWh`, 0, 1e7);
    const departureMs = car.departure === undefined ? undefined : parseTime(car.departure, `${at}.departure`);
    const minPowerW = car.minPowerW === undefined ? 0 : finite(car.minPowerW, `${at}.minPowerW`, 0, 1e7);

    const storedNow = (capacity * soc) / 100;
    const roomWh = Math.floor(capacity - storedNow + 1e-9);
    // The booking needs its energy plus the margin in the battery; an explicit target SoC may ask for more.
    let wanted = needed === undefined ? ((targetSoc ?? 100) * capacity) / 100 - storedNow : needed * (1 + marginPct / 100) - storedNow;
    if (needed !== undefined && targetSoc !== undefined) wanted = Math.max(wanted, (targetSoc * capacity) / 100 - storedNow);
    const wantedWh = Math.max(0, Math.ceil(wanted - 1e-9));
    // Only the need itself beyond a full battery is a failure; the margin is ours and is clipped.
    const beyondBatteryWh = needed !== undefined && needed > capacity ? Math.ceil(needed - capacity) : 0;
    const gridFor = (stored: number, eff: number) => Math.max(0, Math.min(Math.ceil(stored / eff - 1e-9), Math.floor(roomWh / eff + 1e-9)));
    const slotMinWh = Math.ceil((minPowerW * slotMinutes) / 60 - 1e-9);
    // A battery closer to full than one slot at the pile's minimum power cannot be topped up without overfilling it: left as it is.
    const nearlyFull = Math.floor(roomWh / efficiency + 1e-9) < slotMinWh;
    const targetWh = nearlyFull ? 0 : Math.min(wantedWh, roomWh);
    const demandWh = gridFor(targetWh, efficiency);

    const deratedWh = Math.floor((maxPowerW * derate * slotMinutes) / 60 + 1e-9);
    // A pile that cannot go below its minimum cannot charge a car whose (derated) power is lower still.
    const slotMaxWh = deratedWh < slotMinWh ? 0 : deratedWh;
    let windowSlots = slots;
    let slotsAfterHorizon = 0;
    let deadlineInHorizon = false;
    let departureGone = false;
    if (departureMs !== undefined) {
      // A departure inside a slot leaves that slot unusable: profiles are per whole slot.
      const untilDeparture = Math.floor((departureMs - startMs) / slotMs);
      departureGone = untilDeparture < 1;
      windowSlots = Math.max(0, Math.min(slots, untilDeparture));
      deadlineInHorizon = untilDeparture <= slots;
      slotsAfterHorizon = Math.max(0, untilDeparture - slots);
    }
    const reachableWh = Math.min(demandWh, slotMaxWh * windowSlots);
    let ownLimit: ModelCar['ownLimit'] = null;
    if (beyondBatteryWh > 0) ownLimit = 'battery';
    if (reachableWh < demandWh) {
      const ratedWh = Math.floor((maxPowerW * slotMinutes) / 60 + 1e-9);
      const nominalSlotMaxWh = ratedWh < slotMinWh ? 0 : ratedWh;
      const nominalDemandWh = gridFor(targetWh, NOMINAL_EFFICIENCY);
      if (departureGone) ownLimit = 'time';
      else if (nominalSlotMaxWh * windowSlots >= nominalDemandWh) ownLimit = 'cold';
      else ownLimit = 'car-power';
    }
    return {
      car,
      slotMaxWh,
      slotMinWh,
      roomGridWh: Math.floor(roomWh / efficiency + 1e-9),
      windowSlots,
      demandWh,
      targetWh,
      beyondBatteryWh,
      deadlineInHorizon,
      slotsAfterHorizon,
      reachableWh,
      ownLimit,
    };
  });

  const slotStarts = Array.from({ length: slots }, (_, s) => new Date(startMs + s * slotMs).toISOString());
  return {
    input,
    startMs,
    slotMinutes,
    slots,
    capWh: Math.floor((capW * slotMinutes) / 60 + 1e-9),
    bufferSlots: Math.ceil(readyBefore / slotMinutes),
    efficiency,
    fenMinutes: slotFenMinutes(input.tariff, startMs, slotMinutes, slots),
    slotStarts,
    cars,
  };
}

const kwh = (wh: number) => `${(wh / 1000).toFixed(1)} kWh`;

function unmetMessage(reason: UnmetReason, m: ModelCar, shortfallWh: number, model: Model): string {
  const who = `vehicle ${m.car.vehicleId} on pile ${m.car.pileId}`;
  const departure = m.car.departure ?? '';
  switch (reason) {
    case 'time':
      return `${who}: departure ${departure} leaves no whole ${model.slotMinutes}-minute slot to charge in; ${kwh(shortfallWh)} short`;
    case 'battery':
      return `${who}: the booking needs ${kwh(m.car.neededWh ?? 0)}, more than the battery holds; ${kwh(shortfallWh)} short even when full`;
    case 'cold':
      return `${who}: at ${model.input.ambientC} °C the car charges too slowly to store ${kwh(m.targetWh)} by ${departure}; ${kwh(shortfallWh)} short (enough at normal temperature)`;
    case 'car-power':
      return `${who}: at its maximum ${m.car.maxPowerW} W the car cannot store ${kwh(m.targetWh)} by ${departure || 'the end of the horizon'}; ${kwh(shortfallWh)} short`;
    case 'cap':
      return `${who}: the station cap of ${model.input.stationCapW} W is taken by cars leaving earlier; ${kwh(shortfallWh)} short of ${kwh(m.targetWh)} by ${departure}`;
  }
}

/** Turns a grid-energy matrix (Wh per car per slot) into schedules, costs and unmet deadlines. */
export function buildResult(model: Model, energy: number[][]): PlannerResult {
  const schedules: PileSchedule[] = [];
  const unmet: UnmetDeadline[] = [];
  let costFen = 0;
  const perHour = 60 / model.slotMinutes;
  model.cars.forEach((m, i) => {
    const row = energy[i]!;
    let energyWh = 0;
    let carCost = 0;
    const slots = row.map((wh, s) => {
      energyWh += wh;
      carCost += slotCostFen(wh, model.fenMinutes[s]!, model.slotMinutes);
      return { start: model.slotStarts[s]!, powerW: wh * perHour };
    });
    const met = energyWh >= m.demandWh;
    const storedWh = met ? m.targetWh : Math.min(m.targetWh, Math.floor(energyWh * model.efficiency + 1e-9));
    const shortfallWh = m.targetWh - storedWh;
    costFen += carCost;
    schedules.push({
      pileId: m.car.pileId,
      vehicleId: m.car.vehicleId,
      slots,
      energyWh,
      storedWh,
      targetWh: m.targetWh,
      shortfallWh,
      costFen: carCost,
      deadline: m.car.departure ?? null,
      meetsDeadline: met && m.beyondBatteryWh === 0,
    });
    // A departure beyond the horizon is at risk only if the slots after the horizon cannot make up the rest.
    const missed = m.deadlineInHorizon
      ? shortfallWh
      : m.slotsAfterHorizon > 0
        ? Math.max(0, shortfallWh - Math.floor(m.slotMaxWh * m.slotsAfterHorizon * model.efficiency))
        : 0;
    const total = missed + m.beyondBatteryWh;
    if (total > 0) {
      // The car's own limit explains the shortfall only if the plan gave it all it could take.
      const reason: UnmetReason = m.ownLimit !== null && energyWh >= m.reachableWh ? m.ownLimit : 'cap';
      unmet.push({ pileId: m.car.pileId, vehicleId: m.car.vehicleId, reason, shortfallWh: total, message: unmetMessage(reason, m, total, model) });
    }
  });
  return { schedules, costFen, unmet };
}
