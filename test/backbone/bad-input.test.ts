import { hashSessionKey, newSessionKey } from '@evshare/kit';
import { bearer, login, request, type Reply } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

function expectProblem(reply: Reply, status: number, field?: string) {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = reply.json<{ type: string; title: string; status: number; 'invalid-params'?: Array<{ name: string }> }>();
  expect(problem.status).toBe(status);
  expect(problem.type).toMatch(/^urn:evshare:problem:/);
  if (field) expect(problem['invalid-params']?.map((p) => p.name)).toContain(field);
}

describe('bad input gets a precise 4xx problem, never a 500', () => {
  let platform: TestPlatform;
  let gateway: string;
  let admin: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 2 });
    gateway = platform.stack.gatewayUrl;
    admin = await login(gateway, platform.admin.account, platform.admin.password);
  });
  afterAll(() => platform?.stop());

  const login$ = (rawBody: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    request(`${gateway}/api/v1/auth/login`, { method: 'POST', rawBody, headers });

  it.each([
    ['malformed JSON', '{"account": "x", ', 400, undefined],
    ['wrong types', '{"account": 13800000000, "password": true}', 400, 'body.account'],
    ['missing field', '{"account": "13800000000"}', 400, 'body.password'],
    ['unknown field', '{"account": "a", "password": "b", "admin": true}', 400, 'body'],
    ['an array', '[]', 400, 'body'],
  ])('login with %s', async (_name, rawBody, status, field) => {
    expectProblem(await login$(rawBody), status, field);
  });

  it('a body over the limit', async () => {
    expectProblem(await login$(JSON.stringify({ account: 'a', password: 'x'.repeat(200_000) })), 413);
  });

  it('a body that is not JSON', async () => {
    expectProblem(await login$('account=a&password=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
  });

  it.each([
    ['no session', undefined],
    ['a forged key', newSessionKey()],
    ['a key of the wrong shape', 'not-a-key'],
    ['a session hash used as a key', hashSessionKey(newSessionKey())],
  ])('the APP and auth services refuse %s with 401', async (_name, key) => {
    const headers = key ? bearer(key) : undefined;
    expectProblem(await request(`${gateway}/api/v1/me`, { headers }), 401);
    expectProblem(await request(`${gateway}/api/v1/sync`, { headers }), 401);
    expectProblem(await request(`${gateway}/api/v1/auth/session`, { headers }), 401);
    expectProblem(await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers }), 401);
  });

  it('an expired session is refused', async () => {
    const key = await login(gateway, platform.member.account, platform.member.password);
    await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers: bearer(key) });
    expectProblem(await request(`${gateway}/api/v1/me`, { headers: bearer(key) }), 401);
  });

  it.each([
    ['/api/v1/unknown', 'GET'],
    ['/api/v1/auth/unknown', 'GET'],
    ['/api/v1/me', 'DELETE'],
  ])('an unknown route %s %s is a JSON 404', async (path, method) => {
    expectProblem(await request(`${gateway}${path}`, { method, headers: bearer(admin) }), 404);
  });

  it.each([
    [{ displayName: '' }, 'body.displayName'],
    [{ displayName: 42 }, 'body.displayName'],
    [{ displayName: 'x'.repeat(65) }, 'body.displayName'],
  ])('profile update %j names the field', async (body, field) => {
    expectProblem(await request(`${gateway}/api/v1/me`, { method: 'PATCH', headers: bearer(admin), body }), 400, field);
  });

  it.each([
    [{ displayName: 'A', password: 'long-enough-1' }, 'body.phone'],
    [{ phone: '12ab', displayName: 'A', password: 'long-enough-1' }, 'body.phone'],
    [{ phone: '13700000000', displayName: 'A', password: 'short' }, 'body.password'],
    [{ phone: '13700000000', displayName: 'A', password: 'long-enough-1', role: 'root' }, 'body.role'],
  ])('admin member creation %j names the field', async (body, field) => {
    expectProblem(await request(`${gateway}/api/v1/admin/members`, { method: 'POST', headers: bearer(admin), body }), 400, field);
  });

  it('a duplicate phone is a 409, an id that is not a UUID a 400, a member a 403 on admin routes', async () => {
    const body = { phone: '13700000009', displayName: 'Twin', password: 'long-enough-1' };
    expect((await request(`${gateway}/api/v1/admin/members`, { method: 'POST', headers: bearer(admin), body })).status).toBe(201);
    expectProblem(await request(`${gateway}/api/v1/admin/members`, { method: 'POST', headers: bearer(admin), body }), 409);
    expectProblem(await request(`${gateway}/api/v1/admin/members/42`, { headers: bearer(admin) }), 400, 'path.id');
    const member = await login(gateway, platform.member.account, platform.member.password);
    expectProblem(await request(`${gateway}/api/v1/admin/members`, { method: 'POST', headers: bearer(member), body: { ...body, phone: '13700000010' } }), 403);
  });

  it('a member cannot mark another member’s notification read', async () => {
    const member = await login(gateway, platform.member.account, platform.member.password);
    const adminId = (await request(`${gateway}/api/v1/me`, { headers: bearer(admin) })).json<{ id: string }>().id;
    const sent = await request(`${gateway}/api/v1/admin/members/${adminId}/notifications`, {
      method: 'POST',
      headers: bearer(admin),
      body: { kind: 'notice', title: 'for admin' },
    });
    expectProblem(await request(`${gateway}/api/v1/notifications/${sent.json<{ id: string }>().id}/read`, { method: 'POST', headers: bearer(member) }), 404);
  });

  // Found by test/adversarial/http-api.test.ts: PostgreSQL text cannot hold U+0000, so a NUL
  // that reached a query was a 500.
  it('a NUL character in a body field or a query value names the field (attack: NUL byte into a text column)', async () => {
    expectProblem(
      await request(`${gateway}/api/v1/me`, { method: 'PATCH', headers: bearer(admin), body: { displayName: 'A\u0000' } }),
      400,
      'body.displayName',
    );
    expectProblem(await request(`${gateway}/api/v1/admin/members?q=a%00b`, { headers: bearer(admin) }), 400, 'query.q');
    expectProblem(
      await request(`${gateway}/api/v1/admin/members`, {
        method: 'POST',
        headers: bearer(admin),
        body: { displayName: 'Nul', password: 'long-enough-1', username: 'nul.user', extra: { ['k\u0000']: 1 } },
      }),
      400,
      'body.extra.k\u0000',
    );
    expect((await request(`${gateway}/api/v1/me`, { headers: bearer(admin) })).json()).toMatchObject({ displayName: 'Administrator' });
  });

  // Found by test/adversarial/http-api.test.ts: 2.2e-16 kWh passed `positive()` and rounded to
  // 0.00 in numeric(6, 2), which the CHECK refused: a 500.
  it('a battery size that rounds to 0 kWh names the field (attack: a value below the stored precision)', async () => {
    const station = await request(`${gateway}/api/v1/admin/stations`, {
      method: 'POST',
      headers: bearer(admin),
      body: { name: 'Precision', lat: 31, lng: 121, geofenceRadiusM: 100, capacity: 2, returnPolicy: 'open' },
    });
    const car = {
      vin: 'LPRECXSXXN0000001',
      plate: '沪A·PREC1',
      model: 'Tiny',
      batteryKwh: 2.220446049250313e-16,
      ratedRangeKm: 10,
      homeStationId: station.json<{ id: string }>().id,
    };
    expectProblem(await request(`${gateway}/api/v1/admin/vehicles`, { method: 'POST', headers: bearer(admin), body: car }), 400, 'body.batteryKwh');
    const added = await request(`${gateway}/api/v1/admin/vehicles`, { method: 'POST', headers: bearer(admin), body: { ...car, batteryKwh: 0.01 } });
    expect(added.status).toBe(201);
    expectProblem(
      await request(`${gateway}/api/v1/admin/vehicles/${added.json<{ id: string }>().id}`, {
        method: 'PATCH',
        headers: bearer(admin),
        body: { batteryKwh: 0.004 },
      }),
      400,
      'body.batteryKwh',
    );
  });

  it('keeps serving after all of it', async () => {
    expect((await request(`${gateway}/api/v1/me`, { headers: bearer(admin) })).status).toBe(200);
    for (const url of Object.values(platform.stack.urls())) expect((await request(`${url}/healthz`)).status).toBe(200);
  });
});
