/**
 * Attacks on members' sessions against the real platform (2 APP instances, the gateway, the push
 * channel): a stolen key kept alive by polling must die at the victim's password change and at an
 * operator's suspension, on every instance and on the push channel, within 1 s; parallel password
 * guesses must not outrun the throttle.
 */
import { bearer, clientAddress, eventually, login, request, type Reply } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { openPush } from '../support/push';

// Short enough that "long-lived" (more than twice the time to live) fits in a test.
const SESSION_TTL_MS = 1500;

describe('revocation reaches long-lived sessions', () => {
  let platform: TestPlatform;
  let gateway: string;
  let admin = '';
  let appUrls: string[];

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 2, env: { SESSION_TTL_MS: String(SESSION_TTL_MS), LOGIN_WINDOW_MS: '60000' } });
    gateway = platform.stack.gatewayUrl;
    appUrls = platform.stack.appIds().map((id) => platform.stack.urls()[id]!);
  });
  afterAll(() => platform?.stop());

  let phones = 0;
  const newMember = async (password: string) => {
    // Sessions live 1.5 s unused: the operator logs in again for each step.
    admin = await login(gateway, platform.admin.account, platform.admin.password);
    const phone = `1390001${String(++phones).padStart(4, '0')}`;
    const created = await request(`${gateway}/api/v1/admin/members`, {
      method: 'POST',
      headers: bearer(admin),
      body: { phone, displayName: 'Victim', password },
    });
    expect(created.status).toBe(201);
    return { phone, id: created.json<{ id: string }>().id };
  };

  /** The attacker's stolen key, kept alive by polling every instance for more than twice the TTL. */
  const keepAlive = async (key: string) => {
    const until = Date.now() + SESSION_TTL_MS * 2.5;
    while (Date.now() < until) {
      for (const url of appUrls) expect((await request(`${url}/api/v1/sync`, { headers: bearer(key) })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  };

  const expectDeadEverywhereWithin1s = async (key: string, push: Awaited<ReturnType<typeof openPush>>, since: number) => {
    await eventually(
      async () => {
        for (const url of appUrls) {
          expect((await request(`${url}/api/v1/me`, { headers: bearer(key) })).status).toBe(401);
          expect((await request(`${url}/api/v1/sync`, { headers: bearer(key) })).status).toBe(401);
        }
      },
      1000,
      20,
    );
    expect(Date.now() - since).toBeLessThan(1000);
    const { code, at } = await push.closed;
    expect(code).toBe(4401);
    expect(at - since).toBeLessThan(1000);
  };

  it('long-lived session revoked at password change: a stolen key kept alive by polling dies everywhere within 1 s', async () => {
    const victim = await newMember('first-password');
    const stolen = await login(gateway, victim.phone, 'first-password');
    const push = await openPush(gateway, stolen);
    await keepAlive(stolen);
    const victimKey = await login(gateway, victim.phone, 'first-password');
    const changedAt = Date.now();
    const changed = await request(`${gateway}/api/v1/auth/password`, {
      method: 'POST',
      headers: bearer(victimKey),
      body: { currentPassword: 'first-password', newPassword: 'second-password' },
    });
    expect(changed.status).toBe(200);
    await expectDeadEverywhereWithin1s(stolen, push, changedAt);
    expect((await request(`${gateway}/api/v1/me`, { headers: bearer(changed.json<{ sessionKey: string }>().sessionKey) })).status).toBe(200);
  });

  it("long-lived session revoked at suspension: the operator's suspension kills a polled key everywhere within 1 s", async () => {
    const victim = await newMember('some-password');
    const stolen = await login(gateway, victim.phone, 'some-password');
    const push = await openPush(gateway, stolen);
    await keepAlive(stolen);
    admin = await login(gateway, platform.admin.account, platform.admin.password);
    const suspendedAt = Date.now();
    const suspended = await request(`${gateway}/api/v1/admin/members/${victim.id}/suspend`, {
      method: 'POST',
      headers: bearer(admin),
      body: { reason: 'stolen account' },
    });
    expect(suspended.status).toBe(200);
    await expectDeadEverywhereWithin1s(stolen, push, suspendedAt);
    expect((await request(`${gateway}/api/v1/auth/login`, { method: 'POST', body: { account: victim.phone, password: 'some-password' } })).status).toBe(403);
  });

  it('login racing suspension or a password change leaves no live session', async () => {
    const victim = await newMember('password-0');
    let password = 'password-0';
    const leaked: string[] = [];
    for (let i = 0; i < 8; i++) {
      admin = await login(gateway, platform.admin.account, platform.admin.password);
      const owner = await login(gateway, victim.phone, password);
      const next = `password-${i + 1}`;
      const [attacker, revoking] = await Promise.all([
        request(`${gateway}/api/v1/auth/login`, { method: 'POST', body: { account: victim.phone, password } }),
        i % 2 === 0
          ? request(`${gateway}/api/v1/admin/members/${victim.id}/suspend`, { method: 'POST', headers: bearer(admin), body: { reason: 'race' } })
          : request(`${gateway}/api/v1/auth/password`, { method: 'POST', headers: bearer(owner), body: { currentPassword: password, newPassword: next } }),
      ]);
      expect(revoking.status).toBe(200);
      if (i % 2 === 1) password = next;
      if (attacker.status === 200) leaked.push(attacker.json<{ sessionKey: string }>().sessionKey);
      else expect([401, 403]).toContain(attacker.status);
      if (i % 2 === 0) {
        const reactivated = await request(`${gateway}/api/v1/admin/members/${victim.id}/reactivate`, { method: 'POST', headers: bearer(admin), body: {} });
        expect(reactivated.status).toBe(200);
      }
      // A key the race handed out is dead, on every instance.
      for (const key of leaked) {
        for (const url of appUrls) expect((await request(`${url}/api/v1/me`, { headers: bearer(key) })).status).toBe(401);
      }
    }
  });

  it('parallel wrong passwords: of 50 at once, at most the limit are verified, the rest are 429 with Retry-After', async () => {
    const victim = await newMember('the-right-password');
    const replies: Reply[] = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        request(`${gateway}/api/v1/auth/login`, {
          method: 'POST',
          body: { account: victim.phone, password: `guess-${i}` },
          from: clientAddress(3000 + i),
          timeoutMs: 30_000,
        }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    // Only a verified guess can answer 401; the account limit is 10 per window.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
    for (const reply of replies.filter((r) => r.status === 429)) {
      expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(reply.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(40);
  });
});
