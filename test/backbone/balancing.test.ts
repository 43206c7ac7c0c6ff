import { bearer, clientAddress, login, request } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';

// Claims 4-6: every request from one client address goes to one APP instance, addresses spread
// over the instances within the balance bound, and the session lives in the shared database.
describe('the APP cluster behind the balancer', () => {
  let platform: TestPlatform;
  let key: string;

  beforeAll(async () => {
    platform = await startTestPlatform({ appInstances: 3 });
    key = await login(platform.stack.gatewayUrl, platform.member.account, platform.member.password);
  });
  afterAll(() => platform?.stop());

  const waitForInstances = async (count: number) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const status = (await request(`${platform.stack.gatewayAdminUrl}/lb/status`)).json<{ instances: Array<{ health: string }> }>();
      if (status.instances.filter((i) => i.health === 'up').length >= count) return;
      if (Date.now() > deadline) throw new Error(`only ${JSON.stringify(status.instances)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('serves every poll from one address on the same instance, and records it in the session', async () => {
    await waitForInstances(3);
    const from = clientAddress(1);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const reply = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, { headers: bearer(key), from });
      expect(reply.status).toBe(200);
      seen.add(String(reply.headers['x-app-instance']));
    }
    expect(seen.size).toBe(1);
    const session = (await request(`${platform.stack.gatewayUrl}/api/v1/auth/session`, { headers: bearer(key), from })).json<{
      apps: string[];
      address: string;
    }>();
    expect(session.apps).toContain([...seen][0]);
  });

  it('spreads different addresses over every instance, none above the bound', async () => {
    await waitForInstances(3);
    const counts = new Map<string, number>();
    const addresses = 600;
    for (let batch = 0; batch < addresses; batch += 50) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => request(`${platform.stack.gatewayUrl}/api/v1/me`, { headers: bearer(key), from: clientAddress(100 + batch + i) })),
      );
      for (const reply of replies) {
        expect(reply.status).toBe(200);
        const instance = String(reply.headers['x-app-instance']);
        counts.set(instance, (counts.get(instance) ?? 0) + 1);
      }
    }
    expect(counts.size).toBe(3);
    const average = addresses / 3;
    for (const count of counts.values()) expect(count).toBeLessThanOrEqual(Math.ceil(1.25 * average));
  });

  it('answers an unchanged poll with 304 and no body, on any instance', async () => {
    const first = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, { headers: bearer(key), from: clientAddress(2) });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[0-9a-f-]{36}\.\d+"$/);
    for (const from of [clientAddress(2), clientAddress(3), clientAddress(4), clientAddress(5)]) {
      const again = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, { headers: { ...bearer(key), 'if-none-match': etag }, from });
      expect(again.status).toBe(304);
      expect(again.body).toBe('');
      expect(again.headers['x-app-instance']).toBeDefined();
    }
  });

  it('changes the ETag after the member writes, and never serves the old profile', async () => {
    const from = clientAddress(6);
    const before = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, { headers: bearer(key), from });
    const patched = await request(`${platform.stack.gatewayUrl}/api/v1/me`, {
      method: 'PATCH',
      headers: bearer(key),
      body: { displayName: 'Renamed Member' },
      from,
    });
    expect(patched.status).toBe(200);
    // Read back through other addresses, hence other instances with their own caches.
    for (const other of [clientAddress(7), clientAddress(8), clientAddress(9)]) {
      const me = await request(`${platform.stack.gatewayUrl}/api/v1/me`, { headers: bearer(key), from: other });
      expect(me.json().displayName).toBe('Renamed Member');
    }
    const after = await request(`${platform.stack.gatewayUrl}/api/v1/sync`, {
      headers: { ...bearer(key), 'if-none-match': String(before.headers.etag) },
      from,
    });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });

  it('carries the request id from the client through the balancer to the instance and back', async () => {
    const traced = await request(`${platform.stack.gatewayUrl}/api/v1/me`, { headers: { ...bearer(key), 'x-request-id': 'trace-4711' } });
    expect(traced.headers['x-request-id']).toBe('trace-4711');
    const fresh = await request(`${platform.stack.gatewayUrl}/api/v1/me`, { headers: bearer(key) });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the API documentation through the balancer', async () => {
    const document = await request(`${platform.stack.gatewayUrl}/api/docs/openapi.json`);
    expect(document.status).toBe(200);
    expect(document.json<{ openapi: string }>().openapi).toMatch(/^3\.1\./);
    expect((await request(`${platform.stack.gatewayUrl}/api/docs`)).headers['content-type']).toMatch(/text\/html/);
  });

  it('marks every response, errors included, with the serving instance', async () => {
    const unauthenticated = await request(`${platform.stack.gatewayUrl}/api/v1/me`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers['x-app-instance']).toMatch(/^app-\d+$/);
    const missing = await request(`${platform.stack.gatewayUrl}/api/v1/nothing-here`, { headers: bearer(key) });
    expect(missing.status).toBe(404);
    expect(missing.headers['x-app-instance']).toMatch(/^app-\d+$/);
  });
});
