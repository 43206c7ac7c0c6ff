import { bearer, clientAddress, eventually, login, request, type Reply } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { openPush } from '../support/push';

describe('sessions, logout and the push channel', () => {
  let platform: TestPlatform;
  let gateway: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 3, env: { LOGIN_WINDOW_MS: '3000' } });
    gateway = platform.stack.gatewayUrl;
  });
  afterAll(() => platform?.stop());

  it('logout on one instance is effective on every instance and the push channel within 1 s', async () => {
    const key = await login(gateway, platform.member.account, platform.member.password);
    const push = await openPush(gateway, key);
    const appUrls = platform.stack.appIds().map((id) => platform.stack.urls()[id]!);
    // Every instance has served (and so remembered) the session before it ends.
    for (const url of appUrls) expect((await request(`${url}/api/v1/me`, { headers: bearer(key) })).status).toBe(200);

    const loggedOut = Date.now();
    const logout = await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers: bearer(key) });
    expect(logout.status).toBe(204);
    await eventually(
      async () => {
        for (const url of appUrls) expect((await request(`${url}/api/v1/me`, { headers: bearer(key) })).status).toBe(401);
      },
      1000,
      20,
    );
    expect(Date.now() - loggedOut).toBeLessThan(1000);
    const { code, at } = await push.closed;
    expect(code).toBe(4401);
    expect(at - loggedOut).toBeLessThan(1000);
  });

  it('a password change ends every session of the member and rotates the caller to a new key', async () => {
    const created = await request(`${gateway}/api/v1/admin/members`, {
      method: 'POST',
      headers: bearer(await login(gateway, platform.admin.account, platform.admin.password)),
      body: { phone: '13900000001', displayName: 'Changer', password: 'first-password' },
    });
    expect(created.status).toBe(201);
    const other = await login(gateway, '13900000001', 'first-password');
    const mine = await login(gateway, '13900000001', 'first-password');
    const changed = await request(`${gateway}/api/v1/auth/password`, {
      method: 'POST',
      headers: bearer(mine),
      body: { currentPassword: 'first-password', newPassword: 'second-password' },
    });
    expect(changed.status).toBe(200);
    const fresh = changed.json<{ sessionKey: string }>().sessionKey;
    expect(fresh).not.toBe(mine);
    await eventually(async () => {
      expect((await request(`${gateway}/api/v1/me`, { headers: bearer(mine) })).status).toBe(401);
      expect((await request(`${gateway}/api/v1/me`, { headers: bearer(other) })).status).toBe(401);
    }, 1000);
    expect((await request(`${gateway}/api/v1/me`, { headers: bearer(fresh) })).status).toBe(200);
    expect((await request(`${gateway}/api/v1/auth/login`, { method: 'POST', body: { account: '13900000001', password: 'first-password' } })).status).toBe(401);
    await login(gateway, '13900000001', 'second-password');
  });

  it('never reuses a session key presented at login', async () => {
    const first = await login(gateway, platform.member.account, platform.member.password);
    const second = await request(`${gateway}/api/v1/auth/login`, {
      method: 'POST',
      headers: { cookie: `evs_session=${first}` },
      body: { account: platform.member.account, password: platform.member.password },
    });
    expect(second.status).toBe(200);
    const key = second.json<{ sessionKey: string }>().sessionKey;
    expect(key).not.toBe(first);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(String(second.headers['set-cookie'])).toMatch(/evs_session=.*HttpOnly.*SameSite=Lax/i);
    await eventually(async () => expect((await request(`${gateway}/api/v1/me`, { headers: bearer(first) })).status).toBe(401), 1000);
  });

  it('throttles the eleventh wrong password for an account, and lets the right one in after the window', async () => {
    const account = platform.member.account;
    const replies: Reply[] = [];
    for (let i = 0; i < 11; i++) {
      replies.push(await request(`${gateway}/api/v1/auth/login`, { method: 'POST', body: { account, password: `wrong-${i}` }, from: clientAddress(1500 + i) }));
    }
    expect(replies.slice(0, 10).map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(replies[10]!.status).toBe(429);
    expect(Number(replies[10]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(replies[10]!.headers['content-type']).toMatch(/application\/problem\+json/);
    // Even the right password waits out the window.
    expect((await request(`${gateway}/api/v1/auth/login`, { method: 'POST', body: { account, password: platform.member.password } })).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(replies[10]!.headers['retry-after']) * 1000 + 100));
    await login(gateway, account, platform.member.password);
  });

  it('delivers a notification to that member’s push connections and no one else’s', async () => {
    const admin = await login(gateway, platform.admin.account, platform.admin.password);
    const memberKey = await login(gateway, platform.member.account, platform.member.password);
    const memberId = (await request(`${gateway}/api/v1/me`, { headers: bearer(memberKey) })).json<{ id: string }>().id;
    const mine = await openPush(gateway, memberKey);
    const adminPush = await openPush(gateway, admin);
    const sent = await request(`${gateway}/api/v1/admin/members/${memberId}/notifications`, {
      method: 'POST',
      headers: bearer(admin),
      body: { kind: 'notice', title: 'Welcome aboard', body: { fen: 100 } },
    });
    expect(sent.status).toBe(201);
    await eventually(() => expect(mine.messages.filter((m) => m.type === 'notification')).toHaveLength(1));
    expect(mine.messages.find((m) => m.type === 'notification')).toMatchObject({ notification: { kind: 'notice', title: 'Welcome aboard' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(adminPush.messages.filter((m) => m.type === 'notification')).toEqual([]);
    // The poll carries it too (the fallback when push is unavailable).
    const sync = await request(`${gateway}/api/v1/sync`, { headers: bearer(memberKey) });
    expect(sync.json<{ notifications: Array<{ title: string }> }>().notifications.map((n) => n.title)).toContain('Welcome aboard');
    mine.socket.close();
    adminPush.socket.close();
  });
});
