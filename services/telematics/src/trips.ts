import { computeFee, PLAN_COLUMNS, planAt, type PlanRow } from '@evshare/pricing';
import {
  bumpSyncVersion,
  deductionSubject,
  withTransaction,
  type Bus,
  type DeductionMessage,
  type KeyValueStore,
  type Logger,
  type Pool,
  type PoolClient,
} from '@evshare/kit';
import type { TripRecord } from './protocol';
import { assessTrip, DEFAULT_TRIP_LIMITS, distanceBoundM, type TripLimits } from './trip-bounds';

export type TripOutcome = 'billed' | 'online-rental' | 'free' | 'unbillable' | 'duplicate' | 'review';

/** The DEDUCTIONS reference (and stream message id) of an offline trip's fee. */
export const tripReference = (tripId: string) => `trip:${tripId}`;

/**
 * Bills a trip a car recorded, exactly once however often it is uploaded. In one transaction: the
 * trip is inserted under its id (a repeat changes nothing and stops here); a trip the platform
 * made inside a rental of the member's on that car is billed by the rental's return; any other
 * becomes an ended rental priced with the rental rules (@evshare/pricing) under the plan in force when it
 * started, and its fee goes into the deduction outbox. After the commit the fee is published on
 * DEDUCTIONS with the reference as message id (the APP's outbox sweep retries a failed publish).
 * The car's word is bounded first (trip-bounds.ts): a trip of a member who was not allowed on the
 * car when it started, or beyond physics, goes to the operators' review queue instead.
 */
export async function recordTrip(
  deps: { db: Pool; bus: Bus; log: Logger; cache?: KeyValueStore; requestedBy: string; limits?: TripLimits },
  vin: string,
  trip: TripRecord,
): Promise<TripOutcome> {
  const { db, bus, log } = deps;
  const limits = deps.limits ?? DEFAULT_TRIP_LIMITS;
  const result = await withTransaction(db, async (c) => {
    const { rows: cars } = await c.query<{ id: string; plate: string; stationId: string | null; homeStationId: string }>(
      'SELECT id, plate, station_id AS "stationId", home_station_id AS "homeStationId" FROM vehicles WHERE vin = $1',
      [vin],
    );
    const car = cars[0];
    const { rows: members } = await c.query<{ staff: boolean }>(`SELECT role = 'admin' AND status = 'active' AS staff FROM members WHERE id = $1`, [
      trip.memberId,
    ]);
    const outcomeWithoutBill: 'unbillable' | undefined = !car || members.length === 0 ? 'unbillable' : undefined;
    // A trip inside a rental of the member's on this car (unlocked again by card mid-rental) is
    // billed by that rental.
    const onlineRental = car
      ? (
          await c.query<{ id: string }>(
            `SELECT id FROM rentals WHERE vehicle_id = $1 AND member_id = $2 AND status IN ('unlocking', 'active', 'ended')
                AND started_at <= $4 AND coalesce(ended_at, 'infinity') >= $3 AND unlock_command_id <> $5 LIMIT 1`,
            [car.id, trip.memberId, trip.startedAt, trip.endedAt, trip.tripId],
          )
        ).rows[0]
      : undefined;
    const inserted = await c.query(
      `INSERT INTO vehicle_trips (trip_id, vin, member_id, card_uid, started_at, ended_at, start_odometer_m, end_odometer_m, rental_id, outcome, record)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (trip_id) DO NOTHING RETURNING trip_id`,
      [
        trip.tripId,
        vin,
        trip.memberId,
        trip.cardUid ?? null,
        trip.startedAt,
        trip.endedAt,
        trip.startOdometerM,
        trip.endOdometerM,
        onlineRental?.id ?? null,
        outcomeWithoutBill ?? (onlineRental ? 'online-rental' : 'billed'),
        JSON.stringify(trip),
      ],
    );
    if (inserted.rowCount === 0) return { outcome: 'duplicate' as const };
    if (outcomeWithoutBill || onlineRental || !car) return { outcome: outcomeWithoutBill ?? ('online-rental' as const) };

    const startedAt = new Date(trip.startedAt);
    const endedAt = new Date(trip.endedAt);
    const anomalies = assessTrip(await tripReport(c, car.id, vin, members[0]!.staff, trip), limits);
    const { rows: plans } = await c.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM pricing_plans p WHERE p.valid_from <= $1`, [startedAt]);
    const plan = planAt(plans, startedAt);
    if (anomalies.length > 0) {
      const durationMs = endedAt.getTime() - startedAt.getTime();
      const reportedDistanceM = Math.max(0, trip.endOdometerM - trip.startOdometerM);
      const boundedDistanceM = Math.min(reportedDistanceM, distanceBoundM(durationMs, limits));
      const priced = (ms: number, distanceM: number) => {
        if (!plan) return 0;
        try {
          return computeFee(plan, { startedAt, endedAt: new Date(startedAt.getTime() + ms), distanceM, oneWay: null }).totalFen;
        } catch {
          // Beyond what the fee rules can price (an absurd distance): the operator sees the bounded fee.
          return undefined;
        }
      };
      const boundedFen = anomalies.includes('member-not-allowed') ? 0 : (priced(Math.min(durationMs, limits.maxDurationMs), boundedDistanceM) ?? 0);
      await c.query(`UPDATE vehicle_trips SET outcome = 'review' WHERE trip_id = $1`, [trip.tripId]);
      await c.query(
        `INSERT INTO device_charge_reviews (kind, reference, device, member_id, reported, bound, reasons, reported_fen, bounded_fen)
         VALUES ('trip', $1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (reference) DO NOTHING`,
        [
          tripReference(trip.tripId),
          vin,
          trip.memberId,
          JSON.stringify(trip),
          JSON.stringify({
            topSpeedKmh: limits.topSpeedKmh,
            maxDistanceM: distanceBoundM(durationMs, limits),
            maxDurationMs: limits.maxDurationMs,
            maxAgeMs: limits.maxAgeMs,
            planId: plan?.id ?? null,
          }),
          anomalies,
          priced(durationMs, reportedDistanceM) ?? boundedFen,
          boundedFen,
        ],
      );
      log.warn({ vin, tripId: trip.tripId, memberId: trip.memberId, anomalies }, 'trip held for review');
      return { outcome: 'review' as const };
    }
    if (!plan) {
      await c.query(`UPDATE vehicle_trips SET outcome = 'unbillable' WHERE trip_id = $1`, [trip.tripId]);
      return { outcome: 'unbillable' as const };
    }
    // A trip recorded by the car starts and ends where the car is parked (its station).
    const stationId = car.stationId ?? car.homeStationId;
    const price = computeFee(plan, { startedAt, endedAt, distanceM: Math.max(0, trip.endOdometerM - trip.startOdometerM), oneWay: null });
    const { rows: rentals } = await c.query<{ id: string }>(
      `INSERT INTO rentals (member_id, vehicle_id, card_uid, plan_id, start_station_id, end_station_id, started_at, ended_at,
         start_odometer_m, end_odometer_m, start_soc_pct, end_soc_pct, unlock_command_id, price, total_fen, status)
       VALUES ($1, $2, (SELECT uid FROM membership_cards WHERE uid = $3), $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'ended') RETURNING id`,
      [
        trip.memberId,
        car.id,
        trip.cardUid ?? null,
        plan.id,
        stationId,
        startedAt,
        endedAt,
        trip.startOdometerM,
        trip.endOdometerM,
        trip.startSocPct,
        trip.endSocPct,
        trip.tripId,
        JSON.stringify(price),
        price.totalFen,
      ],
    );
    const rentalId = rentals[0]!.id;
    await c.query('UPDATE vehicle_trips SET rental_id = $2 WHERE trip_id = $1', [trip.tripId, rentalId]);
    if (price.totalFen === 0) {
      await c.query(`UPDATE vehicle_trips SET outcome = 'free' WHERE trip_id = $1`, [trip.tripId]);
      return { outcome: 'free' as const };
    }
    const message: DeductionMessage = {
      reference: tripReference(trip.tripId),
      memberId: trip.memberId,
      kind: 'rental',
      amountFen: price.totalFen,
      description: `Trip in ${car.plate} (unlocked in the car), ${price.minutes} min, ${(price.distanceM / 1000).toFixed(1)} km`,
      rentalId,
      requestedBy: deps.requestedBy,
      at: endedAt.toISOString(),
    };
    await c.query('INSERT INTO rental_deduction_outbox (reference, message) VALUES ($1, $2) ON CONFLICT (reference) DO NOTHING', [
      message.reference,
      JSON.stringify(message),
    ]);
    return { outcome: 'billed' as const, message };
  });
  if (result.outcome === 'billed' && result.message) {
    try {
      await bus.publishDurable(deductionSubject('rental'), result.message, result.message.reference);
      await db.query('UPDATE rental_deduction_outbox SET published_at = now() WHERE reference = $1', [result.message.reference]);
    } catch (error) {
      log.warn({ err: error, reference: result.message.reference }, 'trip fee not published yet; the outbox sweep will retry');
    }
    if (deps.cache) await bumpSyncVersion(deps.cache, trip.memberId);
  }
  return result.outcome;
}

/**
 * What the platform knows about a trip besides the car's word: whether the member held the car
 * (a reservation or rental on it, or staff) or was on the fleet list (a walk-up) when it started — the stored whitelist is only the
 * current version, so the holds it is computed from are what is checked — and the odometer of the
 * car's neighbouring trips.
 */
async function tripReport(c: PoolClient, vehicleId: string, vin: string, staff: boolean, trip: TripRecord) {
  const { rows } = await c.query<{ held: boolean; previous: string | null; next: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM reservations WHERE vehicle_id = $1 AND member_id = $2 AND created_at <= $3 AND coalesce(ended_at, 'infinity') >= $3)
         OR EXISTS (SELECT 1 FROM rentals WHERE vehicle_id = $1 AND member_id = $2 AND status IN ('unlocking', 'active', 'ended') AND started_at <= $3
                    AND coalesce(ended_at, 'infinity') >= $3 AND unlock_command_id <> $5)
         OR EXISTS (SELECT 1 FROM fleet_whitelist WHERE member_id = $2 AND listed_at <= $3) AS held,
            (SELECT max(end_odometer_m) FROM vehicle_trips WHERE vin = $4 AND started_at < $3 AND trip_id <> $5 AND outcome <> 'review') AS previous,
            (SELECT min(start_odometer_m) FROM vehicle_trips WHERE vin = $4 AND started_at > $3 AND trip_id <> $5 AND outcome <> 'review') AS next`,
    [vehicleId, trip.memberId, trip.startedAt, vin, trip.tripId],
  );
  const row = rows[0]!;
  return {
    startedAtMs: Date.parse(trip.startedAt),
    endedAtMs: Date.parse(trip.endedAt),
    startOdometerM: trip.startOdometerM,
    endOdometerM: trip.endOdometerM,
    receivedMs: Date.now(),
    allowed: staff || row.held,
    previousEndOdometerM: row.previous === null ? null : Number(row.previous),
    nextStartOdometerM: row.next === null ? null : Number(row.next),
  };
}
