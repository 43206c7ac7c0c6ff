import { createPool, type Pool } from '@evshare/kit';
import { migrateDatabase } from '@evshare/schema';
import { provisionVehicleCredentials, type VehicleCredential } from '@evshare/telematics';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { startTestTelematics } from './support';

/**
 * A database with one station and `count` cars with terminal credentials, and the telematics
 * service on it; `broker`, given the credentials, starts an external broker and returns the
 * service's settings for it.
 */
export async function startCarsAndTelematics(
  prefix: string,
  count: number,
  overrides: Record<string, string> = {},
  broker?: (credentials: VehicleCredential[]) => Promise<Record<string, string>>,
) {
  const database = await createTestDatabase();
  const db = createPool(database.url, { max: 3 });
  try {
    return await start(database, db, prefix, count, overrides, broker);
  } catch (error) {
    // A half-started fixture must not keep the test process alive.
    await db.end();
    await database.drop();
    throw error;
  }
}

async function start(
  database: Awaited<ReturnType<typeof createTestDatabase>>,
  db: Pool,
  prefix: string,
  count: number,
  overrides: Record<string, string>,
  broker?: (credentials: VehicleCredential[]) => Promise<Record<string, string>>,
) {
  await migrateDatabase(db);
  const { rows: stations } = await db.query<{ id: string }>(
    `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy) VALUES ('Lujiazui', 31.2397, 121.4998, 150, 10, 'open') RETURNING id`,
  );
  const vins = Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(17 - prefix.length, '0')}`);
  const ids: string[] = [];
  for (const vin of vins) {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id) VALUES ($1, $2, 'Test EV', 40, 350, $3, $3) RETURNING id`,
      [vin, `沪T${vin.slice(-5)}`, stations[0]!.id],
    );
    ids.push(rows[0]!.id);
  }
  const env = testEnvironment(database.url);
  const credentials: VehicleCredential[] = await provisionVehicleCredentials(db, vins);
  const tm = await startTestTelematics(env, { ...overrides, ...(broker ? await broker(credentials) : {}) });
  return {
    db,
    env,
    tm,
    vins,
    ids,
    credentials,
    secret: (vin: string) => credentials.find((c) => c.vin === vin)!.secret,
    async stop() {
      await tm.stop();
      await db.end();
      await database.drop();
    },
  };
}
