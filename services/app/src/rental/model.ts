import type { Pool, PoolClient } from '@evshare/kit';
import type { RENTAL_STATUSES, RESERVATION_STATUSES } from '@evshare/api';
import { PLAN_COLUMNS, planFor, planScope, type FeeBreakdown, type PlanRow as Plan, type PlanScope } from '@evshare/pricing';
import type { VehicleState } from './vehicle-state';

/** The statuses the schema allows (0002_rental.sql); the API's schemas list them. */
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];
export type RentalStatus = (typeof RENTAL_STATUSES)[number];

/** A pool or a client inside a transaction. */
export type Queryable = Pool | PoolClient;

/**
 * Rows as the API shows them. Columns are aliased to camelCase in SQL; numeric columns are cast
 * to float8 and BIGINT fen arrive as numbers (kit's type parser), times as Date (JSON: ISO UTC).
 */
export interface Station {
  id: string;
  name: string;
  lat: number;
  lng: number;
  geofenceRadiusM: number;
  capacity: number;
  returnPolicy: 'round-trip' | 'open';
  availableCars: number;
  freeParking: number;
}

export const STATION_COLUMNS = `s.id, s.name, s.lat, s.lng, s.geofence_radius_m AS "geofenceRadiusM", s.capacity,
  s.return_policy AS "returnPolicy",
  (SELECT count(*)::int FROM vehicles v WHERE v.station_id = s.id AND v.state = 'available'
      AND v.soc_pct >= (SELECT min_soc_pct FROM rental_settings)) AS "availableCars",
  greatest(0, s.capacity - (SELECT count(*)::int FROM vehicles v WHERE v.station_id = s.id)) AS "freeParking"`;

export interface Vehicle {
  id: string;
  vin: string;
  plate: string;
  model: string;
  batteryKwh: number;
  ratedRangeKm: number;
  homeStationId: string;
  stationId: string | null;
  lat: number | null;
  lng: number | null;
  socPct: number;
  odometerM: number;
  doorsLocked: boolean;
  reportedAt: Date | null;
  state: VehicleState;
  version: number;
  /** The vehicle link's view (migration 0004): connected now, and what the car last reported. */
  online: boolean;
  lastSeenAt: Date | null;
  speedKmh: number | null;
  ignition: boolean | null;
  cableConnected: boolean | null;
  doorsOpen: boolean;
}

export const VEHICLE_COLUMNS = `v.id, v.vin, v.plate, v.model, v.battery_kwh::float8 AS "batteryKwh", v.rated_range_km AS "ratedRangeKm",
  v.home_station_id AS "homeStationId", v.station_id AS "stationId", v.lat, v.lng, v.soc_pct::float8 AS "socPct",
  v.odometer_m AS "odometerM", v.doors_locked AS "doorsLocked", v.reported_at AS "reportedAt", v.state, v.version,
  v.online, v.last_seen_at AS "lastSeenAt", v.speed_kmh::float8 AS "speedKmh", v.ignition, v.cable_connected AS "cableConnected", v.doors_open AS "doorsOpen"`;

/** What a member sees of a car: enough to choose one, nothing about where it was driven. */
export function publicVehicle(v: Vehicle) {
  return {
    id: v.id,
    vin: v.vin,
    plate: v.plate,
    model: v.model,
    stationId: v.stationId,
    state: v.state,
    socPct: v.socPct,
    estimatedRangeKm: Math.floor((v.ratedRangeKm * v.socPct) / 100),
  };
}

export { PLAN_COLUMNS, type PlanRow as Plan } from '@evshare/pricing';

/**
 * The plan that prices a rental of a car of `vehicleModel` starting at `stationId` at `at` (the
 * database's current time when not given); both null: the fleet-wide plan. The rule itself is
 * `planFor`: the most specific plan in force wins.
 */
export async function planInForce(
  db: Queryable,
  scope: { vehicleModel: string | null; stationId: string | null; at?: Date } = { vehicleModel: null, stationId: null },
): Promise<(Plan & { scope: PlanScope }) | undefined> {
  const { rows } = await db.query<Plan & { now: Date }>(
    `SELECT ${PLAN_COLUMNS}, coalesce($3::timestamptz, now()) AS now FROM pricing_plans p
      WHERE p.valid_from <= coalesce($3::timestamptz, now()) AND (p.valid_to IS NULL OR p.valid_to > coalesce($3::timestamptz, now()))
        AND (p.vehicle_model IS NULL OR p.vehicle_model = $1) AND (p.station_id IS NULL OR p.station_id = $2)`,
    [scope.vehicleModel, scope.stationId, scope.at ?? null],
  );
  if (rows.length === 0) return undefined;
  const chosen = planFor(rows, { at: rows[0]!.now, vehicleModel: scope.vehicleModel, stationId: scope.stationId });
  if (!chosen) return undefined;
  const { now: _now, ...plan } = chosen;
  return { ...plan, scope: planScope(plan) };
}

/** The fleet's minimums to reserve or rent (rental_settings, changed by operators). */
export interface RentalSettings {
  minBalanceFen: number;
  minSocPct: number;
  updatedBy: string | null;
  updatedAt: Date;
}

export const RENTAL_SETTINGS_COLUMNS = `min_balance_fen AS "minBalanceFen", min_soc_pct::float8 AS "minSocPct", updated_by AS "updatedBy", updated_at AS "updatedAt"`;

export async function rentalSettings(db: Queryable): Promise<RentalSettings> {
  return (await db.query<RentalSettings>(`SELECT ${RENTAL_SETTINGS_COLUMNS} FROM rental_settings`)).rows[0]!;
}

export interface Reservation {
  id: string;
  memberId: string;
  vehicleId: string;
  stationId: string;
  planId: string;
  status: ReservationStatus;
  createdAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  feeFen: number;
}

export const RESERVATION_COLUMNS = `r.id, r.member_id AS "memberId", r.vehicle_id AS "vehicleId", r.station_id AS "stationId", r.plan_id AS "planId",
  r.status, r.created_at AS "createdAt", r.expires_at AS "expiresAt", r.ended_at AS "endedAt", r.fee_fen AS "feeFen"`;

export interface Rental {
  id: string;
  memberId: string;
  vehicleId: string;
  reservationId: string | null;
  cardUid: string | null;
  planId: string;
  startStationId: string;
  endStationId: string | null;
  startedAt: Date;
  endedAt: Date | null;
  startOdometerM: number;
  endOdometerM: number | null;
  startSocPct: number;
  endSocPct: number | null;
  unlockCommandId: string;
  price: FeeBreakdown | null;
  totalFen: number | null;
  status: RentalStatus;
}

export const RENTAL_COLUMNS = `t.id, t.member_id AS "memberId", t.vehicle_id AS "vehicleId", t.reservation_id AS "reservationId",
  t.card_uid AS "cardUid", t.plan_id AS "planId", t.start_station_id AS "startStationId", t.end_station_id AS "endStationId",
  t.started_at AS "startedAt", t.ended_at AS "endedAt", t.start_odometer_m AS "startOdometerM", t.end_odometer_m AS "endOdometerM",
  t.start_soc_pct::float8 AS "startSocPct", t.end_soc_pct::float8 AS "endSocPct", t.unlock_command_id AS "unlockCommandId",
  t.price, t.total_fen AS "totalFen", t.status`;

export interface Card {
  uid: string;
  memberId: string | null;
  boundAt: Date | null;
}

/** The member's current reservation and rental, as the periodic poll (/api/v1/sync) reports them. */
export async function rentalSyncState(db: Queryable, memberId: string): Promise<{ reservation: Reservation | null; rental: Rental | null }> {
  const [reservation, rental] = await Promise.all([
    db.query<Reservation>(`SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.member_id = $1 AND r.status = 'active'`, [memberId]),
    db.query<Rental>(`SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.member_id = $1 AND t.status IN ('unlocking', 'active')`, [memberId]),
  ]);
  return { reservation: reservation.rows[0] ?? null, rental: rental.rows[0] ?? null };
}
