import http from 'node:http';
import { announce, call, startTestGateway, startUpstream, waitFor, type Reply, type TestGateway, type TestUpstream } from './testing.fixture';

describe('admission when every instance is at its concurrency limit', () => {
  let gw: TestGateway;
  let ups: TestUpstream[];

  async function setup(env: Record<string, string>): Promise<void> {
    ups = await Promise.all(['a', 'b'].map(startUpstream));
    gw = await startTestGateway({ TRUST_PROXY: 'loopback', ...env });
    for (const up of ups) {
      announce(gw.bus, up, 2);
      up.hold = true;
    }
    await waitFor(() => gw.gateway.status().totals.available === 2);
  }

  afterEach(async () => {
    for (const up of ups) {
      up.hold = false;
      up.release();
    }
    await gw.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  const get = (client: string, path = '/api/v1/sync') => call(gw.url, path, { headers: { 'X-Forwarded-For': client } });
  const held = () => ups.reduce((sum, up) => sum + up.inflight, 0);

  /** Four requests fill both instances (maxConcurrency 2 each). */
  async function saturate(): Promise<Promise<Reply>[]> {
    const first = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((client) => get(client, '/api/v1/first'));
    await waitFor(() => held() === 4, 3000, 'four held requests');
    return first;
  }

  it('queues fairly across addresses, caps each address and the whole queue, and answers 503 with Retry-After', async () => {
    await setup({ QUEUE_MAX: '3', QUEUE_PER_CLIENT: '2', QUEUE_TIMEOUT_MS: '10000', RETRY_AFTER_S: '2' });
    const first = await saturate();
    const a1 = get('10.1.0.1', '/api/v1/a1');
    const a2 = get('10.1.0.1', '/api/v1/a2');
    await waitFor(() => gw.gateway.status().queue.length === 2, 2000, 'two queued');
    const a3 = await get('10.1.0.1', '/api/v1/a3');
    expect(a3.status).toBe(503);
    expect(a3.headers['retry-after']).toBe('2');
    expect(a3.json()).toMatchObject({ type: 'urn:evshare:problem:unavailable', retryAfter: 2, detail: 'Too many of your requests are already waiting' });
    const b1 = get('10.2.0.1', '/api/v1/b1');
    await waitFor(() => gw.gateway.status().queue.length === 3, 2000, 'three queued');
    const c1 = await get('10.3.0.1', '/api/v1/c1');
    expect(c1.status).toBe(503);
    expect(c1.json().detail).toBe('Every APP instance is at its limit and the wait queue is full');
    expect(gw.gateway.status().queue).toMatchObject({ length: 3, clients: 2 });

    // Free all four slots: all three queued requests go (their order is checked in the next test).
    for (const up of ups) up.seen.length = 0;
    for (const up of ups) up.release();
    await waitFor(() => held() === 3, 3000, 'queued requests to reach the instances');
    const order = ups.flatMap((up) => up.seen).map((s) => s.url);
    expect(order.sort()).toEqual(['/api/v1/a1', '/api/v1/a2', '/api/v1/b1']);
    for (const up of ups) {
      up.hold = false;
      up.release();
    }
    const replies = await Promise.all([...first, a1, a2, b1]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(gw.gateway.status().totals.rejected).toBe(2);
    const metrics = (await call(gw.adminUrl, '/metrics')).text;
    expect(metrics).toMatch(/gateway_rejected_total\{reason="client-full"[^}]*\} 1/);
    expect(metrics).toMatch(/gateway_rejected_total\{reason="queue-full"[^}]*\} 1/);
  });

  it('serves addresses in turn when the queue drains one slot at a time', async () => {
    await setup({ QUEUE_MAX: '20', QUEUE_PER_CLIENT: '10', QUEUE_TIMEOUT_MS: '10000' });
    const first = await saturate();
    const flood = Array.from({ length: 6 }, (_, i) => get('10.5.0.1', `/api/v1/flood-${i}`));
    await waitFor(() => gw.gateway.status().queue.length === 6, 2000, 'the flood to queue');
    const late = get('10.6.0.1', '/api/v1/late');
    await waitFor(() => gw.gateway.status().queue.length === 7, 2000, 'the late request to queue');
    for (const up of ups) up.seen.length = 0;
    // Keep the instances saturated and free one slot at a time: the late address is second in line.
    const served: string[] = [];
    for (let i = 0; i < 3; i++) {
      const before = ups.flatMap((up) => up.seen).length;
      const busy = ups.find((up) => up.inflight > 0)!;
      busy.hold = false;
      busy.release();
      busy.hold = true;
      await waitFor(() => ups.flatMap((up) => up.seen).length > before, 2000, 'the next queued request');
      served.push(...ups.flatMap((up) => up.seen.map((s) => s.url)).filter((url) => !served.includes(url)));
    }
    expect(served.indexOf('/api/v1/late')).toBeLessThanOrEqual(1);
    for (const up of ups) {
      up.hold = false;
      up.release();
    }
    await Promise.all([...first, ...flood, late]);
  });

  it('answers 503 when a queued request waits longer than QUEUE_TIMEOUT_MS', async () => {
    await setup({ QUEUE_TIMEOUT_MS: '200' });
    // The four held requests end when afterEach releases them; this test does not wait for them.
    void (await saturate());
    const started = Date.now();
    const reply = await get('10.7.0.1');
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.json().detail).toBe('No APP instance became free within 200 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(gw.gateway.status().queue.length).toBe(0);
  });

  /** Lets the four held requests end, then checks the instances never saw `path`. */
  async function neverSent(first: Promise<Reply>[], path: string): Promise<void> {
    for (const up of ups) {
      up.hold = false;
      up.release();
    }
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // A request still queued would be placed now that the instances are free.
    expect((await get('10.9.9.9', '/api/v1/after')).status).toBe(200);
    expect(ups.flatMap((up) => up.seen).map((s) => s.url)).not.toContain(path);
  }

  it('forgets a queued request whose client went away, without sending it upstream', async () => {
    await setup({ QUEUE_TIMEOUT_MS: '10000' });
    const first = await saturate();
    const request = http.request(`${gw.url}/api/v1/gone`, { headers: { 'X-Forwarded-For': '10.8.0.1' }, agent: false });
    request.on('error', () => {});
    request.end();
    await waitFor(() => gw.gateway.status().queue.length === 1, 2000, 'queued');
    request.destroy();
    await waitFor(() => gw.gateway.status().queue.length === 0, 2000, 'the abandoned request to leave the queue');
    await neverSent(first, '/api/v1/gone');
  });

  it('answers 503 at the deadline of a queued request, without sending it upstream', async () => {
    await setup({ QUEUE_TIMEOUT_MS: '10000' });
    const first = await saturate();
    const started = Date.now();
    const reply = await call(gw.url, '/api/v1/late', { headers: { 'X-Forwarded-For': '10.8.0.2', 'X-Request-Timeout': '300' } });
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(gw.gateway.status().queue.length).toBe(0);
    await neverSent(first, '/api/v1/late');
  });
});
