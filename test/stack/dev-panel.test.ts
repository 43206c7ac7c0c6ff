import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import { createLogger } from '@evshare/kit';
import { DevPanelRefused, freePort, startDevPanel, type DevPanel } from '@evshare/stack';
import { provisionVehicleCredentials } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { checkProperty, fuzzTimeout } from '../support/fuzz';
import { eventually, request, type Reply } from '../support/http';
import { expectProblem, newVin, startRentalBench, type RentalBench } from '../rental/support';
import { startTestTelematics } from '../vehicles/support';

const STACK_MAIN = path.resolve(__dirname, '..', '..', 'services', 'stack', 'dist', 'main.js');

/**
 * The developer panel's HTTP surface (services/stack/src/dev-panel.ts) on the real platform: a
 * card held to a simulated car starts a walk-up rental, the signal cut and restored is seen by
 * the vehicle link, a drive parks the car at a station and ends the walk-up; hostile input is a
 * precise 4xx that changes nothing; outside development there is no panel.
 */
describe('the developer panel', () => {
  let bench: RentalBench;
  let tm: Awaited<ReturnType<typeof startTestTelematics>>;
  let fleet: Fleet;
  let panel: DevPanel;
  let vins: string[];
  let stations: Array<{ id: string; lat: number; lng: number }>;
  let member: { id: string; key: string };
  const card = `C0DE${Date.now().toString(16).toUpperCase().slice(-4)}`;

  const post = (vin: string, action: string, body?: unknown, headers: Record<string, string> = {}) =>
    request(`${panel.url}/api/cars/${vin}/${action}`, { method: 'POST', body, headers });
  const carRow = async (vin: string) => (await bench.db.query<{ id: string; state: string }>('SELECT id, state FROM vehicles WHERE vin = $1', [vin])).rows[0]!;
  /** Everything the panel could change: the cars as they are, the platform's rentals and cars. */
  const snapshot = async () => ({
    cars: fleet.cars.map((car) => ({
      vin: car.vin,
      locked: car.locked,
      connected: car.connected,
      trip: car.trip?.tripId,
      physics: car.physics,
      granted: car.counters.unlocksGranted,
      trips: car.storedTrips.length,
    })),
    rentals: (await bench.db.query('SELECT id, status FROM rentals ORDER BY id')).rows,
    vehicles: (await bench.db.query('SELECT vin, state, lat, lng FROM vehicles ORDER BY vin')).rows,
  });

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 1 });
    stations = [await bench.createStation(), await bench.createStation()];
    // A third one 0.002° (about 220 m) north of the first: a drive there takes seconds.
    stations.push(await bench.createStation({ lat: stations[0]!.lat + 0.002, lng: stations[0]!.lng }));
    await bench.createPlan();
    const cars = [await bench.createVehicle(stations[0]!.id), await bench.createVehicle(stations[0]!.id)];
    vins = cars.map((c) => c.vin);
    // The real vehicle link answers these cars, not the bench's stand-in.
    for (const vin of vins) bench.carBehaviour.set(vin, 'silent');
    tm = await startTestTelematics(bench.platform.env);
    fleet = await startVehicleFleet({
      brokerUrl: tm.service.mqttUrl,
      credentials: await provisionVehicleCredentials(tm.db, vins),
      seed: 21,
      topicRoot: tm.topicRoot,
      telemetryParkedMs: 300,
      starts: Object.fromEntries(vins.map((vin) => [vin, { lat: stations[0]!.lat, lng: stations[0]!.lng }])),
      rentals: { stations },
    });
    await eventually(() => expect(vins.every((vin) => tm.service.isOnline(vin))).toBe(true));
    panel = await startDevPanel({ fleet, db: bench.db, log: createLogger('dev-panel', 'warn'), port: 0, nodeEnv: 'test' });
    [member] = (await bench.createMembers(1)) as [{ id: string; key: string }];
    expect((await bench.api('POST', '/api/v1/cards', member.key, { uid: card })).status).toBe(201);
    await eventually(() => expect(fleet.car(vins[0]!).fleet.members.get(member.id)).toEqual([card]), 5_000);
  }, 120_000);

  afterAll(async () => {
    await panel?.stop();
    await fleet?.stop();
    await tm?.stop();
    await bench?.stop();
  });

  it('listens on loopback only and serves its page in both languages under a strict policy', async () => {
    expect(new URL(panel.url).hostname).toBe('127.0.0.1');
    const page = await request(`${panel.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    const script = await request(`${panel.url}/panel.js`);
    expect(script.body).toContain('开发者面板');
    expect(script.body).toContain('Developer panel');
    const state = (await request(`${panel.url}/api/state`)).json<{ cars: Array<{ vin: string; state: string }>; stations: unknown[]; cards: unknown[] }>();
    expect(state.cars.map((c) => [c.vin, c.state]).sort()).toEqual(vins.map((vin) => [vin, 'available']).sort());
    expect(state.stations).toHaveLength(3);
    expect(state.cards).toContainEqual({ uid: card, member: expect.any(String) as string });
  });

  it('answers every wrong request with a precise 4xx and changes nothing', async () => {
    const before = await snapshot();
    const [vin] = vins as [string];
    expectProblem(await post(newVin(), 'card', { cardUid: card }), 404, 'not-found');
    expectProblem(await post('not-a-vin', 'card', { cardUid: card }), 400, 'validation', 'path.vin');
    expectProblem(await post(vin, 'card', { cardUid: 'XYZ' }), 400, 'validation', 'body.cardUid');
    expectProblem(await post(vin, 'card', { cardUid: card, memberId: member.id }), 400, 'validation');
    expectProblem(await post(vin, 'card'), 400, 'validation');
    expectProblem(await post(vin, 'card', { cardUid: 'DEADBEEF' }), 403, 'card-refused');
    expectProblem(await post(vin, 'signal', { online: 'no' }), 400, 'validation', 'body.online');
    expectProblem(await post(vin, 'drive', { stationId: 'north' }), 400, 'validation', 'body.stationId');
    expectProblem(await post(vin, 'drive', { stationId: randomUUID() }), 404, 'not-found', 'body.stationId');
    expectProblem(await post(vin, 'drive', { stationId: stations[1]!.id }), 409, 'car-locked');
    expectProblem(await post(vin, 'drive', { stationId: stations[1]!.id, speedKmh: 400 }), 400, 'validation', 'body.speedKmh');
    expectProblem(await post(vin, 'fly', {}), 404, 'not-found');
    expectProblem(await request(`${panel.url}/api/cars/${vin}/card`, { method: 'POST', rawBody: 'cardUid=1', headers: { 'content-type': 'text/plain' } }), 415);
    expectProblem(
      await request(`${panel.url}/api/cars/${vin}/card`, { method: 'POST', rawBody: '{"cardUid":', headers: { 'content-type': 'application/json' } }),
      400,
    );
    // Another page's script, and a name rebound to this machine, do not reach the cars.
    expectProblem(await post(vin, 'signal', { online: false }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }), 403, 'dev-panel-refused');
    expectProblem(await post(vin, 'signal', { online: false }, { host: 'evil.example' }), 403, 'dev-panel-refused');
    expectProblem(await request(`${panel.url}/api/state`, { headers: { host: 'evil.example' } }), 403, 'dev-panel-refused');
    expect(await snapshot()).toEqual(before);
  });

  it(
    'hostile input (fast-check, seeded) is always a 4xx problem and never changes a car or the platform',
    async () => {
      const before = await snapshot();
      const [vin] = vins as [string];
      const json = fc.jsonValue({ maxDepth: 3 });
      const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length });
      const target = fc.oneof(
        fc.constant(vin),
        fc.constant(newVin()),
        fc.string({ maxLength: 30 }).map((s) => encodeURIComponent(s) || '%20'),
        fc.constantFrom('LDEMEVSHARE00000O', vin.toLowerCase(), `${vin}0`, '..%2F..', '%00'),
      );
      const call = fc.oneof(
        fc.record({
          action: fc.constant('card'),
          body: fc.oneof(json, fc.record({ cardUid: fc.oneof(hex(8), hex(14), hex(20)) }), fc.record({ cardUid: json })),
        }),
        fc.record({
          action: fc.constant('signal'),
          body: fc.oneof(
            json.filter((v) => typeof v !== 'object' || v === null || !('online' in v)),
            fc.record({ online: json.filter((v) => typeof v !== 'boolean') }),
          ),
        }),
        fc.record({
          action: fc.constant('drive'),
          body: fc.oneof(
            json,
            fc.record({ stationId: fc.oneof(fc.uuid(), fc.string(), json) }),
            fc.record(
              { stationId: fc.constant(stations[1]!.id), speedKmh: fc.oneof(fc.constant(undefined), fc.integer({ min: 5, max: 150 }), json) },
              { requiredKeys: ['stationId'] },
            ),
          ),
        }),
        fc.record({ action: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)), body: json }),
      );
      await checkProperty('dev panel hostile input', 150, target, call, async (car, { action, body }) => {
        // The one card that opens the car is the member's; every other is refused by the car.
        if (typeof body === 'object' && body !== null && 'cardUid' in body && typeof body.cardUid === 'string' && body.cardUid.toUpperCase() === card) return;
        const reply: Reply = await post(car, action, body);
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
        expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      });
      expect(await snapshot()).toEqual(before);
    },
    fuzzTimeout(60_000),
  );

  it('a member’s card held to the car starts a walk-up rental (the car in use); driving to the other station parks it and the trip ends the rental', async () => {
    const [vin] = vins as [string];
    const held = await post(vin, 'card', { cardUid: card.toLowerCase() });
    expect(held.status).toBe(200);
    expect(held.json()).toMatchObject({ locked: false, walkUp: { memberId: member.id } });
    const rentals = async () =>
      (await bench.api('GET', '/api/v1/rentals', member.key)).json<{ items: Array<{ status: string; cardUid: string | null }> }>().items;
    await eventually(async () => expect(await rentals()).toMatchObject([{ status: 'active', cardUid: card }]), 5_000);
    expect((await carRow(vin)).state).toBe('in_use');

    // At 100 km/h the 220 m take about 8 s: a trip within physics, billed as driven.
    const drove = await post(vin, 'drive', { stationId: stations[2]!.id, speedKmh: 100 });
    expect(drove.status).toBe(202);
    expect(drove.json()).toMatchObject({ car: { driving: { stationId: stations[2]!.id, speedKmh: 100 } } });
    expect(drove.json<{ etaSeconds: number }>().etaSeconds).toBeGreaterThanOrEqual(7);
    await eventually(async () => expect(await rentals()).toMatchObject([{ status: 'ended' }]), 20_000, 250);
    const parked = fleet.car(vin);
    expect({ locked: parked.locked, trip: parked.trip, speedKmh: parked.physics.speedKmh }).toEqual({ locked: true, trip: undefined, speedKmh: 0 });
    expect(Math.abs(parked.physics.lat - stations[2]!.lat)).toBeLessThan(0.0001);
    await eventually(async () => expect((await carRow(vin)).state).toBe('available'), 5_000);
    const state = (await request(`${panel.url}/api/state`)).json<{ cars: Array<{ vin: string; driving: unknown }> }>();
    expect(state.cars.find((c) => c.vin === vin)?.driving).toBeNull();
    // Billed as driven, not held for review as faster than a car.
    expect(await tm.metric('telematics_trips_total', { outcome: 'review' })).toBe(0);
  }, 40_000);

  it('cuts a car’s signal (the vehicle link sees it offline) and restores it', async () => {
    const vin = vins[1]!;
    const cut = await post(vin, 'signal', { online: false });
    expect(cut.json()).toMatchObject({ connected: false });
    await eventually(() => expect(tm.service.isOnline(vin)).toBe(false), 5_000);
    // Cut twice: still offline, nothing else happens.
    expect((await post(vin, 'signal', { online: false })).json()).toMatchObject({ connected: false });
    const restored = await post(vin, 'signal', { online: true });
    expect(restored.json()).toMatchObject({ connected: true });
    await eventually(() => expect(tm.service.isOnline(vin)).toBe(true), 5_000);
  });

  it('is refused outside development: no panel for a production NODE_ENV, and DEV_PANEL=on stops the stack before it starts anything', async () => {
    await expect(startDevPanel({ fleet, db: bench.db, log: createLogger('dev-panel', 'silent'), port: 0, nodeEnv: 'production' })).rejects.toThrow(
      DevPanelRefused,
    );
    await expect(startDevPanel({ fleet, db: bench.db, log: createLogger('dev-panel', 'silent'), port: 0, nodeEnv: undefined })).rejects.toThrow(
      DevPanelRefused,
    );
    const port = await freePort();
    const child = spawn(process.execPath, [STACK_MAIN], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        DEV_PANEL: 'on',
        DEV_PANEL_PORT: String(port),
        GATEWAY_PORT: String(await freePort()),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toContain('DEV_PANEL=on is refused with NODE_ENV=production');
    expect(output).not.toContain('evshare is up');
    await expect(request(`http://127.0.0.1:${port}/`, { timeoutMs: 2_000 })).rejects.toThrow(/ECONNREFUSED/);
  }, 30_000);
});
