import { bandsProblem, localHour, ratesByHour, type TimeBand } from './bands';

/**
 * The fee of a rental: a pure function of the plan it started under, its times, the distance
 * driven and whether it ended at another station. All money is integer fen.
 *
 * Rules (docs/rental.md has worked examples):
 * - Time is charged per started minute: 60 s is 1 minute, 61 s is 2. Each minute is charged the
 *   rate of the local hour (in the plan's time zone) it starts in: the plan's time bands, or its
 *   base per-minute rate outside them. A trip across band boundaries pays each band's minutes.
 * - Distance is charged per metre at per_km_fen / 1000, rounded half up to a whole fen
 *   (1 500 m at 5 fen/km is 7.5 → 8 fen).
 * - The daily cap bounds the time fee of each 24-hour period counted from the start of the
 *   rental (minutes 1-1440, 1441-2880, ...), whatever bands its minutes fell in. Periods follow
 *   the rental, not the calendar: without bands a trip across midnight or a month end costs what
 *   the same trip at noon costs. Distance is not capped.
 * - The minimum charge applies to time plus distance; the one-way fee comes on top of it.
 * - The one-way fee is a flat fee plus per km of straight-line distance between the start and
 *   end stations (rounded half up like distance).
 */
export interface PricingPlan {
  id: string;
  /** The base rate: every local hour no time band covers. */
  perMinuteFen: number;
  perKmFen: number;
  /** Cap on the time fee per 24-hour period; null for no cap. */
  dailyCapFen: number | null;
  minimumFen: number;
  reservationFeeFen: number;
  holdMinutes: number;
  oneWayFeeFen: number;
  oneWayPerKmFen: number;
  depositFen: number;
  validFrom: Date;
  validTo: Date | null;
  /** The cars the plan prices: one model, or null for every model. */
  vehicleModel: string | null;
  /** The station whose rentals (by start) the plan prices, or null for every station. */
  stationId: string | null;
  /** IANA zone whose local hours the bands follow (the operator's, e.g. Asia/Shanghai). */
  timeZone: string;
  timeBands: TimeBand[];
}

export interface FeeInput {
  startedAt: Date;
  endedAt: Date;
  /** Metres driven (odometer difference). */
  distanceM: number;
  /** Set when the rental ends at another station than it started: the stations' distance. */
  oneWay: { stationDistanceM: number } | null;
}

/** A run of consecutive minutes charged at one rate. */
export interface BandMinutes {
  perMinuteFen: number;
  minutes: number;
}

export interface FeeBreakdown {
  planId: string;
  minutes: number;
  /** 24-hour periods the rental touched (each has its own cap). */
  periods: number;
  timeFen: number;
  /** The minutes by rate, in trip order (before the cap); they add up to `minutes`. */
  bands: BandMinutes[];
  distanceM: number;
  distanceFen: number;
  capApplied: boolean;
  minimumApplied: boolean;
  oneWayFen: number;
  totalFen: number;
}

const MINUTE_MS = 60_000;
const PERIOD_MINUTES = 24 * 60;

/** Non-negative integer a·b/1000 rounded half up, exactly (no floating point). */
export function perKmFen(metres: number, fenPerKm: number): number {
  const product = metres * fenPerKm;
  if (!Number.isSafeInteger(product)) throw new RangeError(`distance fee out of range: ${metres} m × ${fenPerKm} fen/km`);
  return Math.floor((product + 500) / 1000);
}

function assertFen(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/** A run of minutes within one local hour and one 24-hour period of the rental. */
export interface MinuteRun {
  /** Index of the run's first minute (0 = the rental's first minute). */
  firstMinute: number;
  minutes: number;
  period: number;
  hour: number;
  perMinuteFen: number;
}

/**
 * Splits a rental's started minutes at local hour boundaries and at its 24-hour periods. A minute
 * belongs to the hour it starts in.
 */
export function splitMinutes(plan: Pick<PricingPlan, 'perMinuteFen' | 'timeBands' | 'timeZone'>, startedAt: Date, minutes: number): MinuteRun[] {
  const rates = ratesByHour(plan.perMinuteFen, plan.timeBands);
  const runs: MinuteRun[] = [];
  const start = startedAt.getTime();
  for (let first = 0; first < minutes;) {
    const at = start + first * MINUTE_MS;
    const { hour, nextHourAt } = localHour(at, plan.timeZone);
    const period = Math.floor(first / PERIOD_MINUTES);
    const inHour = Math.max(1, Math.ceil((nextHourAt - at) / MINUTE_MS));
    const count = Math.min(inHour, minutes - first, (period + 1) * PERIOD_MINUTES - first);
    runs.push({ firstMinute: first, minutes: count, period, hour, perMinuteFen: rates[hour]! });
    first += count;
  }
  return runs;
}

export function computeFee(plan: PricingPlan, input: FeeInput): FeeBreakdown {
  const durationMs = input.endedAt.getTime() - input.startedAt.getTime();
  if (!Number.isFinite(durationMs) || durationMs < 0) throw new RangeError('a rental cannot end before it starts');
  assertFen('distanceM', input.distanceM);
  for (const key of ['perMinuteFen', 'perKmFen', 'minimumFen', 'oneWayFeeFen', 'oneWayPerKmFen'] as const) assertFen(key, plan[key]);
  if (plan.dailyCapFen !== null) assertFen('dailyCapFen', plan.dailyCapFen);
  const invalidBand = bandsProblem(plan.timeBands);
  if (invalidBand) throw new RangeError(`timeBands[${invalidBand.index}].${invalidBand.field} ${invalidBand.reason}`);

  const minutes = Math.ceil(durationMs / MINUTE_MS);
  const periods = Math.max(1, Math.ceil(minutes / PERIOD_MINUTES));
  const runs = splitMinutes(plan, input.startedAt, minutes);
  const periodFen = new Array<number>(periods).fill(0);
  const bands: BandMinutes[] = [];
  for (const run of runs) {
    periodFen[run.period]! += run.minutes * run.perMinuteFen;
    const last = bands.at(-1);
    if (last?.perMinuteFen === run.perMinuteFen) last.minutes += run.minutes;
    else bands.push({ perMinuteFen: run.perMinuteFen, minutes: run.minutes });
  }
  let timeFen = 0;
  let capApplied = false;
  for (const fee of periodFen) {
    const capped = plan.dailyCapFen !== null && fee > plan.dailyCapFen;
    capApplied ||= capped;
    timeFen += capped ? plan.dailyCapFen! : fee;
  }

  const distanceFen = perKmFen(input.distanceM, plan.perKmFen);
  const usage = timeFen + distanceFen;
  const minimumApplied = usage < plan.minimumFen;
  const charged = minimumApplied ? plan.minimumFen : usage;

  let oneWayFen = 0;
  if (input.oneWay) {
    assertFen('oneWay.stationDistanceM', input.oneWay.stationDistanceM);
    oneWayFen = plan.oneWayFeeFen + perKmFen(input.oneWay.stationDistanceM, plan.oneWayPerKmFen);
  }
  const totalFen = charged + oneWayFen;
  if (!Number.isSafeInteger(totalFen)) throw new RangeError('fee out of range');
  return { planId: plan.id, minutes, periods, timeFen, bands, distanceM: input.distanceM, distanceFen, capApplied, minimumApplied, oneWayFen, totalFen };
}

/** How specific a plan's scope is: model and station > model > station > the whole fleet. */
export type PlanScope = 'model-station' | 'model' | 'station' | 'fleet';

export function planScope(plan: Pick<PricingPlan, 'vehicleModel' | 'stationId'>): PlanScope {
  if (plan.vehicleModel !== null) return plan.stationId !== null ? 'model-station' : 'model';
  return plan.stationId !== null ? 'station' : 'fleet';
}

const SPECIFICITY: readonly PlanScope[] = ['model-station', 'model', 'station', 'fleet'];

/**
 * The plan that prices a rental of a car of `vehicleModel` starting at `stationId` at `at`: of
 * the plans in force then whose scope matches the car and station, the most specific one (a
 * plan for the model at that station, then for the model, then for the station, then the
 * fleet-wide plan); among equally specific ones, the latest valid_from (planAt).
 */
export function planFor<P extends Pick<PricingPlan, 'validFrom' | 'validTo' | 'vehicleModel' | 'stationId'>>(
  plans: readonly P[],
  rental: { at: Date; vehicleModel: string | null; stationId: string | null },
): P | undefined {
  const matching = plans.filter(
    (p) => (p.vehicleModel === null || p.vehicleModel === rental.vehicleModel) && (p.stationId === null || p.stationId === rental.stationId),
  );
  for (const scope of SPECIFICITY) {
    const plan = planAt(
      matching.filter((p) => planScope(p) === scope),
      rental.at,
    );
    if (plan) return plan;
  }
  return undefined;
}

/**
 * The plan in force at an instant: valid then (valid_from ≤ at < valid_to), the latest
 * valid_from winning, so publishing a plan supersedes the previous one from its start.
 */
export function planAt<P extends Pick<PricingPlan, 'validFrom' | 'validTo'>>(plans: readonly P[], at: Date): P | undefined {
  let best: P | undefined;
  for (const plan of plans) {
    if (plan.validFrom.getTime() > at.getTime()) continue;
    if (plan.validTo && plan.validTo.getTime() <= at.getTime()) continue;
    if (!best || plan.validFrom.getTime() > best.validFrom.getTime()) best = plan;
  }
  return best;
}
