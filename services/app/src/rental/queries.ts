import {
  PLAN_COLUMNS,
  RENTAL_COLUMNS,
  RESERVATION_COLUMNS,
  STATION_COLUMNS,
  VEHICLE_COLUMNS,
  type Plan,
  type Queryable,
  type Rental,
  type Reservation,
  type Station,
  type Vehicle,
} from './model';

// The rental business's reads, for the member and operator routes (the writes stay in the service).

/** A page of a member's history, newest first; `before` is the previous page's last timestamp. */
export interface Page {
  limit: number;
  before?: string | undefined;
}

/** An operator's filter of the reservation or rental lists. */
export interface Filter {
  status?: string | undefined;
  memberId?: string | undefined;
  vehicleId?: string | undefined;
  limit: number;
}

export async function stations(db: Queryable): Promise<Station[]> {
  return (await db.query<Station>(`SELECT ${STATION_COLUMNS} FROM stations s ORDER BY s.name, s.id`)).rows;
}

export async function station(db: Queryable, id: string): Promise<Station | undefined> {
  return (await db.query<Station>(`SELECT ${STATION_COLUMNS} FROM stations s WHERE s.id = $1`, [id])).rows[0];
}

/**
 * The cars a member may take at a station, fullest battery first (a car below the fleet's minimum
 * charge is not offered); undefined when there is no such station.
 */
export async function availableVehiclesAt(db: Queryable, stationId: string): Promise<Vehicle[] | undefined> {
  const { rows: found } = await db.query('SELECT 1 FROM stations WHERE id = $1', [stationId]);
  if (!found[0]) return undefined;
  const { rows } = await db.query<Vehicle>(
    `SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.station_id = $1 AND v.state = 'available'
        AND v.soc_pct >= (SELECT min_soc_pct FROM rental_settings) ORDER BY v.soc_pct DESC, v.plate`,
    [stationId],
  );
  return rows;
}

export async function vehicle(db: Queryable, id: string): Promise<Vehicle | undefined> {
  return (await db.query<Vehicle>(`SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE v.id = $1`, [id])).rows[0];
}

export async function vehicles(db: Queryable, filter: { stationId?: string | undefined; state?: string | undefined }): Promise<Vehicle[]> {
  const { rows } = await db.query<Vehicle>(
    `SELECT ${VEHICLE_COLUMNS} FROM vehicles v WHERE ($1::uuid IS NULL OR v.station_id = $1) AND ($2::text IS NULL OR v.state = $2) ORDER BY v.plate`,
    [filter.stationId ?? null, filter.state ?? null],
  );
  return rows;
}

export async function plans(db: Queryable): Promise<Plan[]> {
  return (await db.query<Plan>(`SELECT ${PLAN_COLUMNS} FROM pricing_plans p ORDER BY p.valid_from DESC`)).rows;
}

export async function memberReservations(db: Queryable, memberId: string, page: Page): Promise<Reservation[]> {
  const { rows } = await db.query<Reservation>(
    `SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.member_id = $1 AND ($2::timestamptz IS NULL OR r.created_at < $2)
      ORDER BY r.created_at DESC LIMIT $3`,
    [memberId, page.before ?? null, page.limit],
  );
  return rows;
}

/** One of the member's reservations; another member's is absent. */
export async function memberReservation(db: Queryable, memberId: string, id: string): Promise<Reservation | undefined> {
  return (await db.query<Reservation>(`SELECT ${RESERVATION_COLUMNS} FROM reservations r WHERE r.id = $1 AND r.member_id = $2`, [id, memberId])).rows[0];
}

/** The member's rentals; failed starts (the car never unlocked) are not part of the history. */
export async function memberRentals(db: Queryable, memberId: string, page: Page): Promise<Rental[]> {
  const { rows } = await db.query<Rental>(
    `SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.member_id = $1 AND t.status <> 'failed' AND ($2::timestamptz IS NULL OR t.started_at < $2)
      ORDER BY t.started_at DESC LIMIT $3`,
    [memberId, page.before ?? null, page.limit],
  );
  return rows;
}

/** One of the member's rentals; another member's is absent. */
export async function memberRental(db: Queryable, memberId: string, id: string): Promise<Rental | undefined> {
  return (await db.query<Rental>(`SELECT ${RENTAL_COLUMNS} FROM rentals t WHERE t.id = $1 AND t.member_id = $2`, [id, memberId])).rows[0];
}

export async function reservations(db: Queryable, filter: Filter): Promise<Reservation[]> {
  const { rows } = await db.query<Reservation>(
    `SELECT ${RESERVATION_COLUMNS} FROM reservations r
      WHERE ($1::text IS NULL OR r.status = $1) AND ($2::uuid IS NULL OR r.member_id = $2) AND ($3::uuid IS NULL OR r.vehicle_id = $3)
      ORDER BY r.created_at DESC LIMIT $4`,
    [filter.status ?? null, filter.memberId ?? null, filter.vehicleId ?? null, filter.limit],
  );
  return rows;
}

export async function rentals(db: Queryable, filter: Filter): Promise<Rental[]> {
  const { rows } = await db.query<Rental>(
    `SELECT ${RENTAL_COLUMNS} FROM rentals t
      WHERE ($1::text IS NULL OR t.status = $1) AND ($2::uuid IS NULL OR t.member_id = $2) AND ($3::uuid IS NULL OR t.vehicle_id = $3)
      ORDER BY t.started_at DESC LIMIT $4`,
    [filter.status ?? null, filter.memberId ?? null, filter.vehicleId ?? null, filter.limit],
  );
  return rows;
}
