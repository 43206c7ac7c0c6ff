import { deliverNotice, lowBatteryDue, type Bus, type KeyValueStore, type Pool } from '@evshare/kit';

/**
 * The member notices telematics alone sees happen (docs/push.md, "Member notices"): a walk-up
 * rental started at the car, the battery running low during a trip. Which go by SMS is the kit's
 * notice policy.
 */
export interface TelematicsNoticeDeps {
  db: Pool;
  bus: Bus;
  cache?: KeyValueStore | undefined;
}

/** The walk-up rental recordWalkUp started for this unlock report. */
export async function noticeWalkUpStarted(deps: TelematicsNoticeDeps, tripId: string): Promise<void> {
  const { rows } = await deps.db.query<{ id: string; memberId: string; plate: string; station: string }>(
    `SELECT r.id, r.member_id AS "memberId", v.plate, s.name AS station
       FROM rentals r JOIN vehicles v ON v.id = r.vehicle_id JOIN stations s ON s.id = r.start_station_id WHERE r.unlock_command_id = $1`,
    [tripId],
  );
  const rental = rows[0];
  if (!rental) return;
  await deliverNotice(deps, {
    memberId: rental.memberId,
    kind: 'rental-started',
    reference: `rental-started:${rental.id}`,
    params: { plate: rental.plate, station: rental.station },
    body: { rentalId: rental.id },
  });
}

/** The bill of a trip the car's record ended (a walk-up, or a trip made offline); its SMS always goes. */
export async function noticeTripBilled(
  deps: TelematicsNoticeDeps,
  bill: { rentalId: string; memberId: string; plate: string; totalFen: number },
): Promise<void> {
  await deliverNotice(deps, {
    memberId: bill.memberId,
    kind: 'rental-ended',
    reference: `rental-ended:${bill.rentalId}`,
    params: { plate: bill.plate, feeFen: bill.totalFen },
    body: { rentalId: bill.rentalId, totalFen: bill.totalFen },
  });
}

export interface NearbyStation {
  id: string;
  name: string;
  distanceM: number;
  freeSpaces: number;
  freeChargers: number;
}

export interface LowBatterySettings {
  thresholdPct: number;
  /** How many stations the notice lists. */
  stations: number;
}

/**
 * Tells the members driving these cars that the battery is low, once per rental: the statement
 * that marks the rental told picks only rentals not told yet, so reports arriving at several
 * telematics instances tell one member once. The notice lists the nearest stations with a free
 * space and a free charger.
 */
export async function noticeLowBattery(
  deps: TelematicsNoticeDeps,
  cars: Array<{ vin: string; state: string; socPct: number }>,
  settings: LowBatterySettings,
): Promise<number> {
  const low = cars.filter((car) => lowBatteryDue(car, settings.thresholdPct));
  if (low.length === 0) return 0;
  const { rows } = await deps.db.query<{ id: string; memberId: string; plate: string; lat: number | null; lng: number | null; socPct: number }>(
    `UPDATE rentals r SET low_battery_noticed_at = now() FROM vehicles v
      WHERE v.vin = ANY($1::text[]) AND r.vehicle_id = v.id AND r.status = 'active' AND r.low_battery_noticed_at IS NULL
      RETURNING r.id, r.member_id AS "memberId", v.plate, v.lat, v.lng, v.soc_pct::float8 AS "socPct"`,
    [low.map((car) => car.vin)],
  );
  for (const rental of rows) {
    const nearby = rental.lat === null || rental.lng === null ? [] : await nearestStations(deps.db, rental.lat, rental.lng, settings.stations);
    const socPct = Math.floor(rental.socPct);
    await deliverNotice(deps, {
      memberId: rental.memberId,
      kind: 'low-battery',
      reference: `low-battery:${rental.id}`,
      params: {
        plate: rental.plate,
        socPct,
        stations: stationsText(nearby),
      },
      body: { rentalId: rental.id, stations: nearby },
    });
  }
  return rows.length;
}

/** The SMS's list of stations: as many as fit the template's 300 characters, nearest first. */
export function stationsText(stations: readonly NearbyStation[], maxLength = 300): string {
  let text = '';
  for (const station of stations) {
    const next = `${text ? `${text}, ` : ''}${station.name} ${(Math.round(station.distanceM / 100) / 10).toFixed(1)} km`;
    if (next.length > maxLength) break;
    text = next;
  }
  return text || '-';
}

/**
 * The stations nearest a point (great-circle distance) with at least one space no car stands in
 * and one enabled pile free to charge.
 */
export async function nearestStations(db: Pool, lat: number, lng: number, limit: number): Promise<NearbyStation[]> {
  const { rows } = await db.query<NearbyStation>(
    `SELECT id, name, distance AS "distanceM", free_spaces AS "freeSpaces", free_chargers AS "freeChargers" FROM (
       SELECT s.id, s.name,
              round(2 * 6371000 * asin(sqrt(power(sin(radians(s.lat - $1) / 2), 2)
                + cos(radians($1)) * cos(radians(s.lat)) * power(sin(radians(s.lng - $2) / 2), 2))))::int AS distance,
              s.capacity - (SELECT count(*) FROM vehicles v WHERE v.station_id = s.id)::int AS free_spaces,
              (SELECT count(*) FROM piles p WHERE p.station_id = s.id AND p.enabled AND p.state = 'available')::int AS free_chargers
         FROM stations s) n
      WHERE free_spaces > 0 AND free_chargers > 0 ORDER BY distance, name LIMIT $3`,
    [lat, lng, limit],
  );
  return rows;
}
