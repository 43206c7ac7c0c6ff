import { provisionPiles } from '@evshare/charging';
import type { Logger, Pool } from '@evshare/kit';
import { startPileFleet } from '@evshare/sim-pile';
import { startVehicleFleet, type Fleet } from '@evshare/sim-vehicle';
import { provisionVehicleCredentials } from '@evshare/telematics';

/** How long the simulated devices get to disconnect cleanly when the stack stops. */
const STOP_BOUND_MS = 3_000;

export interface Simulators {
  /** One line for the start banner. */
  describe(): string;
  /** The simulated cars (the developer panel acts on them). */
  vehicles: Fleet;
  stop(): Promise<void>;
}

/**
 * The demo's devices: every car of the database as a simulated terminal on the telematics broker,
 * and two simulated charge points per station on the OCPP endpoint (through the gateway, as real
 * piles come in). Credentials are issued anew at each start (only hashes are stored). The cars
 * start where the database has them and drive only once a member rented and unlocked one (the
 * rental autopilot: a short trip, parked at the nearest station, doors closed, waiting for the
 * member's lock); the piles start no session on their own: nobody is billed for made-up use.
 */
export async function startSimulators(options: {
  db: Pool;
  gatewayUrl: string;
  mqttUrl: string;
  log: Logger;
  seed?: number;
  autopilot?: boolean;
  /** The platform's app-key public key (PEM), provisioned into every simulated terminal. */
  platformKey?: string;
}): Promise<Simulators> {
  const { db, log } = options;
  const seed = options.seed ?? 1;
  const { rows: cars } = await db.query<{ vin: string; lat: number | null; lng: number | null; stationLat: number | null; stationLng: number | null }>(
    `SELECT v.vin, v.lat, v.lng, s.lat AS "stationLat", s.lng AS "stationLng" FROM vehicles v LEFT JOIN stations s ON s.id = v.station_id ORDER BY v.vin`,
  );
  const { rows: stations } = await db.query<{ id: string; name: string; lat: number; lng: number }>(
    'SELECT id, name, lat, lng FROM stations ORDER BY created_at, id',
  );
  const starts: Record<string, { lat: number; lng: number }> = {};
  for (const car of cars) {
    const lat = car.lat ?? car.stationLat;
    const lng = car.lng ?? car.stationLng;
    if (lat !== null && lng !== null) starts[car.vin] = { lat, lng };
  }
  const vehicles = await startVehicleFleet({
    brokerUrl: options.mqttUrl,
    credentials: await provisionVehicleCredentials(
      db,
      cars.map((car) => car.vin),
    ),
    seed,
    starts,
    ...(options.autopilot === false ? {} : { rentals: { stations, seed } }),
    ...(options.platformKey === undefined ? {} : { platformKey: options.platformKey }),
    log: (line) => log.info({ sim: 'vehicle' }, line),
  });
  const credentials = [];
  for (const [i, station] of stations.entries()) credentials.push(...(await provisionPiles(db, station.id, 2, { prefix: `DEMO${i + 1}-` })));
  const piles = await startPileFleet({
    url: `${options.gatewayUrl.replace(/^http/, 'ws')}/ocpp`,
    credentials,
    seed,
    autoStart: false,
    log: (line) => log.debug({ sim: 'pile' }, line),
  });
  log.info({ cars: cars.length, piles: credentials.length }, 'simulators started');
  return {
    vehicles,
    describe: () => `${vehicles.summary().connected}/${cars.length} cars on MQTT, ${piles.stats().connected}/${credentials.length} piles on OCPP`,
    async stop() {
      // A device that cannot say goodbye (its server already gone) does not hold up the stop.
      await Promise.race([Promise.all([vehicles.stop(), piles.stop()]), new Promise((resolve) => setTimeout(resolve, STOP_BOUND_MS).unref())]);
    },
  };
}
