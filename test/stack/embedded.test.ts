import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { DEV_ACCOUNTS, freePort } from '@evshare/stack';
import { bearer, eventually, login, request } from '../support/http';

const STACK_MAIN = path.resolve(__dirname, '..', '..', 'services', 'stack', 'dist', 'main.js');

/**
 * `make run` on a machine with nothing but Node: no REDIS_URL, NATS_URL or DATABASE_URL, so the
 * platform runs in one process on the in-process store and bus and an embedded PostgreSQL.
 * The test starts the real entry point and reads the URLs it prints.
 */
describe('make run with the embedded default', () => {
  let child: ChildProcess;
  let dir: string;
  let gateway: string;
  let output: string[] = [];
  let mqttPort: number;
  let env: NodeJS.ProcessEnv;
  const adminPort = () => env.GATEWAY_ADMIN_PORT;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-embedded-'));
    // As root, PostgreSQL runs as the postgres user, which must be able to reach the data directory.
    chmodSync(dir, 0o755);
    env = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', EMBEDDED_DATA_DIR: dir };
    env.EMBEDDED_PG_PORT = String(await freePort());
    env.GATEWAY_PORT = String(await freePort());
    env.GATEWAY_ADMIN_PORT = String(await freePort());
    mqttPort = await freePort();
    env.MQTT_PORT = String(mqttPort);
    env.DEV_PANEL_PORT = String(await freePort());
    // Its own process group, as `make run` in a terminal is: Ctrl-C signals the whole group.
    child = spawn(process.execPath, [STACK_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    output = [];
    gateway = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output.join('\n')}`)), 90_000);
      for (const stream of [child.stdout!, child.stderr!]) {
        readline.createInterface({ input: stream }).on('line', (line) => {
          output.push(line);
          const match = /web and API \(gateway\):\s+(http:\S+?)\/?$/.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      }
      child.once('exit', (code) => reject(new Error(`stack exited with ${code}:\n${output.join('\n')}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints the URLs and the development accounts', () => {
    const text = output.join('\n');
    expect(text).toContain(`balancer status:        http://127.0.0.1:${adminPort()}/lb/status`);
    expect(text).toContain(`${DEV_ACCOUNTS.member.account} / ${DEV_ACCOUNTS.member.password}`);
    expect(text).toMatch(/app-1:\s+http/);
    expect(text).toMatch(/app-2:\s+http/);
    expect(text).toMatch(/telematics:\s+http/);
    expect(text).toMatch(/charging:\s+http/);
    expect(text).toMatch(/web:\s+http/);
    expect(text).toMatch(new RegExp(`MQTT \\(cars\\):\\s+mqtt://127\\.0\\.0\\.1:${mqttPort}`));
    // The demo's simulated devices are connected: six cars on MQTT, two piles per station on OCPP.
    expect(text).toMatch(/simulators:\s+6\/6 cars on MQTT, 6\/6 piles on OCPP/);
    expect(text).toContain(`developer panel:        http://127.0.0.1:${env.DEV_PANEL_PORT}/ (loopback only`);
  });

  it('serves the developer panel on loopback with the demo cars, stations and no card yet', async () => {
    const state = (await request(`http://127.0.0.1:${env.DEV_PANEL_PORT}/api/state`)).json<{
      cars: Array<{ vin: string; state: string; connected: boolean }>;
      stations: unknown[];
    }>();
    expect(state.cars).toHaveLength(6);
    expect(state.cars.every((car) => car.state === 'available' && car.connected)).toBe(true);
    expect(state.stations).toHaveLength(3);
    expect((await request(`http://127.0.0.1:${env.DEV_PANEL_PORT}/`)).body).toContain('/panel.js');
  });

  it('serves the web front end and the live devices through the gateway', async () => {
    const page = await request(`${gateway}/`);
    expect(page.status).toBe(200);
    expect(String(page.headers['content-type'])).toContain('text/html');
    const admin = await login(gateway, DEV_ACCOUNTS.admin.account, DEV_ACCOUNTS.admin.password);
    const piles = await request(`${gateway}/api/v1/charging/piles`, { headers: bearer(admin) });
    expect(piles.status).toBe(200);
    expect(JSON.stringify(piles.json())).toContain('DEMO1-01');
  });

  it('logs in, polls and answers 304 through the gateway', async () => {
    const key = await login(gateway, DEV_ACCOUNTS.member.account, DEV_ACCOUNTS.member.password);
    const first = await request(`${gateway}/api/v1/sync`, { headers: bearer(key) });
    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({ member: { displayName: DEV_ACCOUNTS.member.displayName } });
    const again = await request(`${gateway}/api/v1/sync`, { headers: { ...bearer(key), 'if-none-match': String(first.headers.etag) } });
    expect(again.status).toBe(304);
    const status = (await request(`http://127.0.0.1:${adminPort()}/lb/status`)).json<{ instances: Array<{ id: string }> }>();
    expect(status.instances.map((i) => i.id).sort()).toEqual(['app-1', 'app-2']);
    expect((await request(`${gateway}/lb/status`)).status).toBe(404);
    // The operators' console reads the balancer's view through the APP (the gateway publishes it on the bus).
    const admin = await login(gateway, DEV_ACCOUNTS.admin.account, DEV_ACCOUNTS.admin.password);
    // Published every 2 s: the first one may predate the instances' announcements.
    await eventually(async () => {
      const view = (await request(`${gateway}/api/v1/admin/cluster/balancer`, { headers: bearer(admin) })).json<{
        items: Array<{ status: { instances: Array<{ id: string }> } }>;
      }>();
      expect(view.items[0]!.status.instances.map((i) => i.id).sort()).toEqual(['app-1', 'app-2']);
    }, 10_000);
    expect((await request(`${gateway}/api/v1/admin/cluster/balancer`, { headers: bearer(key) })).status).toBe(403);
  });

  it('stops promptly and cleanly on Ctrl-C (SIGINT to the whole process group, as a terminal sends it)', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const from = output.length;
    const started = Date.now();
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;
    const tookMs = Date.now() - started;
    // Errors logged while stopping (PostgreSQL gone before the services, a shutdown timeout).
    const errors = output.slice(from).filter((line) => /"level":(50|60)|shutdown took too long|ECONNREFUSED|terminating connection/.test(line));
    // The last lines explain a failed shutdown.
    expect({ code, errors, tail: code === 0 ? [] : output.slice(-15) }).toEqual({ code: 0, errors: [], tail: [] });
    expect(tookMs).toBeLessThan(10_000);
  }, 60_000);
});
