import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import WebSocket from 'ws';
import { DEV_ACCOUNTS } from '@evshare/stack';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { bearer, eventually, login, request } from '../support/http';

const STACK_MAIN = path.resolve(__dirname, '..', '..', 'services', 'stack', 'dist', 'main.js');
const FAULT_HOOK = path.resolve(__dirname, 'fault-hook.js');

interface LogLine {
  level?: number;
  msg?: string;
  service?: string;
  reqId?: string;
}

/**
 * `make run` (one process) with a test-only preload that injects bugs: an error escaping one
 * service restarts that service in place while the others keep serving; an error no service owns
 * is logged and the process keeps running.
 */
describe('the embedded stack contains a failing service', () => {
  let child: ChildProcess;
  let gateway: string;
  let urls: Record<string, string> = {};
  const lines: string[] = [];
  const logs: LogLine[] = [];
  let dropDatabase: () => Promise<void>;

  const logged = (predicate: (line: LogLine) => boolean) => logs.some(predicate);

  beforeAll(async () => {
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    const env = {
      ...process.env,
      ...testEnvironment(database.url, { LOG_LEVEL: 'warn' }),
      STACK_MODE: 'in-process',
      GATEWAY_PORT: '0',
      GATEWAY_ADMIN_PORT: '0',
      MQTT_PORT: '0',
      // The stack itself, not the parent that relaunches it in its own process group: the faults
      // are injected into, and the signals sent to, the process that runs the services.
      EVSHARE_STACK_GROUP: '1',
      APP_INSTANCES: '1',
      SIMULATORS: 'false',
      AUTOSCALE: 'false',
    };
    child = spawn(process.execPath, ['--require', FAULT_HOOK, STACK_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    gateway = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not up:\n${lines.join('\n')}`)), 90_000);
      for (const stream of [child.stdout!, child.stderr!]) {
        readline.createInterface({ input: stream }).on('line', (line) => {
          lines.push(line);
          if (line.startsWith('{')) {
            try {
              logs.push(JSON.parse(line) as LogLine);
            } catch {
              // not a log line
            }
          }
          const service = /^ {2}([a-z0-9-]+):\s+(http:\S+)$/.exec(line);
          if (service) urls[service[1]!] = service[2]!;
          const match = /web and API \(gateway\):\s+(http:\S+?)\/?$/.exec(line);
          if (match) urls = { ...urls, gateway: match[1]! };
          if (line.startsWith('Press Ctrl-C')) {
            clearTimeout(timer);
            resolve(urls.gateway!);
          }
        });
      }
      child.once('exit', (code) => reject(new Error(`stack exited with ${code}:\n${lines.join('\n')}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await dropDatabase?.();
  }, 60_000);

  let stopping = false;
  afterEach(() => {
    if (!stopping) expect({ exitCode: child.exitCode, signal: child.signalCode }).toEqual({ exitCode: null, signal: null });
  });

  it('restarts the service an escaped exception came from, in place, while the others serve', async () => {
    const key = await login(gateway, DEV_ACCOUNTS.member.account, DEV_ACCOUNTS.member.password);
    // A push connection stays open through auth's restart: heartbeat is another service.
    const push = new WebSocket(`${gateway.replace('http', 'ws')}/push`, { headers: bearer(key) });
    let pushClosed = false;
    push.on('close', () => {
      pushClosed = true;
    });
    await new Promise((resolve, reject) => {
      push.once('message', resolve);
      push.once('error', reject);
    });

    await request(`${gateway}/api/v1/auth/session`, { headers: { ...bearer(key), 'x-test-fault': 'escape' } }).catch(() => undefined);
    await eventually(() => expect(logged((l) => l.service === 'auth' && /failed outside its handlers/.test(l.msg ?? ''))).toBe(true), 10_000);
    // The APP instance answers while auth restarts.
    expect((await request(`${gateway}/api/v1/sync`, { headers: bearer(key) })).status).toBe(200);
    await eventually(() => expect(logged((l) => l.service === 'auth' && /auth restarted/.test(l.msg ?? ''))).toBe(true), 15_000);
    // Back at the same address, through the gateway.
    expect((await request(`${urls.auth}/healthz`)).status).toBe(200);
    await eventually(async () => expect((await request(`${gateway}/api/v1/auth/session`, { headers: bearer(key) })).status).toBe(200), 10_000);
    await login(gateway, DEV_ACCOUNTS.member.account, DEV_ACCOUNTS.member.password);
    expect(pushClosed).toBe(false);
    push.close();
  }, 60_000);

  it('restarts an APP instance after an unhandled rejection in it', async () => {
    const key = await login(gateway, DEV_ACCOUNTS.member.account, DEV_ACCOUNTS.member.password);
    await request(`${gateway}/api/v1/sync`, { headers: { ...bearer(key), 'x-test-fault': 'reject' } }).catch(() => undefined);
    await eventually(() => expect(logged((l) => l.service === 'app-1' && /app-1 restarted/.test(l.msg ?? ''))).toBe(true), 15_000);
    await eventually(async () => expect((await request(`${gateway}/api/v1/sync`, { headers: bearer(key) })).status).toBe(200), 15_000);
  }, 60_000);

  it('logs an error no service owns and keeps serving', async () => {
    child.kill('SIGUSR2');
    await eventually(() => expect(logged((l) => /no service owns/.test(l.msg ?? ''))).toBe(true), 10_000);
    const key = await login(gateway, DEV_ACCOUNTS.member.account, DEV_ACCOUNTS.member.password);
    expect((await request(`${gateway}/api/v1/sync`, { headers: bearer(key) })).status).toBe(200);
  });

  it('still stops cleanly', async () => {
    stopping = true;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);
});
