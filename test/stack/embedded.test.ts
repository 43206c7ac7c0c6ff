import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { DEV_ACCOUNTS, freePort } from '@evshare/stack';
import { bearer, login, request } from '../support/http';

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

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'evshare-embedded-'));
    // As root, PostgreSQL runs as the postgres user, which must be able to reach the data directory.
    chmodSync(dir, 0o755);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', EMBEDDED_DATA_DIR: dir };
    env.EMBEDDED_PG_PORT = String(await freePort());
    env.GATEWAY_PORT = String(await freePort());
    child = spawn(process.execPath, [STACK_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    expect(text).toContain('/lb/status');
    expect(text).toContain(`${DEV_ACCOUNTS.member.account} / ${DEV_ACCOUNTS.member.password}`);
    expect(text).toMatch(/app-1:\s+http/);
    expect(text).toMatch(/app-2:\s+http/);
  });

  it('logs in, polls and answers 304 through the gateway', async () => {
    const key = await login(gateway, DEV_ACCOUNTS.member.account, DEV_ACCOUNTS.member.password);
    const first = await request(`${gateway}/api/v1/sync`, { headers: bearer(key) });
    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({ member: { displayName: DEV_ACCOUNTS.member.displayName } });
    const again = await request(`${gateway}/api/v1/sync`, { headers: { ...bearer(key), 'if-none-match': String(first.headers.etag) } });
    expect(again.status).toBe(304);
    const status = (await request(`${gateway}/lb/status`)).json<{ instances: Array<{ id: string }> }>();
    expect(status.instances.map((i) => i.id).sort()).toEqual(['app-1', 'app-2']);
  });

  it('stops cleanly on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);
});
