/**
 * What a car's word about a trip is worth (issue 11). A car terminal uploads the trips it recorded
 * on its own, naming the member, the times and the odometer; a compromised terminal could name
 * anyone and anything. A trip is billed as reported only to a member who was allowed on that car
 * when it started and only within physics; anything else is held for an operator's review.
 */
export type TripAnomaly = 'member-not-allowed' | 'starts-in-future' | 'starts-too-long-ago' | 'too-long' | 'too-fast' | 'odometer-backwards';

export interface TripLimits {
  /** Distance may not exceed duration × this speed. */
  topSpeedKmh: number;
  /** Longest trip billed without review (the plan's daily cap bounds the fee per day, not the days). */
  maxDurationMs: number;
  /** A trip may be uploaded this long after it started (cars keep trips while offline). */
  maxAgeMs: number;
  /** Clock skew allowed between the car and the server. */
  clockToleranceMs: number;
}

export const DEFAULT_TRIP_LIMITS: TripLimits = { topSpeedKmh: 200, maxDurationMs: 48 * 3600_000, maxAgeMs: 30 * 24 * 3600_000, clockToleranceMs: 5 * 60_000 };

export interface TripReport {
  startedAtMs: number;
  endedAtMs: number;
  startOdometerM: number;
  endOdometerM: number;
  /** When the server received the upload. */
  receivedMs: number;
  /** The member held the car (reservation, rental) or was staff when the trip started. */
  allowed: boolean;
  /** The car's odometer at the end of its latest earlier trip, and at the start of its next later one. */
  previousEndOdometerM: number | null;
  nextStartOdometerM: number | null;
}

/** The most distance a trip of `durationMs` can cover at the top speed. */
export const distanceBoundM = (durationMs: number, limits: TripLimits): number => Math.floor((Math.max(0, durationMs) * limits.topSpeedKmh) / 3600);

/** Pure: why the trip must not be billed as reported (empty: bill it). */
export function assessTrip(trip: TripReport, limits: TripLimits): TripAnomaly[] {
  const anomalies: TripAnomaly[] = [];
  const durationMs = trip.endedAtMs - trip.startedAtMs;
  if (!trip.allowed) anomalies.push('member-not-allowed');
  if (trip.startedAtMs > trip.receivedMs + limits.clockToleranceMs || trip.endedAtMs > trip.receivedMs + limits.clockToleranceMs)
    anomalies.push('starts-in-future');
  if (trip.startedAtMs < trip.receivedMs - limits.maxAgeMs) anomalies.push('starts-too-long-ago');
  if (durationMs > limits.maxDurationMs) anomalies.push('too-long');
  if (trip.endOdometerM - trip.startOdometerM > distanceBoundM(durationMs, limits)) anomalies.push('too-fast');
  const backwards =
    trip.endOdometerM < trip.startOdometerM ||
    (trip.previousEndOdometerM !== null && trip.startOdometerM < trip.previousEndOdometerM) ||
    (trip.nextStartOdometerM !== null && trip.endOdometerM > trip.nextStartOdometerM);
  if (backwards) anomalies.push('odometer-backwards');
  return anomalies;
}
