import { SUBJECTS } from '@evshare/kit';
import { hash32 } from './hash';
import { HashRing } from './ring';
import { announce, call, sleep, startTestGateway, startUpstream, waitFor, type TestGateway, type TestUpstream } from './testing.fixture';

/** An address whose home on a ring of these ids (160 vnodes, the default) is `owner`. */
function addressOwnedBy(owner: string, ids: string[]): string {
  const slots = ids.map((id) => ({ id, available: true, load: 0, capacity: 1 }));
  const ring = new HashRing(slots, ids, 160);
  for (let i = 0; ; i++) {
    const address = `192.0.2.${i}`;
    if (ring.owner(hash32(address))!.id === owner) return address;
  }
}

describe('failover while 50 clients poll', () => {
  it('never fails a GET, moves the dead instance clients, and brings them back after its restart', async () => {
    const ups = await Promise.all(['app-1', 'app-2', 'app-3'].map(startUpstream));
    // Members stay known across the outage (no load reports in this test), so probes re-admit.
    const gw = await startTestGateway({ TRUST_PROXY: 'loopback', MEMBER_TIMEOUT_MS: '60000' });
    try {
      for (const up of ups) announce(gw.bus, up);
      await waitFor(() => gw.gateway.status().totals.available === 3);
      const victim = ups[1]!;
      const log: { client: number; at: number; id: string; status: number }[] = [];
      let phase: 'before' | 'outage' | 'after' = 'before';
      let running = true;
      const phases: Record<string, typeof log> = { before: [], outage: [], after: [] };
      const clients = Array.from({ length: 50 }, async (_, client) => {
        while (running) {
          const started = phase;
          let entry;
          try {
            const reply = await call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': `10.9.0.${client}` } });
            entry = { client, at: Date.now(), id: reply.status === 200 ? (reply.json().id as string) : '', status: reply.status };
          } catch {
            entry = { client, at: Date.now(), id: '', status: -1 };
          }
          log.push(entry);
          if (started === phase) phases[phase]!.push(entry);
          await sleep(40);
        }
      });
      await waitFor(() => new Set(phases.before!.map((e) => e.client)).size === 50, 5000, 'every client to poll');
      await sleep(200);
      phase = 'outage';
      const outageStarted = Date.now();
      await victim.kill();
      await sleep(600);
      const restartedAt = Date.now();
      await victim.restart();
      await waitFor(() => gw.gateway.status().instances.find((i) => i.id === 'app-2')?.health === 'up', 3000, 're-admission');
      phase = 'after';
      await sleep(500);
      running = false;
      await Promise.all(clients);

      expect(log.filter((e) => e.status !== 200)).toEqual([]);
      const homeBefore = new Map(phases.before!.map((e) => [e.client, e.id]));
      const victimClients = [...homeBefore].filter(([, id]) => id === 'app-2').map(([client]) => client);
      expect(victimClients.length).toBeGreaterThan(0);
      // During the outage the victim's clients were served by the others, everyone else stayed put.
      const outageLate = phases.outage!.filter((e) => e.at > outageStarted + 200 && e.at < restartedAt);
      expect(outageLate.length).toBeGreaterThan(0);
      expect(outageLate.some((e) => e.id === 'app-2')).toBe(false);
      for (const e of outageLate) if (!victimClients.includes(e.client)) expect(e.id).toBe(homeBefore.get(e.client));
      // After re-admission each client is back on its own instance.
      const after = phases.after!.filter((e) => e.at > log[log.length - 1]!.at - 300);
      expect(after.length).toBeGreaterThan(0);
      for (const e of after) expect(e.id).toBe(homeBefore.get(e.client));
      expect(gw.gateway.status().totals.ejections).toBeGreaterThanOrEqual(1);
    } finally {
      await gw.stop();
      await Promise.all(ups.map((u) => u.close()));
    }
  });
});

describe('retry rules', () => {
  let gw: TestGateway;
  let good: TestUpstream;
  let bad: TestUpstream;
  let address: string;

  /** Two instances; requests from `address` go to `bad` first. */
  async function setup(env: Record<string, string> = {}): Promise<void> {
    [good, bad] = await Promise.all([startUpstream('good'), startUpstream('bad')]);
    gw = await startTestGateway({ TRUST_PROXY: 'loopback', ...env });
    announce(gw.bus, good);
    announce(gw.bus, bad);
    await waitFor(() => gw.gateway.status().totals.available === 2);
    address = addressOwnedBy('bad', ['good', 'bad']);
  }

  afterEach(async () => {
    await gw.stop();
    await Promise.all([good.close(), bad.close()]);
  });

  const send = (method: string, headers: Record<string, string> = {}, body?: string) =>
    call(gw.url, '/api/v1/things/1', { method, body, headers: { 'X-Forwarded-For': address, ...headers } });

  it.each([
    ['GET', {}, undefined],
    ['HEAD', {}, undefined],
    ['PUT (body buffered)', {}, '{"name":"x"}'],
    ['DELETE', {}, undefined],
    ['POST with Idempotency-Key', { 'Idempotency-Key': 'k-1' }, '{"pay":1}'],
  ])('%s that cannot connect is retried once on another instance', async (name, headers, body) => {
    await setup();
    await bad.kill();
    const method = name.split(' ')[0]!;
    const reply = await send(method, headers, body);
    expect(reply.status).toBe(200);
    if (method !== 'HEAD') expect(reply.json()).toMatchObject({ id: 'good', method, bodyLength: body?.length ?? 0 });
    expect(good.seen).toHaveLength(1);
    expect(good.seen[0]!.body).toBe(body ?? '');
    expect(gw.gateway.status().totals.retries).toBe(1);
    expect(gw.gateway.status().instances.find((i) => i.id === 'bad')).toMatchObject({ health: 'down', reason: 'ejected: ECONNREFUSED', errors: 1 });
  });

  it.each([
    ['POST', {}, '{"rent":1}', {}],
    ['PATCH', {}, '{"x":1}', {}],
    ['POST with Idempotency-Key and a body over RETRY_BODY_LIMIT', { 'Idempotency-Key': 'k-2' }, 'x'.repeat(2000), { RETRY_BODY_LIMIT: '1000' }],
  ])('%s is never replayed: 502 problem+json', async (name, headers, body, env) => {
    await setup(env);
    await bad.kill();
    const reply = await send(name.split(' ')[0]!, headers, body);
    expect(reply.status).toBe(502);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(reply.json()).toMatchObject({ type: 'urn:evshare:problem:bad-gateway', status: 502, detail: 'bad: ECONNREFUSED' });
    expect(reply.headers['x-request-id']).toBeDefined();
    expect(good.seen).toHaveLength(0);
    expect(gw.gateway.status().totals.retries).toBe(0);
  });

  it.each([
    ['GET', 200, 1],
    ['POST', 502, 0],
  ])('a %s reset before any answer byte gets %i (the other instance saw it %i times)', async (method, status, goodSaw) => {
    await setup();
    bad.handler = (req) => req.socket.destroy();
    const reply = await send(method, {}, method === 'POST' ? '{}' : undefined);
    expect(reply.status).toBe(status);
    expect(bad.seen).toHaveLength(1);
    expect(good.seen).toHaveLength(goodSaw);
  });

  it('answers 504 problem+json when the instance does not answer in time, without a retry', async () => {
    await setup({ UPSTREAM_TIMEOUT_MS: '300' });
    bad.handler = () => {};
    const reply = await send('GET');
    expect(reply.status).toBe(504);
    expect(reply.json()).toMatchObject({ type: 'urn:evshare:problem:gateway-timeout', detail: 'bad did not answer within 300 ms' });
    expect(good.seen).toHaveLength(0);
  });

  it('breaks the client response when the instance dies mid-answer (never a silently short body)', async () => {
    await setup();
    bad.handler = (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    };
    await expect(send('GET')).rejects.toThrow();
    expect(good.seen).toHaveLength(0);
  });

  it('answers 502 when the retry has nowhere to go', async () => {
    await setup();
    await Promise.all([bad.kill(), good.kill()]);
    const reply = await send('GET');
    expect(reply.status).toBe(502);
    expect(reply.json().detail).toMatch(/failed and no other APP instance is available|ECONNREFUSED/);
  });
});

describe('balancer decisions in /lb/status', () => {
  it('lists a join, an ejection by a failed request and the re-admission by probes, newest first with reasons', async () => {
    const [one, two] = await Promise.all([startUpstream('one'), startUpstream('two')]);
    const gw = await startTestGateway({ TRUST_PROXY: 'loopback', MEMBER_TIMEOUT_MS: '60000' });
    try {
      announce(gw.bus, one);
      announce(gw.bus, two);
      await waitFor(() => gw.gateway.status().totals.available === 2);
      await two.kill();
      const reply = await call(gw.url, '/api/v1/sync', { headers: { 'X-Forwarded-For': addressOwnedBy('two', ['one', 'two']) } });
      expect(reply.status).toBe(200);
      await two.restart();
      await waitFor(() => gw.gateway.status().instances.find((i) => i.id === 'two')?.health === 'up', 3000, 're-admission');

      const events = gw.gateway.status().events.filter((e) => e.instance === 'two');
      expect(events.map((e) => e.event)).toEqual(['readmitted', 'ejected', 'joined']);
      expect(events.map((e) => e.reason)).toEqual([expect.stringMatching(/good probe/), 'ejected: ECONNREFUSED', 'announced']);
      for (const e of events) expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(events[0]!.at)).toBeGreaterThanOrEqual(Date.parse(events[1]!.at));
    } finally {
      await gw.stop();
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('keeps only the last 50, newest first', async () => {
    const gw = await startTestGateway();
    try {
      for (let i = 0; i < 30; i++) {
        gw.bus.publish(SUBJECTS.appAnnounce, { id: `app-${i}`, url: `http://127.0.0.1:${20000 + i}`, maxConcurrency: 10, startedAt: new Date().toISOString() });
        gw.bus.publish(SUBJECTS.appWithdraw, { id: `app-${i}`, reason: 'test' });
      }
      await waitFor(() => gw.gateway.status().events.length === 50);
      const events = gw.gateway.status().events;
      expect(events[0]).toMatchObject({ instance: 'app-29', event: 'removed', reason: 'withdrawn: test' });
      expect(events[1]).toMatchObject({ instance: 'app-29', event: 'joined', reason: 'announced' });
      expect(events[49]).toMatchObject({ instance: 'app-5', event: 'joined' });
    } finally {
      await gw.stop();
    }
  });
});
