import { generateKeyPairSync } from 'node:crypto';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { findAllowed, provisionVehicleCredentials, signAppKey, vehicleTopic, type VehicleCredential } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { eventually } from '../support/http';
import { messageText } from '../support/ws';
import { startRentalBench, type RentalBench } from '../rental/support';
import { startTestTelematics } from './support';

/**
 * The vehicle link end to end on real NATS, PostgreSQL and Redis, with the embedded (aedes)
 * broker: the platform (APP, billing, ...), the telematics service and simulated cars.
 */
describe('vehicle link (embedded broker)', () => {
  let bench: RentalBench;
  let tm: Awaited<ReturnType<typeof startTestTelematics>>;
  let fleet: Fleet;
  let credentials: VehicleCredential[];
  let station: { id: string; lat: number; lng: number };
  let carA: { id: string; vin: string };
  let carB: { id: string; vin: string };
  /** The platform's app-key signing key; its public half is provisioned into the cars. */
  const platformKey = generateKeyPairSync('ed25519');

  const whitelistOf = async (vin: string) =>
    (await bench.db.query<{ version: number; entries: Array<{ memberId: string }> }>('SELECT version, entries FROM vehicle_whitelists WHERE vin = $1', [vin]))
      .rows[0];
  const listed = (vin: string) => fleet.car(vin).whitelist.entries.map((e) => e.memberId);
  const ledger = async (reference: string) =>
    (await bench.db.query<{ amountFen: number }>('SELECT amount_fen AS "amountFen" FROM ledger WHERE reference = $1', [reference])).rows;

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 1, env: { UNLOCK_ACK_TIMEOUT_MS: '5000' } });
    station = await bench.createStation();
    await bench.createPlan();
    carA = await bench.createVehicle(station.id);
    carB = await bench.createVehicle(station.id);
    // The cars answer for themselves through the vehicle link, not the bench's stand-in.
    bench.carBehaviour.set(carA.vin, 'silent');
    bench.carBehaviour.set(carB.vin, 'silent');
    tm = await startTestTelematics(bench.platform.env);
    credentials = await provisionVehicleCredentials(tm.db, [carA.vin, carB.vin]);
    fleet = await startVehicleFleet({
      brokerUrl: tm.service.mqttUrl,
      credentials,
      seed: 7,
      topicRoot: tm.topicRoot,
      telemetryParkedMs: 300,
      telemetryDrivingMs: 100,
      platformKey: platformKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    await eventually(() => expect(tm.service.isOnline(carA.vin) && tm.service.isOnline(carB.vin)).toBe(true));
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await tm?.stop();
    await bench?.stop();
  });

  it("the cars' telemetry becomes the vehicle row the APP reads", async () => {
    const car = fleet.car(carA.vin);
    await eventually(async () => {
      const reply = await bench.admin('GET', `/api/v1/admin/vehicles/${carA.id}`);
      const row = reply.json<{ socPct: number; odometerM: number; lat: number; doorsLocked: boolean; reportedAt: string | null }>();
      expect(row).toMatchObject({ socPct: Math.round(car.physics.socPct * 100) / 100, odometerM: car.physics.odometerM, doorsLocked: true });
      expect(row.lat).toBeCloseTo(car.physics.lat, 6);
    });
    const { rows } = await bench.db.query<{ online: boolean }>('SELECT online FROM vehicles WHERE vin = $1', [carA.vin]);
    expect(rows[0]!.online).toBe(true);
  });

  it("the broker refuses a wrong secret, and a car cannot touch another car's topics", async () => {
    const wrong = mqtt.connect(tm.service.mqttUrl, { username: carA.vin, password: 'not-the-secret', clientId: carA.vin, reconnectPeriod: 0 });
    await expect(new Promise((resolve, reject) => wrong.once('connect', resolve).once('error', reject))).rejects.toThrow(
      /Bad username or password|Not authorized/i,
    );
    wrong.end(true);

    const secret = credentials.find((c) => c.vin === carA.vin)!.secret;
    // With its own client id but the right secret, the terminal is refused (client id = VIN).
    const renamed = mqtt.connect(tm.service.mqttUrl, { username: carA.vin, password: secret, clientId: `intruder-${carA.vin}`, reconnectPeriod: 0 });
    await expect(new Promise((resolve, reject) => renamed.once('connect', resolve).once('error', reject))).rejects.toThrow(/Identifier rejected/i);
    renamed.end(true);
    // A car of its own (its VIN as client id) trying car B's topics.
    const carX = await bench.createVehicle(station.id);
    const [own] = await provisionVehicleCredentials(tm.db, [carX.vin]);
    const intruder = await mqtt.connectAsync(tm.service.mqttUrl, { username: carX.vin, password: own!.secret, clientId: carX.vin, reconnectPeriod: 0 });
    // Another car's commands: the subscription is refused (SUBACK failure code).
    await expect(intruder.subscribeAsync(vehicleTopic(tm.topicRoot, carB.vin, 'commands'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(intruder.connected).toBe(true);
    // Another car's telemetry: the broker drops the connection.
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish(vehicleTopic(tm.topicRoot, carB.vin, 'telemetry'), '{}', { qos: 1 });
    await closed;
    intruder.end(true);
  });

  it('reserve a car: its whitelist holds the member within 5 s; cut off, it unlocks for the card; the offline trip is billed once', async () => {
    const [member] = await bench.createMembers(1);
    const card = `C0FFEE${Date.now().toString(16).toUpperCase().slice(-8)}`;
    expect((await bench.api('POST', '/api/v1/cards', member!.key, { uid: card })).status).toBe(201);
    const reserved = await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: carA.id });
    expect(reserved.status).toBe(201);
    const car = fleet.car(carA.vin);
    await eventually(() => expect(car.whitelist.entries).toContainEqual({ memberId: member!.id, cardUids: [card], role: 'renter' }), 5_000);

    car.goOffline();
    await eventually(() => expect(tm.service.isOnline(carA.vin)).toBe(false));
    expect(car.localUnlock({ cardUid: 'FFFF0000FFFF' })).toBe(false);
    expect(car.localUnlock({ cardUid: card })).toBe(true);
    // A distance the car can cover in the trip's real time (trips beyond 200 km/h go to review).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    car.driveDistance(40);
    const trip = car.endTrip()!;
    expect(trip).toMatchObject({ memberId: member!.id, cardUid: card, offline: true, endOdometerM: trip.startOdometerM + 40 });
    expect(car.storedTrips).toEqual([trip]);

    await car.connect();
    await eventually(() => expect(car.storedTrips).toEqual([]));
    const reference = `trip:${trip.tripId}`;
    await eventually(async () => expect(await ledger(reference)).toHaveLength(1), 10_000);
    // Minimum charge 500 fen (plan: 50 fen/min + 100 fen/km for 1 min and 40 m is 54).
    expect((await ledger(reference))[0]!.amountFen).toBe(-500);

    await car.reupload(trip);
    await eventually(async () => expect(await tm.metric('telematics_trips_total', { outcome: 'duplicate' })).toBe(1));
    expect(await ledger(reference)).toHaveLength(1);
    const { rows } = await bench.db.query<{ status: string; totalFen: number }>(
      'SELECT status, total_fen AS "totalFen" FROM rentals WHERE unlock_command_id = $1',
      [trip.tripId],
    );
    expect(rows).toEqual([{ status: 'ended', totalFen: 500 }]);
    // The reservation was the member's hold on this car: it became the rental (no expiry fee), and the car is free.
    const { rows: held } = await bench.db.query<{ status: string; rentalReservation: string | null; id: string; carState: string }>(
      `SELECT r.id, r.status, t.reservation_id AS "rentalReservation", v.state AS "carState"
         FROM reservations r JOIN rentals t ON t.unlock_command_id = $2 JOIN vehicles v ON v.id = r.vehicle_id WHERE r.id = $1`,
      [reserved.json<{ id: string }>().id, trip.tripId],
    );
    expect(held).toEqual([
      {
        id: reserved.json<{ id: string }>().id,
        status: 'converted',
        rentalReservation: reserved.json<{ id: string }>().id,
        carState: 'available',
      },
    ]);
    expect(await ledger(`reservation:${reserved.json<{ id: string }>().id}:fee`)).toEqual([]);
    expect(await tm.metric('telematics_trips_total', { outcome: 'billed' })).toBe(1);
  });

  it('a walk-up by card that ends at another station ends the rental there, with the one-way fee, and the car stands there', async () => {
    const [member] = await bench.createMembers(1);
    const card = `0A1BAD${Date.now().toString(16).toUpperCase().slice(-8)}`;
    expect((await bench.api('POST', '/api/v1/cards', member!.key, { uid: card })).status).toBe(201);
    // About 170 m north of the car's station: outside its 150 m geofence, at the centre of this one.
    const there = await bench.createStation({ name: 'One way north', lat: station.lat + 0.0015, lng: station.lng });
    const car = fleet.car(carA.vin);
    car.physics = { ...car.physics, lat: station.lat, lng: station.lng };
    // Held by the member (this platform lists only a car's own renters), then opened by card.
    expect((await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: carA.id })).status).toBe(201);
    await eventually(() => expect(car.whitelist.entries.some((e) => e.memberId === member!.id)).toBe(true), 5_000);
    expect(car.localUnlock({ cardUid: card })).toBe(true);
    // Driven there at a speed the trip bounds accept (170 m in 3.5 s is about 175 km/h).
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    car.driveDistance(170);
    car.physics = { ...car.physics, lat: there.lat, lng: there.lng };
    const trip = car.endTrip()!;
    const reference = `trip:${trip.tripId}`;
    await eventually(async () => expect(await ledger(reference)).toHaveLength(1), 10_000);
    // The plan's minimum (500 fen) and its one-way fee (2,000 fen, nothing per km).
    expect((await ledger(reference))[0]!.amountFen).toBe(-2_500);
    const { rows } = await bench.db.query<{ status: string; start: string; end: string; oneWayFen: number; carStation: string; carState: string }>(
      `SELECT r.status, r.start_station_id AS start, r.end_station_id AS end, (r.price->>'oneWayFen')::int AS "oneWayFen",
              v.station_id AS "carStation", v.state AS "carState"
         FROM rentals r JOIN vehicles v ON v.id = r.vehicle_id WHERE r.unlock_command_id = $1`,
      [trip.tripId],
    );
    expect(rows).toEqual([{ status: 'ended', start: station.id, end: there.id, oneWayFen: 2_000, carStation: there.id, carState: 'available' }]);
  });

  it('a rental through the API unlocks the car over MQTT; a car without connection is reported offline at once', async () => {
    const [member, other] = await bench.createMembers(2);
    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: carB.id });
    expect(rented.status).toBe(201);
    const rental = rented.json<{ status: string; unlockCommandId: string }>();
    expect(rental.status).toBe('active');
    const car = fleet.car(carB.vin);
    expect(car.executed.map((c) => [c.action, c.commandId])).toContainEqual(['unlock', rental.unlockCommandId]);
    expect(car.locked).toBe(false);
    await eventually(() => expect(listed(carB.vin)).toContain(member!.id));

    // Car A is free again: the earlier test's reservation became its card trip's rental.
    fleet.car(carA.vin).goOffline();
    await eventually(() => expect(tm.service.isOnline(carA.vin)).toBe(false));
    const started = Date.now();
    const refused = await bench.api('POST', '/api/v1/rentals', other!.key, { vehicleId: carA.id });
    expect(refused.status).toBe(409);
    expect(refused.json<{ type: string }>().type).toBe('urn:evshare:problem:vehicle-offline');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await tm.metric('telematics_commands_total', { outcome: 'offline' })).toBeGreaterThanOrEqual(1);
    await fleet.car(carA.vin).connect();
    await eventually(() => expect(tm.service.isOnline(carA.vin)).toBe(true));
  });

  it('the member driving a car that reports a low battery is told once, however many reports follow', async () => {
    const { rows } = await bench.db.query<{ id: string; memberId: string }>(
      `SELECT id, member_id AS "memberId" FROM rentals WHERE vehicle_id = $1 AND status = 'active'`,
      [carB.id],
    );
    const rental = rows[0]!;
    const told = async () =>
      (await bench.db.query<{ body: { rentalId: string } }>(`SELECT body FROM notifications WHERE member_id = $1 AND kind = 'battery.low'`, [rental.memberId]))
        .rows;
    const car = fleet.car(carB.vin);
    car.physics = { ...car.physics, socPct: 14 };
    car.sendTelemetry();
    await eventually(async () => expect(await told()).toHaveLength(1));
    car.sendTelemetry();
    car.physics = { ...car.physics, socPct: 11 };
    car.sendTelemetry();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await told()).map((n) => n.body.rentalId)).toEqual([rental.id]);
  });

  it('stolen terminal reveals operators: a car lists only its renters, and an operator only on the car granted, until validUntil', async () => {
    const card = `0DE7AB${Date.now().toString(16).toUpperCase().slice(-8)}`;
    expect((await bench.api('POST', '/api/v1/cards', bench.adminKey, { uid: card })).status).toBe(201);
    const operatorsOn = (vin: string) => fleet.car(vin).whitelist.entries.filter((e) => e.role !== 'renter');
    // Nobody asked for access: no car holds any operator's id or card.
    await tm.service.fullSync();
    for (const vin of [carA.vin, carB.vin]) {
      expect(operatorsOn(vin)).toEqual([]);
      expect(JSON.stringify((await whitelistOf(vin))?.entries ?? [])).not.toContain(card);
    }

    const granted = await bench.admin('POST', `/api/v1/admin/vehicles/${carA.id}/access`, { minutes: 30 });
    expect(granted.status).toBe(201);
    const grant = granted.json<{ vin: string; memberId: string; validUntil: string }>();
    expect(grant.vin).toBe(carA.vin);
    expect(Date.parse(grant.validUntil) - Date.now()).toBeGreaterThan(29 * 60_000);
    await eventually(
      () => expect(operatorsOn(carA.vin)).toEqual([{ memberId: grant.memberId, cardUids: [card], role: 'operator', validUntil: grant.validUntil }]),
      5_000,
    );
    expect(findAllowed(fleet.car(carA.vin).whitelist, { cardUid: card }, Date.now())?.memberId).toBe(grant.memberId);
    expect(operatorsOn(carB.vin)).toEqual([]);
    expect(
      (await bench.admin('POST', `/api/v1/admin/vehicles/${carA.id}/access`, { minutes: 0 })).json<{ 'invalid-params': Array<{ name: string }> }>()[
        'invalid-params'
      ][0]!.name,
    ).toBe('body.minutes');
    const [member] = await bench.createMembers(1);
    expect((await bench.api('POST', `/api/v1/admin/vehicles/${carA.id}/access`, member!.key, {})).status).toBe(403);

    // Ended by the operator: a delta removes it.
    expect((await bench.admin('DELETE', `/api/v1/admin/vehicles/${carA.id}/access`)).status).toBe(204);
    await eventually(() => expect(operatorsOn(carA.vin)).toEqual([]), 5_000);

    // Ended by time (a grant written by any code path): the platform removes it from the online
    // car, and the car that went offline refuses it on its own from validUntil.
    const { rows } = await bench.db.query<{ validUntil: Date }>(
      `INSERT INTO vehicle_operator_access (vehicle_id, member_id, valid_until) SELECT id, $2, now() + interval '3 seconds' FROM vehicles WHERE id = ANY($1::uuid[])
       RETURNING valid_until AS "validUntil"`,
      [[carA.id, carB.id], grant.memberId],
    );
    await eventually(() => {
      expect(operatorsOn(carA.vin).map((e) => e.memberId)).toEqual([grant.memberId]);
      expect(operatorsOn(carB.vin).map((e) => e.memberId)).toEqual([grant.memberId]);
    }, 5_000);
    const offline = fleet.car(carA.vin);
    offline.goOffline();
    await eventually(() => expect(tm.service.isOnline(carA.vin)).toBe(false));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, rows[0]!.validUntil.getTime() - Date.now()) + 50));
    expect(operatorsOn(carA.vin).map((e) => e.memberId)).toEqual([grant.memberId]);
    expect(offline.localUnlock({ cardUid: card })).toBe(false);
    // Even a valid app key: the grant is over by the car's clock.
    const appKey = signAppKey(platformKey.privateKey, {
      vin: carA.vin,
      memberId: grant.memberId,
      notBefore: new Date(Date.now() - 60_000),
      validitySeconds: 900,
    }).key;
    expect(offline.localUnlock({ appKey })).toBe(false);
    expect(['not-listed', 'held']).toContain(offline.lastRefusal);
    expect(offline.locked).toBe(true);
    await eventually(() => expect(operatorsOn(carB.vin)).toEqual([]), 5_000);
    await eventually(async () => expect(JSON.stringify((await whitelistOf(carA.vin))!.entries)).not.toContain(grant.memberId), 5_000);
    await offline.connect();
    await eventually(() => expect(operatorsOn(carA.vin)).toEqual([]), 5_000);
    expect(offline.whitelist.version).toBe((await whitelistOf(carA.vin))!.version);
  });

  it('a car that missed a delta refuses the next one and is repaired with the full list; the periodic full sync repairs too', async () => {
    const car = fleet.car(carB.vin);
    // As if it had missed deltas: an old version.
    car.whitelist = { version: 1, entries: [] };
    const { rows } = await bench.db.query<{ memberId: string }>(
      `INSERT INTO vehicle_operator_access (vehicle_id, member_id, valid_until) SELECT $1, id, now() + interval '10 minutes' FROM members WHERE role = 'admin' LIMIT 1
       RETURNING member_id AS "memberId"`,
      [carB.id],
    );
    await eventually(async () => {
      const stored = (await whitelistOf(carB.vin))!;
      expect(stored.entries.map((e) => e.memberId)).toContain(rows[0]!.memberId);
      expect(car.whitelist.version).toBe(stored.version);
      expect(listed(carB.vin)).toEqual(stored.entries.map((e) => e.memberId));
    }, 5_000);
    expect(await tm.metric('telematics_whitelist_sent_total', { kind: 'full' })).toBeGreaterThan(0);

    car.whitelist = { version: 1, entries: [] };
    await tm.service.fullSync();
    const stored = (await whitelistOf(carB.vin))!;
    await eventually(() => expect(car.whitelist.version).toBe(stored.version));
    expect(listed(carB.vin)).toEqual(stored.entries.map((e) => e.memberId));
  });

  it('garbage on the MQTT topics is dropped and counted; the service goes on serving', async () => {
    const car = fleet.car(carB.vin);
    const before = await tm.metric('telematics_messages_rejected_total');
    await car.publishRaw('telemetry', 'not json at all');
    await car.publishRaw('acks', Buffer.from([0xff, 0x00, 0x13]));
    await car.publishRaw('events', JSON.stringify({ type: 'trip', at: 'yesterday', trip: { tripId: 'x' } }));
    await car.publishRaw('telemetry', JSON.stringify({ at: new Date().toISOString(), lat: 500, lng: 0 }));
    await car.publishRaw('status', '[]');
    await eventually(async () => {
      expect(await tm.metric('telematics_messages_rejected_total', { reason: 'json' })).toBeGreaterThanOrEqual(2);
      expect((await tm.metric('telematics_messages_rejected_total')) - before).toBe(5);
    });
    car.driveDistance(1_234);
    car.sendTelemetry();
    await eventually(async () => {
      const { rows } = await bench.db.query<{ odometerM: number }>('SELECT odometer_m AS "odometerM" FROM vehicles WHERE vin = $1', [carB.vin]);
      expect(rows[0]!.odometerM).toBe(car.physics.odometerM);
    });
    expect(tm.service.isOnline(carB.vin)).toBe(true);
  });

  it("operators connected to the push channel get the cars' alerts: offline, low charge, door open after return", async () => {
    const socket = new WebSocket(`${bench.gateway.replace('http', 'ws')}/push`, { headers: { cookie: `evs_session=${bench.adminKey}` } });
    const frames: Array<{ type: string; notification?: { kind: string; body: { vin: string } } }> = [];
    socket.on('message', (data) => frames.push(JSON.parse(messageText(data)) as (typeof frames)[number]));
    await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
    await eventually(() => expect(frames.some((f) => f.type === 'welcome')).toBe(true));
    const alerts = () => frames.filter((f) => f.type === 'notification').map((f) => [f.notification!.kind, f.notification!.body.vin]);

    const car = fleet.car(carA.vin);
    car.physics = { ...car.physics, socPct: 12 };
    car.doorsOpen = true;
    car.sendTelemetry();
    await eventually(() => {
      expect(alerts()).toContainEqual(['vehicle.low-charge', carA.vin]);
      expect(alerts()).toContainEqual(['vehicle.door-open-after-return', carA.vin]);
    });
    car.goOffline();
    await eventually(() => expect(alerts()).toContainEqual(['vehicle.offline', carA.vin]));
    socket.close();
  });
  it("operators' remote commands reach the car and answer with its acknowledgement; offline and bad input are clear", async () => {
    const carC = await bench.createVehicle(station.id);
    bench.carBehaviour.set(carC.vin, 'silent');
    const own = await startVehicleFleet({
      brokerUrl: tm.service.mqttUrl,
      credentials: await provisionVehicleCredentials(tm.db, [carC.vin]),
      seed: 9,
      topicRoot: tm.topicRoot,
    });
    try {
      await eventually(() => expect(tm.service.isOnline(carC.vin)).toBe(true));
      const car = own.car(carC.vin);
      const lock = await bench.admin('POST', `/api/v1/admin/vehicles/${carC.id}/commands`, { action: 'lock' });
      expect(lock.status).toBe(200);
      const locked = lock.json<{ commandId: string; vin: string; action: string; ok: boolean }>();
      expect(locked).toMatchObject({ vin: carC.vin, action: 'lock', ok: true });
      expect(car.executed.map((c) => [c.action, c.commandId])).toContainEqual(['lock', locked.commandId]);
      expect(car.locked).toBe(true);

      expect((await bench.admin('POST', `/api/v1/admin/vehicles/${carC.id}/commands`, { action: 'immobilise' })).status).toBe(200);
      expect(car.immobilised).toBe(true);
      // An immobilised car refuses to unlock: the operator sees the car's own reason.
      const unlock = await bench.admin('POST', `/api/v1/admin/vehicles/${carC.id}/commands`, { action: 'unlock' });
      expect(unlock.status).toBe(409);
      expect(unlock.json()).toMatchObject({ type: 'urn:evshare:problem:vehicle-refused', detail: expect.stringContaining('immobilised') });

      const bad = await bench.admin('POST', `/api/v1/admin/vehicles/${carC.id}/commands`, { action: 'explode' });
      expect(bad.status).toBe(400);
      expect(bad.json<{ 'invalid-params': Array<{ name: string }> }>()['invalid-params'][0]!.name).toBe('body.action');
      const [member] = await bench.createMembers(1);
      expect((await bench.api('POST', `/api/v1/admin/vehicles/${carC.id}/commands`, member!.key, { action: 'lock' })).status).toBe(403);

      car.goOffline();
      await eventually(() => expect(tm.service.isOnline(carC.vin)).toBe(false));
      const offline = await bench.admin('POST', `/api/v1/admin/vehicles/${carC.id}/commands`, { action: 'lock' });
      expect(offline.status).toBe(409);
      expect(offline.json<{ type: string }>().type).toBe('urn:evshare:problem:vehicle-offline');
    } finally {
      await own.stop();
    }
  });
});
