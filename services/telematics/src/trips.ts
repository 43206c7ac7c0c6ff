import { computeFee, PLAN_COLUMNS, planFor, type PlanRow } from '@evshare/pricing';
import {
  bumpSyncVersion,
  deductionSubject,
  distanceM,
  stationAt,
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
import { noticeTripBilled } from './notices';

export type TripOutcome = 'billed' | 'online-rental' | 'free' | 'unbillable' | 'duplicate' | 'review';

/** The DEDUCTIONS reference (and stream message id) of an offline trip's fee. */
export const tripReference = (tripId: string) => `trip:${tripId}`;

/**
 * Bills a trip a car recorded, exactly once however often it is uploaded. In one transaction: the
 * trip is inserted under its id (a repeat changes nothing and stops here); a trip the platform
 * made inside a rental of the member's on that car is billed by the rental's return; the walk-up
 * rental the car's unlock report started (recordWalkUp) is ended with it; any other
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
    await lockTrip(c, trip.tripId);
    const { rows: cars } = await c.query<{ id: string; plate: string; model: string; stationId: string | null; homeStationId: string }>(
      'SELECT id, plate, model, station_id AS "stationId", home_station_id AS "homeStationId" FROM vehicles WHERE vin = $1',
      [vin],
    );
    const car = cars[0];
    // The rental a walk-up start made of this trip when the car reported its unlock (recordWalkUp).
    const { rows: walkUps } = await c.query<{ id: string; status: 'active' | 'ended'; startStationId: string }>(
      `SELECT id, status, start_station_id AS "startStationId" FROM rentals WHERE unlock_command_id = $1`,
      [trip.tripId],
    );
    const walkUp = walkUps[0];
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
        onlineRental?.id ?? walkUp?.id ?? null,
        outcomeWithoutBill ?? (onlineRental || walkUp?.status === 'ended' ? 'online-rental' : 'billed'),
        JSON.stringify(trip),
      ],
    );
    if (inserted.rowCount === 0) return { outcome: 'duplicate' as const };
    // A walk-up rental the member already returned through the app was billed by that return.
    if (outcomeWithoutBill || onlineRental || walkUp?.status === 'ended' || !car) return { outcome: outcomeWithoutBill ?? ('online-rental' as const) };

    const startedAt = new Date(trip.startedAt);
    const endedAt = new Date(trip.endedAt);
    const ends = await tripEnds(c, walkUp?.startStationId ?? car.stationId ?? car.homeStationId, trip);
    const anomalies = assessTrip(await tripReport(c, car.id, vin, members[0]!.staff, trip), limits);
    const { rows: plans } = await c.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM pricing_plans p WHERE p.valid_from <= $1`, [startedAt]);
    // The plan for the car's model where the trip started (the walk-up's station, else where the car stands now).
    const plan = planFor(plans, { at: startedAt, vehicleModel: car.model, stationId: ends.startStationId });
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
      if (walkUp) await endWalkUp(c, car.id, walkUp, trip, { price: null, totalFen: 0 }, ends.endStationId);
      log.warn({ vin, tripId: trip.tripId, memberId: trip.memberId, anomalies }, 'trip held for review');
      return { outcome: 'review' as const };
    }
    if (!plan) {
      await c.query(`UPDATE vehicle_trips SET outcome = 'unbillable' WHERE trip_id = $1`, [trip.tripId]);
      if (walkUp) await endWalkUp(c, car.id, walkUp, trip, { price: null, totalFen: 0 }, ends.endStationId);
      return { outcome: 'unbillable' as const };
    }
    const price = computeFee(plan, { startedAt, endedAt, distanceM: Math.max(0, trip.endOdometerM - trip.startOdometerM), oneWay: ends.oneWay });
    const rentalId = walkUp
      ? await endWalkUp(c, car.id, walkUp, trip, { price, totalFen: price.totalFen }, ends.endStationId)
      : await insertTripRental(c, car, trip, plan.id, price, ends);
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
      description: `Trip in ${car.plate} (unlocked in the car), ${price.minutes} min, ${(price.distanceM / 1000).toFixed(1)} km${ends.oneWay ? ', returned at another station' : ''}`,
      rentalId,
      requestedBy: deps.requestedBy,
      at: endedAt.toISOString(),
    };
    await c.query('INSERT INTO rental_deduction_outbox (reference, message) VALUES ($1, $2) ON CONFLICT (reference) DO NOTHING', [
      message.reference,
      JSON.stringify(message),
    ]);
    return { outcome: 'billed' as const, message, bill: { rentalId, memberId: trip.memberId, plate: car.plate, totalFen: price.totalFen } };
  });
  if (result.outcome === 'billed' && result.message) {
    try {
      await bus.publishDurable(deductionSubject('rental'), result.message, result.message.reference);
      await db.query('UPDATE rental_deduction_outbox SET published_at = now() WHERE reference = $1', [result.message.reference]);
    } catch (error) {
      log.warn({ err: error, reference: result.message.reference }, 'trip fee not published yet; the outbox sweep will retry');
    }
    if (deps.cache) await bumpSyncVersion(deps.cache, trip.memberId);
    await noticeTripBilled({ db, bus, cache: deps.cache }, result.bill).catch((error: unknown) =>
      log.warn({ err: error, rentalId: result.bill.rentalId }, 'rental-ended notice not sent'),
    );
  }
  return result.outcome;
}

type Price = ReturnType<typeof computeFee>;

/**
 * A trip's record and its walk-up report are taken one after the other (whichever comes first
 * decides), by a lock on the trip id rather than on the car's row: the APP locks a reservation
 * before its car, and so does a walk-up here, so no order of locks can deadlock.
 */
async function lockTrip(c: PoolClient, tripId: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [tripId]);
}

interface TripEnds {
  startStationId: string;
  /** Where the car stands when the trip ends: the station whose geofence holds its last position, else its start. */
  endStationId: string;
  oneWay: { stationDistanceM: number } | null;
}

/**
 * Where a trip the car recorded began and ended. The car is parked where the member locked it:
 * at the station whose geofence holds the trip's last position (a one-way trip when it is not the
 * start's), or, outside every station, counted at its start as before.
 */
async function tripEnds(c: PoolClient, startStationId: string, trip: TripRecord): Promise<TripEnds> {
  const { rows: stations } = await c.query<{ id: string; lat: number; lng: number; geofenceRadiusM: number }>(
    'SELECT id, lat, lng, geofence_radius_m AS "geofenceRadiusM" FROM stations',
  );
  const start = stations.find((s) => s.id === startStationId);
  const end = stationAt(stations, { lat: trip.endLat, lng: trip.endLng });
  if (!start || !end || end.id === start.id) return { startStationId, endStationId: startStationId, oneWay: null };
  return { startStationId, endStationId: end.id, oneWay: { stationDistanceM: Math.round(distanceM(start, end)) } };
}

type TripCar = { id: string };

/**
 * A trip the platform first hears of when it ends (the car was offline at its start) becomes an
 * ended rental; the member's own reservation of the car, if it was holding it then, is that rental
 * (converted: no expiry fee), and the car is free again.
 */
async function insertTripRental(c: PoolClient, car: TripCar, trip: TripRecord, planId: string, price: Price, ends: TripEnds): Promise<string> {
  const reservationId = await convertReservation(c, car.id, trip.memberId, trip.startedAt);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO rentals (member_id, vehicle_id, reservation_id, card_uid, plan_id, start_station_id, end_station_id, started_at, ended_at,
       start_odometer_m, end_odometer_m, start_soc_pct, end_soc_pct, unlock_command_id, price, total_fen, status)
     VALUES ($1, $2, $3, (SELECT uid FROM membership_cards WHERE uid = $4), $5, $6, $16, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'ended') RETURNING id`,
    [
      trip.memberId,
      car.id,
      reservationId,
      trip.cardUid ?? null,
      planId,
      ends.startStationId,
      trip.startedAt,
      trip.endedAt,
      trip.startOdometerM,
      trip.endOdometerM,
      trip.startSocPct,
      trip.endSocPct,
      trip.tripId,
      JSON.stringify(price),
      price.totalFen,
      ends.endStationId,
    ],
  );
  if (reservationId) {
    await c.query(`UPDATE vehicles SET state = 'available', version = version + 1, updated_at = now() WHERE id = $1 AND state = 'reserved'`, [car.id]);
  }
  // A free car stands where the trip left it (a car rented since is the new rental's).
  await c.query(
    `UPDATE vehicles SET station_id = $2, version = version + 1, updated_at = now() WHERE id = $1 AND state = 'available' AND station_id IS DISTINCT FROM $2`,
    [car.id, ends.endStationId],
  );
  return rows[0]!.id;
}

/** The member's active reservation of the car made by `at`, ended as converted into the rental; its id. */
async function convertReservation(c: PoolClient, vehicleId: string, memberId: string, at: string): Promise<string | null> {
  const { rows } = await c.query<{ id: string }>(
    `UPDATE reservations SET status = 'converted', ended_at = now()
      WHERE vehicle_id = $1 AND member_id = $2 AND status = 'active' AND created_at <= $3 RETURNING id`,
    [vehicleId, memberId, at],
  );
  return rows[0]?.id ?? null;
}

/** Ends the walk-up rental with the trip's figures; the car stands at the station the trip ended at. */
async function endWalkUp(
  c: PoolClient,
  vehicleId: string,
  walkUp: { id: string },
  trip: TripRecord,
  bill: { price: Price | null; totalFen: number },
  endStationId: string,
): Promise<string> {
  await c.query(
    `UPDATE rentals SET status = 'ended', ended_at = $2, end_station_id = $7, end_odometer_m = $3, end_soc_pct = $4, price = $5, total_fen = $6
      WHERE id = $1 AND status = 'active'`,
    [walkUp.id, trip.endedAt, trip.endOdometerM, trip.endSocPct, bill.price === null ? null : JSON.stringify(bill.price), bill.totalFen, endStationId],
  );
  await c.query(`UPDATE vehicles SET state = 'available', station_id = $2, version = version + 1, updated_at = now() WHERE id = $1 AND state = 'in_use'`, [
    vehicleId,
    endStationId,
  ]);
  return walkUp.id;
}

export type WalkUpOutcome = 'started' | 'duplicate' | 'in-rental' | 'staff' | 'not-listed' | 'unknown' | 'no-plan' | 'busy' | 'stale';

/** A car reports an unlock as it happens; an older report starts no rental (its trip record bills the trip). */
export const WALK_UP_REPORT_MAX_AGE_MS = 10 * 60_000;

/**
 * A walk-up start the car decided on its own (card or app key) and reported online: the rental
 * starts now, so the car is in use in the back end while it is driven, priced by the plan in force
 * at the unlock and billed once when the car's trip record ends it (recordTrip). The member's own
 * reservation of the car becomes this rental. The car's word is bounded: the member must be on the
 * fleet list or hold the car; staff (operators on the car's list) open cars without renting them.
 * Repeats of the report, or a trip already recorded, change nothing.
 */
export async function recordWalkUp(
  deps: { db: Pool; cache?: KeyValueStore },
  vin: string,
  unlock: { memberId: string; tripId: string; at: string; cardUid?: string | undefined },
): Promise<WalkUpOutcome> {
  const startedAt = new Date(Math.min(Date.parse(unlock.at), Date.now()));
  if (Date.now() - startedAt.getTime() > WALK_UP_REPORT_MAX_AGE_MS) return 'stale';
  const outcome = await withTransaction(deps.db, async (c): Promise<WalkUpOutcome> => {
    await lockTrip(c, unlock.tripId);
    const { rows: cars } = await c.query<{ id: string; model: string; stationId: string | null }>(
      `SELECT id, model, station_id AS "stationId" FROM vehicles WHERE vin = $1`,
      [vin],
    );
    const car = cars[0];
    const { rows: members } = await c.query<{ staff: boolean; listed: boolean; holds: boolean }>(
      `SELECT m.role = 'admin' AS staff, EXISTS (SELECT 1 FROM fleet_whitelist f WHERE f.member_id = m.id) AS listed,
              EXISTS (SELECT 1 FROM reservations r WHERE r.member_id = m.id AND r.vehicle_id = $2 AND r.status = 'active') AS holds
         FROM members m WHERE m.id = $1`,
      [unlock.memberId, car?.id ?? null],
    );
    const member = members[0];
    if (!car || !member) return 'unknown';
    if (member.staff) return 'staff';
    const { rows: seen } = await c.query(`SELECT 1 FROM vehicle_trips WHERE trip_id = $1 UNION ALL SELECT 1 FROM rentals WHERE unlock_command_id = $1`, [
      unlock.tripId,
    ]);
    if (seen.length > 0) return 'duplicate';
    const { rows: renting } = await c.query(`SELECT 1 FROM rentals WHERE vehicle_id = $1 AND member_id = $2 AND status IN ('unlocking', 'active')`, [
      car.id,
      unlock.memberId,
    ]);
    if (renting.length > 0) return 'in-rental';
    if (!member.listed && !member.holds) return 'not-listed';
    const { rows: plans } = await c.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM pricing_plans p WHERE p.valid_from <= $1`, [startedAt]);
    const plan = planFor(plans, { at: startedAt, vehicleModel: car.model, stationId: car.stationId });
    if (!plan) return 'no-plan';
    const reservationId = await convertReservation(c, car.id, unlock.memberId, startedAt.toISOString());
    const { rows: parked } = await c.query<{ stationId: string | null; odometerM: string; socPct: string; state: string }>(
      `SELECT station_id AS "stationId", odometer_m AS "odometerM", soc_pct AS "socPct", state FROM vehicles WHERE id = $1 FOR UPDATE`,
      [car.id],
    );
    const at = parked[0]!;
    // Parked, and not somebody else's: anything else is left to the trip record's checks.
    if (!at.stationId || at.state === 'in_use') throw new WalkUpRefused();
    const { rowCount } = await c.query(
      `INSERT INTO rentals (member_id, vehicle_id, reservation_id, card_uid, plan_id, start_station_id, started_at, start_odometer_m, start_soc_pct,
         unlock_command_id, status)
       VALUES ($1, $2, $3, (SELECT uid FROM membership_cards WHERE uid = $4), $5, $6, $7, $8, $9, $10, 'active')
       ON CONFLICT DO NOTHING`,
      [unlock.memberId, car.id, reservationId, unlock.cardUid ?? null, plan.id, at.stationId, startedAt, at.odometerM, at.socPct, unlock.tripId],
    );
    // Another hold won the car or the member (one rental each): the trip record settles it.
    if (rowCount === 0) throw new WalkUpRefused();
    await c.query(`UPDATE vehicles SET state = 'in_use', station_id = NULL, version = version + 1, updated_at = now() WHERE id = $1`, [car.id]);
    return 'started';
  }).catch((error: unknown) => {
    if (error instanceof WalkUpRefused) return 'busy' as const;
    throw error;
  });
  if (outcome === 'started' && deps.cache) await bumpSyncVersion(deps.cache, unlock.memberId);
  return outcome;
}

/** Rolls the walk-up's transaction back (the reservation conversion with it). */
class WalkUpRefused extends Error {}

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
