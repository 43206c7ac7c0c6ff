import { createCanary, exitedServices, pushWelcome, type Canary } from '../support/canary';
import { bearer, login, request, type Reply } from '../support/http';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { OPCODE, frame, rawUpgrade, untilClosed, upgradeHead, send } from '../support/raw-ws';

/**
 * The attacks reported on the internet edge, each replayed through the gateway against the real
 * platform, in one process (make run) and as separate processes (production's shape).
 */
const MALFORMED = '%E0%A4%A';

function expectProblem(reply: Reply, status: number, type: string) {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(reply.json<{ type: string }>().type).toBe(`urn:evshare:problem:${type}`);
}

describe.each(['in-process', 'processes'] as const)('internet edge attacks (%s)', (mode) => {
  let platform: TestPlatform;
  let gateway: string;
  let host: string;
  let canary: Canary;

  beforeAll(async () => {
    platform = await startTestPlatform({ mode, appInstances: 1, vehicleLink: false, env: { AUTH_TIMEOUT_MS: '1500' } });
    gateway = platform.stack.gatewayUrl;
    host = new URL(gateway).host;
    canary = await createCanary(platform);
  });
  afterAll(() => platform?.stop());
  afterEach(() => {
    expect(exitedServices(platform)).toEqual([]);
  });

  it('a malformed session cookie on /push upgrade does not kill the push service', async () => {
    for (const cookie of [`evs_session=${MALFORMED}`, `a=1; evs_session=%; evs_session=${MALFORMED}`]) {
      const reply = await rawUpgrade(gateway, upgradeHead('/push', host, [['Cookie', cookie]]));
      // No session: the connection opens and must authenticate with a frame, or is closed.
      expect(reply.status).toBe(101);
      await send(reply.socket, frame(OPCODE.text, Buffer.from('{"type":"ping"}')));
      const { closeCode } = await untilClosed(reply.socket, reply.rest, 5_000);
      expect(closeCode).toBe(4401);
    }
    const key = await login(gateway, platform.member.account, platform.member.password);
    await pushWelcome(gateway, key);
  });

  it('a malformed pile identity on /ocpp upgrade does not kill the charging service', async () => {
    for (const target of [`/ocpp/${MALFORMED}`, '/ocpp/%', `/ocpp/${'x'.repeat(49)}`, '/ocpp/a%2Fb']) {
      const reply = await rawUpgrade(gateway, upgradeHead(target, host, [['Sec-WebSocket-Protocol', 'ocpp1.6']]));
      expect(reply.status).toBe(400);
      await untilClosed(reply.socket, reply.rest, 5_000);
    }
    await canary.check();
  });

  it('a malformed session cookie on HTTP routes is no session (401), never a 500', async () => {
    const headers = { cookie: `evs_session=${MALFORMED}` };
    expectProblem(await request(`${gateway}/api/v1/auth/session`, { headers }), 401, 'unauthenticated');
    expectProblem(await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers }), 401, 'unauthenticated');
    expectProblem(await request(`${gateway}/api/v1/sync`, { headers }), 401, 'unauthenticated');
    expectProblem(await request(`${gateway}/api/v1/me`, { headers }), 401, 'unauthenticated');
    expectProblem(await request(`${gateway}/api/v1/charging/piles/${canary.pile.id}`, { headers }), 401, 'unauthenticated');
    // A well-formed session key beside it does not rescue a malformed first cookie.
    const key = await login(gateway, platform.member.account, platform.member.password);
    expectProblem(await request(`${gateway}/api/v1/sync`, { headers: { cookie: `evs_session=${MALFORMED}; evs_session=${key}` } }), 401, 'unauthenticated');
    expect((await request(`${gateway}/api/v1/sync`, { headers: { cookie: `evs_session=${key}` } })).status).toBe(200);
    // The same bytes in a path parameter are a client error too.
    for (const path of [`/api/v1/charging/piles/${MALFORMED}`, `/api/v1/notifications/${MALFORMED}/read`, `/api/v1/auth/${MALFORMED}`]) {
      const reply = await request(`${gateway}${path}`, { method: path.endsWith('/read') ? 'POST' : 'GET', headers: bearer(key) });
      expect({ path, status: reply.status, type: reply.headers['content-type'] }).toEqual({
        path,
        status: expect.any(Number),
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
    }
  });

  it('a cross-site request with the session cookie is refused (403 cross-site-request) and changes nothing', async () => {
    const key = await login(gateway, platform.member.account, platform.member.password);
    const cookie = `evs_session=${key}`;
    const attempts: Array<Record<string, string>> = [
      { cookie, origin: 'https://evil.example' },
      { cookie, origin: 'null' },
      { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { cookie, origin: `http://${host}`, 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of attempts) {
      expectProblem(await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers }), 403, 'cross-site-request');
      expectProblem(
        await request(`${gateway}/api/v1/notifications/00000000-0000-4000-8000-000000000000/read`, { method: 'POST', headers }),
        403,
        'cross-site-request',
      );
      expectProblem(
        await request(`${gateway}/api/v1/charging/piles/${canary.pile.id}/remote-start`, { method: 'POST', headers, body: {} }),
        403,
        'cross-site-request',
      );
    }
    // The session survived every attempt.
    expect((await request(`${gateway}/api/v1/auth/session`, { headers: { cookie } })).status).toBe(200);
    // The same request from the platform's own pages, or with a bearer key, goes through.
    expect((await request(`${gateway}/api/v1/auth/logout`, { method: 'POST', headers: bearer(key), rawBody: '' })).status).toBe(204);
    const second = `evs_session=${await login(gateway, platform.member.account, platform.member.password)}`;
    expect(
      (
        await request(`${gateway}/api/v1/auth/logout`, {
          method: 'POST',
          headers: { cookie: second, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' },
        })
      ).status,
    ).toBe(204);
  });

  it('the session cookie is Secure when the platform is reached over TLS', async () => {
    const auth = platform.stack.urls().auth!;
    const body = { account: platform.member.account, password: platform.member.password };
    const plain = await request(`${gateway}/api/v1/auth/login`, { method: 'POST', body });
    expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/i);
    // The ingress terminating TLS tells the service (a trusted hop: loopback here).
    const tls = await request(`${auth}/api/v1/auth/login`, { method: 'POST', body, headers: { 'x-forwarded-proto': 'https' } });
    expect(String(tls.headers['set-cookie'])).toMatch(/HttpOnly.*Secure|Secure.*HttpOnly/i);
  });
});
