import http from 'node:http';
import { createPool, hashPassword, withRetry, type Pool } from '@evshare/kit';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/**
 * A login storm against real auth instances (their own processes) through the gateway: far more
 * members log in at once than the argon2 slots can verify before the deadline. Auth sheds the
 * excess promptly (503 + Retry-After) without hashing for it, the members retry by the web UI's
 * rule, and every one gets in: the hashes started equal the successful logins, and nobody sees a
 * 502 or a reset.
 */

const MEMBERS = 200;
const PASSWORD = 'storm-password-1';

describe('a login storm', () => {
  let platform: TestPlatform;
  let db: Pool;

  beforeAll(async () => {
    platform = await startTestPlatform({
      mode: 'processes',
      appInstances: 1,
      authInstances: 2,
      vehicleLink: false,
      env: {
        // One argon2 slot per instance and a 1 s deadline: 200 at once is several times what the
        // two instances can verify in time.
        PASSWORD_HASH_CONCURRENCY: '1',
        REQUEST_DEADLINE_MS: '1000',
      },
    });
    db = createPool(platform.env.DATABASE_URL!);
    // Seeded fast: one precomputed hash shared by every member.
    const hash = await hashPassword(PASSWORD);
    await db.query(
      `INSERT INTO members (phone, display_name, password_hash)
       SELECT '1390000' || lpad(i::text, 4, '0'), 'Storm ' || i, $1 FROM generate_series(1, $2::int) AS i`,
      [hash, MEMBERS],
    );
  }, 120_000);
  afterAll(async () => {
    await db?.end();
    await platform?.stop();
  });

  const hashesStarted = async () => {
    const urls = Object.entries(platform.stack.urls()).filter(([name]) => name === 'auth' || name.startsWith('auth-'));
    expect(urls.length).toBe(2);
    let total = 0;
    for (const [, url] of urls) {
      const text = await (await fetch(`${url}/metrics`)).text();
      total += Number(/^password_hashes_started_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 'NaN');
    }
    return total;
  };

  /** One login from the member's own source address; the answer's status and Retry-After. */
  const send = (index: number) =>
    new Promise<{ status: number; headers: { get(name: string): string | null } }>((resolve, reject) => {
      const body = JSON.stringify({ account: `1390000${String(index + 1).padStart(4, '0')}`, password: PASSWORD });
      const target = new URL('/api/v1/auth/login', platform.stack.gatewayUrl);
      const req = http.request(
        target,
        {
          method: 'POST',
          agent: false,
          localAddress: `127.88.${Math.floor(index / 250)}.${(index % 250) + 1}`,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: { get: (name) => (res.headers[name] as string | undefined) ?? null } }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('lets every member in, hashing only for the logins that succeed, with no 502 or reset', async () => {
    const before = await hashesStarted();
    const statuses = new Map<number | string, number>();
    const count = (key: number | string) => statuses.set(key, (statuses.get(key) ?? 0) + 1);
    const outcomes = await Promise.all(
      Array.from({ length: MEMBERS }, (_, index) =>
        withRetry(
          async () => {
            try {
              const answer = await send(index);
              count(answer.status);
              return answer;
            } catch (error) {
              count((error as NodeJS.ErrnoException).code ?? 'network');
              throw error;
            }
          },
          { method: 'POST' },
          { policy: { attempts: 40, baseDelayMs: 250, maxDelayMs: 30_000 } },
        ).then((answer) => answer.status),
      ),
    );
    expect(outcomes.filter((status) => status !== 200)).toEqual([]);
    // The storm did exceed capacity (some were shed), and nothing but success and shedding was seen.
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].sort()).toEqual([200, 503]);
    const hashes = (await hashesStarted()) - before;
    expect(hashes).toBeGreaterThanOrEqual(MEMBERS);
    expect(hashes).toBeLessThanOrEqual(MEMBERS + 2);
  }, 300_000);
});
