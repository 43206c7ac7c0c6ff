import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import pg from 'pg';
import { freePort } from '@evshare/stack';
import { eventually, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const REPO = path.resolve(__dirname, '..', '..');

interface Simulator {
  child: ChildProcess;
  status: string;
  output: string[];
  exited: Promise<number | null>;
}

/** Starts a simulator's command line as the chart's pod does: --provision, a status port. */
async function startSimulator(main: string, args: string[], env: Record<string, string>): Promise<Simulator> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO, main), ...args, '--status-port', String(port)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) readline.createInterface({ input: stream }).on('line', (line) => output.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, status: `http://127.0.0.1:${port}`, output, exited };
}

/**
 * The simulators as the chart runs them in a development cluster: they register their devices
 * through the database, wait (live and ready) while none is published, then connect like real
 * cars and piles; SIGTERM ends them with a summary.
 */
describe('the simulators as pods', () => {
  let platform: TestPlatform;
  let db: pg.Pool;
  let piles: Simulator;
  let cars: Simulator;

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 1 });
    db = new pg.Pool({ connectionString: platform.env.DATABASE_URL, max: 2 });
    const env = { DATABASE_URL: platform.env.DATABASE_URL! };
    const ocpp = `${platform.stack.gatewayUrl.replace(/^http/, 'ws')}/ocpp`;
    piles = await startSimulator('sims/pile/dist/main.js', ['--provision', '--count', '2', '--retry', '1', '--no-start', '--url', ocpp], env);
    cars = await startSimulator(
      'sims/vehicle/dist/main.js',
      ['--provision', '--count', '2', '--retry', '1', '--trip-chance', '0', '--broker', platform.stack.mqttUrl!],
      env,
    );
  });

  afterAll(async () => {
    for (const sim of [piles, cars]) if (sim?.child.exitCode === null) sim.child.kill('SIGKILL');
    await db?.end();
    await platform?.stop();
  });

  it('are live and ready while nothing is published yet', async () => {
    for (const sim of [piles, cars]) {
      await eventually(async () => expect((await request(`${sim.status}/readyz`)).status).toBe(200), 20_000, 100);
      expect((await request(`${sim.status}/status`)).json()).toEqual({ state: 'provisioning' });
    }
  });

  it('register and connect the devices once a station and a car exist', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy) VALUES ('Sim station', 31.23, 121.47, 150, 8, 'open') RETURNING id`,
    );
    await db.query(
      `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id, lat, lng, soc_pct)
       VALUES ('LSVMPDD0000000001', '沪A·S0001', 'BYD Dolphin', 60, 420, $1, $1, 31.23, 121.47, 70)`,
      [rows[0]!.id],
    );
    await eventually(async () => expect((await request(`${piles.status}/status`)).json()).toMatchObject({ piles: 2, connected: 2, failed: 0 }), 20_000, 200);
    await eventually(async () => expect((await request(`${cars.status}/status`)).json()).toMatchObject({ cars: 1, connected: 1 }), 20_000, 200);
    const { rows: registered } = await db.query<{ id: string; state: string }>(`SELECT id, state FROM piles ORDER BY id`);
    expect(registered.map((p) => p.id)).toEqual(['SIM1-01', 'SIM1-02']);
    await eventually(
      async () => {
        const { rows: car } = await db.query<{ online: boolean }>(`SELECT online FROM vehicles WHERE vin = 'LSVMPDD0000000001'`);
        expect(car[0]!.online).toBe(true);
      },
      10_000,
      200,
    );
  });

  it('stop on SIGTERM with a summary', async () => {
    for (const sim of [piles, cars]) {
      sim.child.kill('SIGTERM');
      expect(await sim.exited).toBe(0);
      expect(sim.output.join('\n')).toMatch(/summary/);
    }
  });
});
