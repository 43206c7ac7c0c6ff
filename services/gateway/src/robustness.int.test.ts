import http from 'node:http';
import { announce, call, sleep, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';

/** Issue 14: deadlines, load shedding, abandoned requests, and checks that a starved machine fails. */
describe('deadlines', () => {
  let gw: TestGateway;
  let up: TestUpstream;
  beforeAll(async () => {
    up = await startUpstream('app-1');
    gw = await startTestGateway({ TRUST_PROXY: 'false', GATEWAY_REQUEST_BUDGET_MS: '4000' });
    announce(gw.bus, up);
    await waitFor(() => gw.gateway.status().totals.available === 1);
  });
  afterAll(async () => {
    await gw.stop();
    await up.close();
  });

  const lastDeadline = () => Number(up.seen.at(-1)!.headers['x-request-deadline']);

  it('sends X-Request-Deadline (epoch ms) on every request, the budget ahead when the client names no timeout', async () => {
    const before = Date.now();
    expect((await call(gw.url, '/api/v1/sync')).status).toBe(200);
    expect(lastDeadline()).toBeGreaterThanOrEqual(before + 4000);
    expect(lastDeadline()).toBeLessThanOrEqual(Date.now() + 4000);
  });

  it('takes a shorter X-Request-Timeout, clamps a longer one to the budget, and forwards neither header as sent', async () => {
    const before = Date.now();
    await call(gw.url, '/api/v1/sync', { headers: { 'X-Request-Timeout': '300' } });
    expect(lastDeadline()).toBeGreaterThanOrEqual(before + 300);
    expect(lastDeadline()).toBeLessThanOrEqual(Date.now() + 300);
    expect(up.seen.at(-1)!.headers['x-request-timeout']).toBeUndefined();
    await call(gw.url, '/api/v1/sync', { headers: { 'X-Request-Timeout': '600000' } });
    expect(lastDeadline()).toBeLessThanOrEqual(Date.now() + 4000);
  });

  it('ignores an X-Request-Deadline from a client that is not a trusted proxy', async () => {
    const far = Date.now() + 3_600_000;
    await call(gw.url, '/api/v1/sync', { headers: { 'X-Request-Deadline': String(far) } });
    expect(up.seen.at(-1)!.headers['x-request-deadline']).not.toBe(String(far));
    expect(lastDeadline()).toBeLessThanOrEqual(Date.now() + 4000);
  });

  it.each(['0', '-1', 'soon', '1.5', '2e3', '100, 200'])(
    'answers a malformed X-Request-Timeout %p with a 400 problem naming it, forwarding nothing',
    async (value) => {
      const seen = up.seen.length;
      const reply = await call(gw.url, '/api/v1/sync', { headers: { 'X-Request-Timeout': value } });
      expect(reply.status).toBe(400);
      expect(reply.headers['content-type']).toBe('application/problem+json');
      expect(reply.json()['invalid-params']).toEqual([expect.objectContaining({ name: 'X-Request-Timeout' })]);
      expect(up.seen.length).toBe(seen);
    },
  );
});

describe('load shedding and abandoned requests', () => {
  let gw: TestGateway;
  let ups: TestUpstream[];
  beforeEach(async () => {
    ups = await Promise.all(['a', 'b'].map(startUpstream));
    // Members stay known without load reports (this test sends none).
    gw = await startTestGateway({ TRUST_PROXY: 'loopback', EJECT_CONSECUTIVE_5XX: '3', MEMBER_TIMEOUT_MS: '60000' });
  });
  afterEach(async () => {
    await gw.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it("passes an upstream's 503 + Retry-After on and does not eject the instance for it", async () => {
    announce(gw.bus, ups[0]!);
    await waitFor(() => gw.gateway.status().totals.available === 1);
    ups[0]!.handler = (_req, res) => res.writeHead(503, { 'retry-after': '7', 'content-type': 'application/problem+json' }).end('{"status":503}');
    for (let i = 0; i < 6; i++) {
      const reply = await call(gw.url, '/api/v1/sync');
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('7');
    }
    expect(gw.gateway.status().instances[0]).toMatchObject({ health: 'up' });
    expect(gw.gateway.status().totals.ejections).toBe(0);
    // A 503 without Retry-After is a server error like any other.
    ups[0]!.handler = (_req, res) => res.writeHead(503).end();
    for (let i = 0; i < 3; i++) await call(gw.url, '/api/v1/sync');
    expect(gw.gateway.status().instances[0]).toMatchObject({ health: 'down' });
  });

  it('closes the upstream request when the client goes away before the answer', async () => {
    announce(gw.bus, ups[0]!);
    await waitFor(() => gw.gateway.status().totals.available === 1);
    ups[0]!.hold = true;
    const request = http.get(`${gw.url}/api/v1/sync`);
    request.on('error', () => {});
    await waitFor(() => ups[0]!.inflight === 1, 2000, 'the request to arrive');
    request.destroy();
    await waitFor(() => ups[0]!.abandoned === 1, 2000, 'the upstream to see the close');
    expect(ups[0]!.inflight).toBe(0);
    await waitFor(() => gw.gateway.status().totals.inflight === 0, 2000, 'the gateway to end the attempt');
  });

  it('answers 503 + Retry-After at once when no instance can take the request', async () => {
    announce(gw.bus, ups[0]!);
    await waitFor(() => gw.gateway.status().totals.available === 1);
    await ups[0]!.kill();
    await waitFor(() => gw.gateway.status().totals.available === 0, 3000, 'the probes to see it gone');
    const started = Date.now();
    const reply = await call(gw.url, '/api/v1/sync');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.json()).toMatchObject({ status: 503 });
  });

  it('keeps an instance whose probes time out while it answers real requests (busy, not dead)', async () => {
    announce(gw.bus, ups[0]!);
    await waitFor(() => gw.gateway.status().totals.available === 1);
    ups[0]!.probeDelayMs = 1000;
    let running = true;
    const statuses: number[] = [];
    const client = (async () => {
      while (running) {
        statuses.push((await call(gw.url, '/api/v1/sync')).status);
        await sleep(20);
      }
    })();
    // HEALTH_FALL (3) probes every 100 ms, each timing out after 200 ms: long enough to be ejected.
    await sleep(1500);
    running = false;
    await client;
    expect(gw.gateway.status().instances[0]).toMatchObject({ id: 'a', health: 'up' });
    expect(gw.gateway.status().totals.ejections).toBe(0);
    expect(statuses.length).toBeGreaterThan(10);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('takes every live instance when fewer than half pass their checks (panic mode), but not one proven gone', async () => {
    for (const up of ups) announce(gw.bus, up);
    await waitFor(() => gw.gateway.status().totals.available === 2);
    // Both starve: probes time out, no real traffic to show they are alive.
    for (const up of ups) up.probeDelayMs = 1000;
    await waitFor(() => gw.gateway.status().instances.every((i) => i.health === 'down'), 3000, 'both to fail their probes');
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const reply = await call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': `10.1.0.${i}` } });
      expect(reply.status).toBe(200);
      ids.add(reply.json().id as string);
    }
    expect([...ids].sort()).toEqual(['a', 'b']);
    expect(gw.gateway.status().balancer.panic).toBe(true);
    // One of them really goes: a refused connection is proof, so panic mode no longer takes it.
    await ups[1]!.kill();
    for (let i = 0; i < 20; i++) {
      const reply = await call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': `10.1.0.${i}` } });
      expect(reply.status).toBe(200);
      expect(reply.json().id).toBe('a');
    }
    // Checks pass again: panic mode ends.
    ups[0]!.probeDelayMs = 0;
    await waitFor(() => gw.gateway.status().balancer.panic === false, 3000, 'panic mode to end');
  });
});
