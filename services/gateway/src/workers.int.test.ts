import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { call, sleep, startUpstream, waitFor, type TestUpstream } from './testing.fixture';
import type { LbMergedStatus } from './status';

// The gateway's own main with two workers on one port, as the processes mode and the chart run it.
const MAIN = path.join(__dirname, '../dist/main.js');

interface Primary {
  child: ChildProcess;
  url: string;
  adminUrl: string;
  lines: string[];
  exited: Promise<number | null>;
}

async function startPrimary(ups: TestUpstream[]): Promise<Primary> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      GATEWAY_WORKERS: '2',
      PORT: String(port),
      ADMIN_PORT: String(port + 1),
      APP_UPSTREAMS: ups.map((u) => u.url).join(','),
      TRUST_PROXY: 'loopback',
      HEALTH_INTERVAL_MS: '100',
      LOG_LEVEL: 'info',
      NATS_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a terminal's: a Ctrl-C reaches the primary and every worker.
    detached: true,
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const primary = { child, url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${port + 1}`, lines, exited };
  await waitFor(async () => (await call(primary.adminUrl, '/readyz').catch(() => ({ status: 0 }))).status === 200, 20_000);
  return primary;
}

const status = async (primary: Primary): Promise<LbMergedStatus> => (await call(primary.adminUrl, '/lb/status')).json() as LbMergedStatus;
/** Log lines at error level or above (pino: 50 and 60), but for the ones the test expects. */
const errors = (primary: Primary, expected: RegExp[] = []) =>
  primary.lines.filter((line) => /"level":(50|60)/.test(line) && !expected.some((e) => e.test(line)));

describe('a gateway with two workers on one port', () => {
  let ups: TestUpstream[] = [];
  let primary: Primary | undefined;

  beforeEach(async () => {
    ups = await Promise.all(['app-1', 'app-2', 'app-3'].map(startUpstream));
  });
  afterEach(async () => {
    if (primary && primary.child.exitCode === null) {
      process.kill(-primary.child.pid!, 'SIGKILL');
      await primary.exited;
    }
    primary = undefined;
    await Promise.all(ups.map((u) => u.close()));
  });

  it('keeps each member on one APP instance whichever worker accepts it, and sums both in /lb/status and /metrics', async () => {
    primary = await startPrimary(ups);
    const homes = new Map<string, Set<string>>();
    // A new connection per request: the primary hands connections to the workers in turn.
    for (let round = 0; round < 6; round++)
      for (let member = 0; member < 20; member++) {
        const reply = await call(primary.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': `10.7.0.${member}`, Connection: 'close' }, agent: false });
        expect(reply.status).toBe(200);
        const seen = homes.get(String(member)) ?? new Set<string>();
        seen.add(reply.json().id as string);
        homes.set(String(member), seen);
      }
    for (const seen of homes.values()) expect(seen.size).toBe(1);
    // Both workers took part, and their counts add up in the merged status and the metrics.
    await sleep(700);
    const merged = await status(primary);
    expect(merged.workers).toHaveLength(2);
    for (const worker of merged.workers) expect(worker.served).toBeGreaterThan(0);
    expect(merged.totals.served).toBe(120);
    expect(merged.instances.map((i) => i.id).sort()).toEqual(ups.map((u) => u.url).sort());
    const metrics = (await call(primary.adminUrl, '/metrics')).text;
    const proxied = [...metrics.matchAll(/^gateway_requests_total\{[^}]*pool="app"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(proxied).toBe(120);
    expect((await call(primary.adminUrl, '/nope')).status).toBe(404);
    expect((await call(primary.adminUrl, '/lb/status', { method: 'POST' })).status).toBe(405);
  });

  it('replaces a worker that dies while the other keeps serving, then stops on Ctrl-C with exit 0', async () => {
    primary = await startPrimary(ups);
    const before = await status(primary);
    const victim = before.workers[0]!;
    process.kill(victim.pid, 'SIGKILL');
    // The survivor serves meanwhile. A connection the primary handed to the worker as it died is
    // lost with it (node:cluster cannot take it back): its client times out and connects again,
    // as a member's app does.
    let retried = 0;
    for (let i = 0; i < 30; i++) {
      for (let attempt = 1; ; attempt++) {
        const reply = await call(primary.url, '/api/v1/sync', { headers: { Connection: 'close' }, agent: false, timeoutMs: 2000 }).catch(() => undefined);
        if (reply) {
          expect(reply.status).toBe(200);
          break;
        }
        retried++;
        expect(attempt).toBeLessThan(3);
      }
    }
    expect(retried).toBeLessThanOrEqual(1);
    await waitFor(async () => {
      const now = await status(primary!);
      return now.workers.length === 2 && now.workers.every((w) => w.pid !== victim.pid && w.ready);
    }, 15_000);
    expect((await call(primary.adminUrl, '/readyz')).status).toBe(200);

    const started = Date.now();
    process.kill(-primary.child.pid!, 'SIGINT');
    expect(await primary.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(errors(primary, [/gateway worker died/])).toEqual([]);
    expect(primary.lines.some((line) => line.includes('second signal'))).toBe(false);
  });
});
