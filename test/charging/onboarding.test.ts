import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { SimulatedPile } from '../../sims/pile/src';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { eventually } from '../support/http';
import { startChargingBench, type ChargingBench } from './support';

/**
 * Operators onboard piles through the API only (issue 12): registration answers the password
 * once, the simulated pile connects with it, rotation locks the old one out; the rated power and
 * the station's cap and temperature source are set without SQL, a weather feed (a real HTTP
 * server standing in for the outside party) is polled into the station.
 */
describe('charging: operator onboarding', () => {
  let bench: ChargingBench;
  let feed: http.Server;
  let feedUrl: string;
  let feedBody = JSON.stringify({ current: { temperature_2m: -7.3 } });
  const piles: SimulatedPile[] = [];

  beforeAll(async () => {
    feed = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(feedBody));
    await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
    feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/v1/forecast?current=temperature_2m`;
    bench = await startChargingBench({ piles: 0, env: { AMBIENT_FEED_ALLOW_HTTP: 'true', AMBIENT_FEED_INTERVAL_MS: '300' } });
  }, 60_000);
  afterAll(async () => {
    for (const pile of piles) await pile.stop();
    await bench?.stop();
    await new Promise((resolve) => feed?.close(resolve));
  });

  const admin = (method: string, path: string, body?: unknown) => bench.api(method, path, bench.admin.key, body);
  const simulated = (id: string, password: string) => {
    const pile = new SimulatedPile(
      { id, password, maxPowerW: 7000, carMaxPowerW: 11000, batteryWh: 60_000, socPct: 40 },
      { url: bench.ocppUrl, meterIntervalMs: 60_000, speed: 1, autoStart: false, heartbeatIntervalMs: 60_000 },
    );
    piles.push(pile);
    return pile;
  };
  const pileRow = async (id: string) =>
    (
      await bench.db.query<{ state: string; instanceId: string | null; maxPowerW: number }>(
        'SELECT state, instance_id AS "instanceId", max_power_w AS "maxPowerW" FROM piles WHERE id = $1',
        [id],
      )
    ).rows[0];

  it('registers a pile, the simulated pile connects with the shown password, rotation locks the old one out', async () => {
    const id = `ONB-${Date.now().toString(36)}`;
    const registered = await admin('POST', '/api/v1/charging/piles', { id, stationId: bench.stationId, maxPowerW: 22000 });
    expect(registered.status).toBe(201);
    const { password } = registered.json<{ password: string }>();
    expect(registered.json()).toMatchObject({ id, stationId: bench.stationId, maxPowerW: 22000, enabled: true, state: 'offline' });
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // Shown once: no read answers it again.
    expect(JSON.stringify((await admin('GET', `/api/v1/charging/piles/${id}`)).json())).not.toContain(password);
    expect((await admin('POST', '/api/v1/charging/piles', { id, stationId: bench.stationId })).json()).toMatchObject({
      status: 409,
      type: expect.stringContaining('pile-exists'),
    });

    const pile = simulated(id, password);
    await pile.start();
    await eventually(async () => expect(await pileRow(id)).toMatchObject({ state: 'available', instanceId: 'charging-a' }));

    const rotated = await admin('POST', `/api/v1/charging/piles/${id}/password`);
    expect(rotated.status).toBe(200);
    const fresh = rotated.json<{ password: string }>().password;
    expect(fresh).not.toBe(password);
    const stale = bench.client({ id, password, stationId: bench.stationId });
    await expect(stale.connect()).rejects.toThrow();
    const current = bench.client({ id, password: fresh, stationId: bench.stationId });
    await current.connect();
    await current.close();

    expect((await admin('PATCH', `/api/v1/charging/piles/${id}`, { maxPowerW: 350000 })).json()).toMatchObject({ id, maxPowerW: 350000 });
    expect(await pileRow(id)).toMatchObject({ maxPowerW: 350000 });
  });

  it('sets the station cap and the ambient temperature, from a value and from a polled weather feed', async () => {
    const path = `/api/v1/charging/stations/${bench.stationId}/charging`;
    expect((await admin('PATCH', path, { chargingCapW: 40000, ambient: { source: 'value', celsius: 31.5 } })).json()).toMatchObject({
      chargingCapW: 40000,
      ambientC: 31.5,
      ambientFeedUrl: null,
    });
    expect((await admin('PATCH', path, { ambient: { source: 'feed', url: feedUrl } })).json()).toMatchObject({
      chargingCapW: 40000,
      ambientFeedUrl: feedUrl,
      ambientC: null,
    });
    await eventually(
      async () => expect((await admin('GET', path)).json()).toMatchObject({ ambientC: -7.3, ambientUpdatedAt: expect.any(String) }),
      10_000,
      100,
    );
    // A broken answer keeps the last reading.
    feedBody = '{"current": {"temperature_2m": "cold"}}';
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await admin('GET', path)).json()).toMatchObject({ ambientC: -7.3 });
    feedBody = JSON.stringify({ current: { temperature_2m: 4.44 } });
    await eventually(async () => expect((await admin('GET', path)).json()).toMatchObject({ ambientC: 4.4 }), 10_000, 100);
    expect((await admin('PATCH', path, { chargingCapW: null, ambient: { source: 'default' } })).json()).toMatchObject({
      chargingCapW: null,
      ambientC: null,
      ambientFeedUrl: null,
    });
  });

  it('members may not onboard', async () => {
    const key = bench.member.key;
    expect((await bench.api('POST', '/api/v1/charging/piles', key, { id: 'MEMBER-PILE', stationId: bench.stationId })).status).toBe(403);
    expect((await bench.api('PATCH', `/api/v1/charging/stations/${bench.stationId}/charging`, key, { chargingCapW: 1 })).status).toBe(403);
    expect(await pileRow('MEMBER-PILE')).toBeUndefined();
  });

  it(
    'bad input on every onboarding endpoint: a precise problem+json 4xx naming the field, nothing changed',
    async () => {
      const id = `ONB-FZ-${Date.now().toString(36)}`;
      expect((await admin('POST', '/api/v1/charging/piles', { id, stationId: bench.stationId })).status).toBe(201);
      const snapshot = async () => ({
        piles: (await bench.db.query('SELECT id, station_id, password_hash, max_power_w FROM piles ORDER BY id')).rows,
        stations: (await bench.db.query('SELECT id, charging_cap_w, ambient_c, ambient_feed_url FROM stations ORDER BY id')).rows,
      });
      const before = await snapshot();
      const junk = fc.oneof(
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.integer(), { maxLength: 2 }),
        fc.object({ maxDepth: 1 }),
      );
      const badPower = fc.oneof(
        fc.integer({ max: 0 }),
        fc.integer({ min: 1_000_001 }),
        fc.double({ min: 1, max: 1000, noInteger: true }),
        fc.string(),
        fc.constant(null),
      );
      const cases = fc.oneof(
        fc.record({
          method: fc.constant('POST'),
          path: fc.constant('/api/v1/charging/piles'),
          body: fc.oneof(
            fc.record({ id: fc.string({ minLength: 49 }), stationId: fc.constant(bench.stationId) }),
            fc.record({ id: fc.constant('OK-ID'), stationId: junk }),
            fc.record({ id: fc.constant('OK-ID'), stationId: fc.constant(bench.stationId), maxPowerW: badPower }),
            fc.record({ id: fc.constant('OK-ID'), stationId: fc.uuid() }),
            fc.record({ id: fc.constant('OK-ID'), stationId: fc.constant(bench.stationId), extra: junk }),
            junk,
          ),
          field: fc.constant('body'),
        }),
        fc.record({
          method: fc.constant('PATCH'),
          path: fc.constant(`/api/v1/charging/piles/${id}`),
          body: fc.oneof(fc.record({ maxPowerW: badPower }), fc.record({ stationId: fc.uuid() }), fc.constant({}), junk),
          field: fc.constant('body'),
        }),
        fc.tuple(fc.constantFrom(['PATCH', ''], ['POST', '/password']), fc.string({ minLength: 49, maxLength: 60 })).map(([[method, tail], s]) => ({
          method,
          path: `/api/v1/charging/piles/${encodeURIComponent(s)}${tail}`,
          body: { maxPowerW: 1000 },
          field: 'path.id',
        })),
        fc.record({
          method: fc.constant('PATCH'),
          path: fc.constant(`/api/v1/charging/stations/${bench.stationId}/charging`),
          body: fc.oneof(
            fc.record({ chargingCapW: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 100_000_001 }), fc.string()) }),
            fc.record({
              ambient: fc.record({
                source: fc.constant('value'),
                celsius: fc.oneof(fc.double({ min: 60.01, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: -50.01, noNaN: true }), fc.string()),
              }),
            }),
            fc.record({
              ambient: fc.record({
                source: fc.constant('feed'),
                url: fc.oneof(
                  fc.string(),
                  fc.constant('ftp://example.com/x'),
                  fc.constant('javascript:alert(1)'),
                  fc.webUrl().map((u) => `${u}/${'x'.repeat(2000)}`),
                ),
              }),
            }),
            fc.record({ ambient: fc.record({ source: fc.string() }) }),
            fc.constant({}),
            junk,
          ),
          field: fc.constant('body'),
        }),
        fc.record({
          method: fc.constant('PATCH'),
          path: fc.string({ minLength: 1, maxLength: 40 }).map((s) => `/api/v1/charging/stations/${encodeURIComponent(s)}x/charging`),
          body: fc.constant({ chargingCapW: 1000 }),
          field: fc.constant('path.id'),
        }),
      );
      await checkProperty('charging onboarding: bad input', 150, cases, async (c) => {
        const reply = await admin(c.method, c.path, c.body);
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
        expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
        const problem = reply.json<{ status: number; type: string; 'invalid-params'?: Array<{ name: string }> }>();
        expect(problem.status).toBe(reply.status);
        expect(reply.status).toBe(400);
        // A body that is no JSON object at all is refused by the parser (strict JSON), before any field.
        if (problem.type === 'urn:evshare:problem:malformed-json') expect(typeof c.body !== 'object' || c.body === null || Array.isArray(c.body)).toBe(true);
        else expect(problem['invalid-params']?.[0]?.name.startsWith(c.field)).toBe(true);
      });
      expect(await snapshot()).toEqual(before);
    },
    fuzzTimeout(60_000),
  );
});
