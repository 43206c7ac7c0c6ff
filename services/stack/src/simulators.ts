import { provisionPiles } from '@evshare/charging';
import type { Logger, Pool } from '@evshare/kit';
import { startPileFleet } from '@evshare/sim-pile';
import { startVehicleFleet } from '@evshare/sim-vehicle';
import { provisionVehicleCredentials } from '@evshare/telematics';

export interface Simulators {
  /** One line for the start banner. */
  describe(): string;
  stop(): Promise<void>;
}

/**
 * The demo's devices: every car of the database as a simulated terminal on the telematics broker,
 * and two simulated charge points per station on the OCPP endpoint (through the gateway, as real
 * piles come in). Credentials are issued anew at each start (only hashes are stored). The cars
 * drive no trips by themselves and the piles start no session on their own: nobody is billed
 * for made-up use; members and operators drive them through the web and the API.
 */
export async function startSimulators(options: { db: Pool; gatewayUrl: string; mqttUrl: string; log: Logger; seed?: number }): Promise<Simulators> {
  const { db, log } = options;
  const seed = options.seed ?? 1;
  const { rows: cars } = await db.query<{ vin: string }>('SELECT vin FROM vehicles ORDER BY vin');
  const vehicles = await startVehicleFleet({
    brokerUrl: options.mqttUrl,
    credentials: await provisionVehicleCredentials(db, cars.map((car) => car.vin)),
    seed,
    log: (line) => log.debug({ sim: 'vehicle' }, line),
  });
  const { rows: stations } = await db.query<{ id: string }>('SELECT id FROM stations ORDER BY created_at, id');
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
    describe: () => `${vehicles.summary().connected}/${cars.length} cars on MQTT, ${piles.stats().connected}/${credentials.length} piles on OCPP`,
    async stop() {
      await Promise.all([vehicles.stop(), piles.stop()]);
    },
  };
}
