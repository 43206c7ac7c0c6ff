import { SUBJECTS } from '@evshare/kit';
import { announce, call, reportLoad, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';

const addresses = (n: number, base = 20) => Array.from({ length: n }, (_, i) => `198.${base}.${i >> 8}.${i & 255}`);

/** Runs `work` over `items` with at most `limit` at once. */
async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

async function startCluster(n: number, env: Record<string, string> = {}): Promise<{ gw: TestGateway; ups: TestUpstream[] }> {
  const ups = await Promise.all(Array.from({ length: n }, (_, i) => startUpstream(`app-${i + 1}`)));
  const gw = await startTestGateway({ TRUST_PROXY: 'loopback', ...env });
  for (const up of ups) announce(gw.bus, up);
  await waitFor(() => gw.gateway.status().totals.available === n, 2000, `${n} instances`);
  return { gw, ups };
}

describe('bounded-load consistent hashing through the gateway', () => {
  let gw: TestGateway;
  let ups: TestUpstream[];

  beforeAll(async () => ({ gw, ups } = await startCluster(3)));
  afterAll(async () => {
    await gw.stop();
    await Promise.all(ups.map((u) => u.close()));
  });
  afterEach(() => {
    for (const up of ups) {
      up.hold = false;
      up.release();
      up.maxInflight = 0;
    }
  });

  it('serves every request from one address by one instance, and spreads addresses like the ring shares', async () => {
    const list = addresses(300);
    const served = await inParallel(list, 8, async (address) => {
      const ids = new Set<string>();
      for (let i = 0; i < 3; i++) ids.add((await call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': address } })).json().id);
      return [...ids];
    });
    expect(served.filter((ids) => ids.length !== 1)).toEqual([]);
    const status = gw.gateway.status();
    for (const instance of status.instances) {
      const count = served.filter((ids) => ids[0] === instance.id).length;
      // Binomial spread around the share: 300 addresses, a loose 4-sigma band.
      const expected = instance.ringShare * list.length;
      expect(Math.abs(count - expected)).toBeLessThan(4 * Math.sqrt(expected) + 1);
    }
    expect(status.instances.map((i) => i.ringShare).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
  });

  it('keeps 60 concurrent requests from 60 addresses within ceil(1.25 x average) per instance', async () => {
    for (const up of ups) up.hold = true;
    const replies = Promise.all(addresses(60, 30).map((address) => call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': address } })));
    await waitFor(() => ups.reduce((sum, up) => sum + up.inflight, 0) === 60, 3000, '60 held requests');
    const loads = ups.map((up) => up.inflight);
    expect(gw.gateway.status().totals.inflight).toBe(60);
    for (const up of ups) up.release();
    expect((await replies).every((r) => r.status === 200)).toBe(true);
    expect(Math.max(...loads)).toBeLessThanOrEqual(Math.ceil((1.25 * 60) / 3));
  });

  it('spreads 30 concurrent requests from one address (a NAT) only as far as the bound requires', async () => {
    const home = (await call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': '203.0.113.9' } })).json().id as string;
    for (const up of ups) up.hold = true;
    const replies = Promise.all(Array.from({ length: 30 }, () => call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': '203.0.113.9' } })));
    await waitFor(() => ups.reduce((sum, up) => sum + up.inflight, 0) === 30, 3000, '30 held requests');
    const loads = Object.fromEntries(ups.map((up) => [up.id, up.inflight]));
    for (const up of ups) up.release();
    await replies;
    // Plain `balance source` would put all 30 on one instance.
    expect(Math.max(...Object.values(loads))).toBeLessThanOrEqual(Math.ceil((1.25 * 30) / 3));
    expect(loads[home]).toBe(Math.max(...Object.values(loads)));
  });

  it('shows every instance in /lb/status', async () => {
    const reply = await call(gw.adminUrl, '/lb/status');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    const status = reply.json();
    expect(status.balancer).toEqual({
      algorithm: 'consistent-hash-bounded-load',
      balanceFactor: 1.25,
      minLoad: 8,
      vnodes: 160,
      trustProxy: 'loopback',
      panic: false,
    });
    expect(status.instances).toHaveLength(3);
    for (const instance of status.instances) {
      expect(instance).toEqual({
        id: expect.stringMatching(/^app-\d$/),
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        source: 'announce',
        health: 'up',
        available: true,
        reason: expect.any(String),
        since: expect.any(String),
        inflight: 0,
        foreignLoad: 0,
        maxConcurrency: 100,
        reported: null,
        lastReportAgeMs: null,
        ringShare: expect.any(Number),
        served: expect.any(Number),
        errors: 0,
      });
    }
    expect(status.totals).toMatchObject({ instances: 3, available: 3, inflight: 0, retries: 0, ejections: 0, rejected: 0 });
    expect(status.totals.served).toBeGreaterThan(0);
    expect(status.queue).toEqual({ length: 0, clients: 0, max: 1024, perClient: 16, timeoutMs: 5000, drainPerSecond: expect.any(Number), expectedWaitMs: 0 });
    // The requests above ended on the APP pool: the queue's drain rate is known.
    expect(status.queue.drainPerSecond).toBeGreaterThan(0);
    expect(status.upstreams).toEqual({ auth: [], push: [], charging: [], web: [] });
  });
});

describe('client addresses as the gateway sees them (no X-Forwarded-For trusted)', () => {
  it('is sticky per real client address, bound to 127.0.0.x loopback addresses', async () => {
    const { gw, ups } = await startCluster(2, { TRUST_PROXY: 'false' });
    try {
      const list = Array.from({ length: 30 }, (_, i) => `127.0.0.${i + 2}`);
      const served = await inParallel(list, 6, async (localAddress) => {
        const ids = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const reply = await call(gw.url, '/api/v1/sync', { localAddress, headers: { 'X-Forwarded-For': '1.2.3.4' } });
          ids.add(reply.json().id);
        }
        return ids.size;
      });
      expect(served.every((size) => size === 1)).toBe(true);
      const seenFor = new Set(ups.flatMap((up) => up.seen.map((s) => s.headers['x-forwarded-for'])));
      expect([...seenFor].sort()).toEqual([...list].sort());
      // Both instances serve some of 30 addresses (each owns about half the ring).
      expect(ups.every((up) => up.seen.length > 0)).toBe(true);
    } finally {
      await gw.stop();
      await Promise.all(ups.map((u) => u.close()));
    }
  });
});

describe('membership from the bus', () => {
  let gw: TestGateway;
  let ups: TestUpstream[];
  beforeEach(async () => {
    ups = await Promise.all(['a', 'b'].map(startUpstream));
    gw = await startTestGateway({ TRUST_PROXY: 'loopback' });
  });
  afterEach(async () => {
    await gw.stop();
    await Promise.all(ups.map((u) => u.close()));
  });
  const instances = () => gw.gateway.status().instances;

  it('adds an unknown instance from its load report and shows what it reported', async () => {
    reportLoad(gw.bus, ups[0]!, { inflight: 3, rps: 120, eventLoopDelayMs: 4, activeMembers: 7, maxConcurrency: 64 });
    await waitFor(() => instances().length === 1, 2000, 'the reported instance');
    expect(instances()[0]).toMatchObject({
      id: 'a',
      source: 'report',
      maxConcurrency: 64,
      reported: { inflight: 3, rps: 120, eventLoopDelayMs: 4, eventLoopUtilization: 0.1, p95LatencyMs: 2, activeMembers: 7 },
    });
    expect(instances()[0]!.lastReportAgeMs).toBeGreaterThanOrEqual(0);
    expect((await call(gw.url, '/api/v1/me')).json().id).toBe('a');
  });

  it('takes a draining instance out of the choice at once, and removes a withdrawn one', async () => {
    for (const up of ups) announce(gw.bus, up);
    await waitFor(() => instances().length === 2);
    reportLoad(gw.bus, ups[0]!, { draining: true });
    await waitFor(() => instances().find((i) => i.id === 'a')?.health === 'draining', 2000, 'draining');
    const ids = new Set<string>();
    for (const address of addresses(40, 40)) ids.add((await call(gw.url, '/api/v1/me', { headers: { 'X-Forwarded-For': address } })).json().id);
    expect([...ids]).toEqual(['b']);
    gw.bus.publish(SUBJECTS.appWithdraw, { id: 'a', reason: 'SIGTERM' });
    await waitFor(() => instances().length === 1, 2000, 'withdrawal');
    // A straggling report after the withdrawal does not bring it back.
    reportLoad(gw.bus, ups[0]!);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(instances().map((i) => i.id)).toEqual(['b']);
    // A new announcement (the instance restarted) does.
    announce(gw.bus, ups[0]!);
    await waitFor(() => instances().length === 2, 2000, 're-announcement');
  });

  it('lets an announced instance take over the static entry with its URL', async () => {
    await gw.stop();
    gw = await startTestGateway({ APP_UPSTREAMS: `${ups[0]!.url}/` });
    expect(instances()).toMatchObject([{ id: ups[0]!.url, source: 'static' }]);
    announce(gw.bus, ups[0]!, 12);
    await waitFor(() => instances()[0]?.id === 'a', 2000, 'take-over');
    expect(instances()).toMatchObject([{ id: 'a', source: 'announce', maxConcurrency: 12 }]);
  });

  it('forgets a dynamic instance that went silent and fails its probes', async () => {
    for (const up of ups) announce(gw.bus, up);
    await waitFor(() => instances().length === 2);
    await ups[0]!.kill();
    await waitFor(() => instances().find((i) => i.id === 'a')?.health === 'down', 2000, 'probes to fail');
    // MEMBER_TIMEOUT_MS is 1 s in tests.
    await waitFor(() => instances().length === 1, 3000, 'the silent instance to be dropped');
    expect(instances()[0]!.id).toBe('b');
  });

  it('takes an instance out after failed probes and re-admits it after good ones', async () => {
    for (const up of ups) announce(gw.bus, up);
    await waitFor(() => instances().length === 2);
    ups[0]!.ready = false;
    await waitFor(() => instances().find((i) => i.id === 'a')?.health === 'down', 2000, 'down');
    expect(instances().find((i) => i.id === 'a')!.reason).toBe('probe: HTTP 503');
    const ids = new Set<string>();
    for (const address of addresses(30, 50)) ids.add((await call(gw.url, '/api/v1/me', { headers: { 'X-Forwarded-For': address } })).json().id);
    expect([...ids]).toEqual(['b']);
    ups[0]!.ready = true;
    await waitFor(() => instances().find((i) => i.id === 'a')?.health === 'up', 2000, 're-admission');
    expect(instances().find((i) => i.id === 'a')!.reason).toBe('2 good probes');
  });

  it('ejects an instance after a burst of 5xx', async () => {
    announce(gw.bus, ups[0]!);
    await waitFor(() => instances().length === 1);
    ups[0]!.handler = (_req, res) => res.writeHead(500).end('boom');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(gw.url, '/api/v1/me')).status);
    expect(statuses).toEqual([500, 500, 500, 500, 500]);
    expect(instances()[0]).toMatchObject({ health: 'down', reason: 'ejected: 5 consecutive 5xx' });
    expect(gw.gateway.status().totals.ejections).toBe(1);
  });
});
