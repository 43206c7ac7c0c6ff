/**
 * The fee of a rental: a pure function of the plan it started under, its times, the distance
 * driven and whether it ended at another station. All money is integer fen.
 *
 * Rules (docs/rental.md has worked examples):
 * - Time is charged per started minute: 60 s is 1 minute, 61 s is 2.
 * - Distance is charged per metre at per_km_fen / 1000, rounded half up to a whole fen
 *   (1 500 m at 5 fen/km is 7.5 → 8 fen).
 * - The daily cap bounds the time fee of each 24-hour period counted from the start of the
 *   rental (minutes 1-1440, 1441-2880, ...). Periods follow the rental, not the calendar, so a
 *   trip across midnight or a month end costs what the same trip at noon costs, and no time zone
 *   is involved. Distance is not capped.
 * - The minimum charge applies to time plus distance; the one-way fee comes on top of it.
 * - The one-way fee is a flat fee plus per km of straight-line distance between the start and
 *   end stations (rounded half up like distance).
 */
export interface PricingPlan {
  id: string;
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
}

export interface FeeInput {
  startedAt: Date;
  endedAt: Date;
  /** Metres driven (odometer difference). */
  distanceM: number;
  /** Set when the rental ends at another station than it started: the stations' distance. */
  oneWay: { stationDistanceM: number } | null;
}

export interface FeeBreakdown {
  planId: string;
  minutes: number;
  /** 24-hour periods the rental touched (each has its own cap). */
  periods: number;
  timeFen: number;
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

export function computeFee(plan: PricingPlan, input: FeeInput): FeeBreakdown {
  const durationMs = input.endedAt.getTime() - input.startedAt.getTime();
  if (!Number.isFinite(durationMs) || durationMs < 0) throw new RangeError('a rental cannot end before it starts');
  assertFen('distanceM', input.distanceM);
  for (const key of ['perMinuteFen', 'perKmFen', 'minimumFen', 'oneWayFeeFen', 'oneWayPerKmFen'] as const) assertFen(key, plan[key]);
  if (plan.dailyCapFen !== null) assertFen('dailyCapFen', plan.dailyCapFen);

  const minutes = Math.ceil(durationMs / MINUTE_MS);
  const fullPeriods = Math.floor(minutes / PERIOD_MINUTES);
  const restMinutes = minutes % PERIOD_MINUTES;
  const periods = fullPeriods + (restMinutes > 0 || minutes === 0 ? 1 : 0);
  const capped = (periodMinutes: number) => {
    const fee = periodMinutes * plan.perMinuteFen;
    return plan.dailyCapFen !== null && fee > plan.dailyCapFen ? { fee: plan.dailyCapFen, capped: true } : { fee, capped: false };
  };
  const full = capped(PERIOD_MINUTES);
  const rest = capped(restMinutes);
  const timeFen = fullPeriods * full.fee + rest.fee;
  const capApplied = (fullPeriods > 0 && full.capped) || rest.capped;

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
  return { planId: plan.id, minutes, periods, timeFen, distanceM: input.distanceM, distanceFen, capApplied, minimumApplied, oneWayFen, totalFen };
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
