import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { createPool, type Pool } from '@evshare/kit';
import { provisionMembers, registerMembers, simulatedAccounts, startMemberFleet, type MemberFleetStats } from '@evshare/sim-member';
import { freePort } from '@evshare/stack';
import { bearer, eventually, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const REPO = path.resolve(__dirname, '..', '..');

/** The simulated member apps against the whole platform: the library, and the command line as a pod runs it. */
describe('simulated member apps', () => {
  let platform: TestPlatform;
  let db: Pool;

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 2 });
    db = createPool(platform.env.DATABASE_URL!, { max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await platform?.stop();
  });

  it('log in, poll with If-None-Match, spread over the APP instances and log in again after a suspension', async () => {
    const accounts = simulatedAccounts(16, 'sim-member-password', '1981000');
    await provisionMembers(db, accounts);
    // Provisioning again resets the members instead of failing.
    await provisionMembers(db, accounts);
    const fleet = startMemberFleet({ url: platform.stack.gatewayUrl, accounts, pollIntervalMs: 100, concurrencyRampMs: 200, seed: 3 });
    let stats: MemberFleetStats = fleet.stats();
    try {
      await eventually(
        () => {
          stats = fleet.stats();
          expect(stats).toMatchObject({ members: 16, loggedIn: 16, logins: 16, loginFailures: 0, errors: 0, unauthorized: 0 });
          // The first poll of each member is a 200; then its ETag answers unchanged state with 304.
          expect(stats.ok).toBe(16);
          expect(stats.notModified).toBeGreaterThanOrEqual(64);
        },
        15_000,
        100,
      );
      // 16 client addresses over two instances (all on one has odds of 2^-15).
      expect(Object.keys(stats.instances).length).toBe(2);
      expect(stats.latencyMs.p95).toBeGreaterThan(0);

      const admin = await login(platform.stack.gatewayUrl, platform.admin.account, platform.admin.password);
      const { rows } = await db.query<{ id: string }>('SELECT id FROM members WHERE phone = $1', [accounts[0]!.account]);
      const suspend = await request(`${platform.stack.gatewayUrl}/api/v1/admin/members/${rows[0]!.id}/suspend`, {
        method: 'POST',
        headers: bearer(admin),
        body: { reason: 'simulation' },
      });
      expect(suspend.status).toBe(200);
      await eventually(() => expect(fleet.stats()).toMatchObject({ loggedIn: 15, unauthorized: 1 }), 10_000, 50);
      // Its login is refused (403) while suspended, and retried with a backoff.
      await eventually(() => expect(fleet.stats().loginFailures).toBeGreaterThanOrEqual(1), 10_000, 50);
      const reactivate = await request(`${platform.stack.gatewayUrl}/api/v1/admin/members/${rows[0]!.id}/reactivate`, {
        method: 'POST',
        headers: bearer(admin),
        body: {},
      });
      expect(reactivate.status).toBe(200);
      await eventually(
        () => {
          const now = fleet.stats();
          expect(now).toMatchObject({ loggedIn: 16, logins: 17 + now.loginFailures });
        },
        15_000,
        100,
      );
    } finally {
      await fleet.stop();
    }
    expect(fleet.stats()).toMatchObject({ loggedIn: 0, inflight: 0 });
    const after = fleet.stats().requests;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fleet.stats().requests).toBe(after);
  });

  it('create members through the operators API, keeping ones that exist', async () => {
    const accounts = simulatedAccounts(3, 'sim-member-password', '1982000');
    await registerMembers({ url: platform.stack.gatewayUrl, admin: platform.admin, accounts });
    await registerMembers({ url: platform.stack.gatewayUrl, admin: platform.admin, accounts });
    for (const { account, password } of accounts) await expect(login(platform.stack.gatewayUrl, account, password)).resolves.toEqual(expect.any(String));
  });

  it('run from the command line with --provision and a status port, ending with a summary on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        path.join(REPO, 'sims/member/dist/main.js'),
        '--url',
        platform.stack.gatewayUrl,
        '--provision',
        '4',
        '--prefix',
        '1983000',
        '--interval',
        '100',
        '--ramp',
        '0',
        '--status-port',
        String(port),
      ],
      { env: { PATH: process.env.PATH ?? '', DATABASE_URL: platform.env.DATABASE_URL! }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) readline.createInterface({ input: stream }).on('line', (line) => output.push(line));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(
        async () => {
          const status = (await request(`http://127.0.0.1:${port}/status`)).json<MemberFleetStats>();
          expect(status).toMatchObject({ members: 4, loggedIn: 4, loginFailures: 0 });
          expect(status.notModified).toBeGreaterThan(4);
        },
        20_000,
        200,
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output.join('\n')).toMatch(/provisioned 4 member\(s\)[\s\S]*summary after \d+ s: \{"members":4/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

/** An ingress in cookie-affinity mode, faked as a real HTTP server: it matches a host and pins clients by a cookie. */
describe('simulated member apps behind a cookie-affinity ingress', () => {
  let server: http.Server;
  let url: string;
  const seen: Array<{ path: string; host?: string; cookie?: string }> = [];

  beforeAll(async () => {
    let next = 0;
    server = http.createServer((req, res) => {
      seen.push({ path: req.url!, host: req.headers.host, cookie: req.headers.cookie });
      if (req.headers.host !== 'evshare.example') return void res.writeHead(404).end();
      const pinned = /(?:^|; )route=(r\d+)/.exec(req.headers.cookie ?? '')?.[1];
      if (!pinned) res.setHeader('set-cookie', `route=r${++next}; Path=/; HttpOnly`);
      if (req.url === '/api/v1/auth/login') {
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', [...[res.getHeader('set-cookie') ?? []].flat().map(String), 'evs_session=k; Path=/; HttpOnly']);
        return void res.end(JSON.stringify({ sessionKey: 'k' }));
      }
      res.setHeader('x-app-instance', pinned ?? 'none');
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { etag: '"v1"', 'content-type': 'application/json' }).end(JSON.stringify({ pollAfterMs: 5000 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('send the Host the rule matches and keep the affinity cookie, not the session cookie', async () => {
    const fleet = startMemberFleet({
      url,
      accounts: simulatedAccounts(2, 'pw', '1984000'),
      hostHeader: 'evshare.example',
      pollIntervalMs: 20,
      concurrencyRampMs: 0,
      addressBlock: 0,
    });
    try {
      await eventually(() => expect(fleet.stats().notModified).toBeGreaterThanOrEqual(6), 5_000, 20);
    } finally {
      await fleet.stop();
    }
    const stats = fleet.stats();
    expect(stats).toMatchObject({ ok: 2, errors: 0, logins: 2 });
    // Each member stays on the instance its first cookie named.
    expect(Object.keys(stats.instances).sort()).toEqual(['r1', 'r2']);
    expect(seen.every((r) => r.host === 'evshare.example')).toBe(true);
    expect(seen.filter((r) => r.path === '/api/v1/sync').every((r) => /^route=r\d$/.test(r.cookie ?? ''))).toBe(true);
  });
});
