import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { decideUnlock, provisionVehicleCredentials, signAppKey } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { eventually } from '../support/http';
import { startRentalBench, type RentalBench } from '../rental/support';
import { startTestTelematics } from './support';

/**
 * Claim 7's registration: every member eligible to rent is on every car's terminal with their
 * cards (the fleet list), and leaves every car when suspended, in debt or with an expired licence,
 * each change one delta for every car. Real NATS, PostgreSQL, Redis; embedded broker.
 */
describe('the fleet list (every eligible member on every car)', () => {
  let bench: RentalBench;
  let tm: Awaited<ReturnType<typeof startTestTelematics>>;
  let fleet: Fleet;
  let vins: string[];

  const onEveryCar = (memberId: string, cards: string[]) => {
    for (const vin of vins) expect(fleet.car(vin).fleet.members.get(memberId)).toEqual(cards);
  };
  const onNoCar = (memberId: string) => {
    for (const vin of vins) expect(fleet.car(vin).fleet.members.has(memberId)).toBe(false);
  };
  /** What the car itself decides for this card now (no side effects). */
  const carDecides = (vin: string, cardUid: string) => decideUnlock({ car: fleet.car(vin).whitelist, fleet: fleet.car(vin).fleet }, { cardUid }, Date.now());
  const card = (prefix: string) => `${prefix}${Date.now().toString(16).toUpperCase().slice(-8)}`;
  /** The platform's app-key signing key; its public half is provisioned into the cars. */
  const platformKey = generateKeyPairSync('ed25519');
  const ledger = async (reference: string) =>
    (await bench.db.query<{ amountFen: number }>('SELECT amount_fen AS "amountFen" FROM ledger WHERE reference = $1', [reference])).rows;
  const carRow = async (vin: string) => (await bench.db.query<{ id: string; state: string }>('SELECT id, state FROM vehicles WHERE vin = $1', [vin])).rows[0]!;
  const rentalsOf = async (key: string) =>
    (await bench.api('GET', '/api/v1/rentals', key)).json<{
      items: Array<{ id: string; status: string; vehicleId: string; reservationId: string | null; totalFen: number | null }>;
    }>().items;

  beforeAll(async () => {
    bench = await startRentalBench({
      appInstances: 1,
      env: { APP_KEY_PRIVATE_KEY: platformKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    const station = await bench.createStation();
    await bench.createPlan();
    const cars = [await bench.createVehicle(station.id), await bench.createVehicle(station.id), await bench.createVehicle(station.id)];
    vins = cars.map((c) => c.vin);
    for (const vin of vins) bench.carBehaviour.set(vin, 'silent');
    tm = await startTestTelematics(bench.platform.env);
    fleet = await startVehicleFleet({
      brokerUrl: tm.service.mqttUrl,
      credentials: await provisionVehicleCredentials(tm.db, vins),
      seed: 12,
      topicRoot: tm.topicRoot,
      telemetryParkedMs: 300,
      platformKey: platformKey.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    await eventually(() => expect(vins.every((vin) => tm.service.isOnline(vin))).toBe(true));
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await tm?.stop();
    await bench?.stop();
  });

  it('a registered, eligible member with a card is on every car within 5 s, one delta per car; ineligible members are on none', async () => {
    const [member] = await bench.createMembers(1);
    const [unverified] = await bench.createMembers(1, { licence: 'pending' });
    const [noDeposit] = await bench.createMembers(1, { depositFen: 0 });
    await eventually(() => onEveryCar(member!.id, []), 5_000);
    const deltasBefore = await tm.metric('telematics_whitelist_sent_total', { kind: 'fleet-delta' });
    const uid = card('F1EE7A');
    const bound = Date.now();
    expect((await bench.api('POST', '/api/v1/cards', member!.key, { uid })).status).toBe(201);
    await eventually(() => onEveryCar(member!.id, [uid]), 5_000);
    expect(Date.now() - bound).toBeLessThan(5_000);
    expect(await tm.metric('telematics_whitelist_sent_total', { kind: 'fleet-delta' })).toBe(deltasBefore + vins.length);
    const versions = new Set(vins.map((vin) => fleet.car(vin).fleet.version));
    expect([...versions]).toEqual([tm.service.fleetList().version]);
    // The plan asks for a deposit (the bench's plan); members without it, or without an approved licence, are not listed.
    onNoCar(unverified!.id);
    onNoCar(noDeposit!.id);
    // The car decides alone: this card opens any free car, even with the signal cut.
    const car = fleet.car(vins[0]!);
    car.goOffline();
    await eventually(() => expect(tm.service.isOnline(vins[0]!)).toBe(false));
    expect(carDecides(vins[0]!, uid)).toEqual({ granted: true, memberId: member!.id, source: 'fleet' });
    await car.connect();
    await eventually(() => expect(tm.service.isOnline(vins[0]!)).toBe(true));
  });

  it('suspension, debt and an expired licence take the member off every car within 5 s (the car refuses the card); reactivation puts them back', async () => {
    const [suspended, indebted, expired] = await bench.createMembers(3);
    const uids = [card('5A5B00'), card('DEB700'), card('E4B100')];
    for (const [i, m] of [suspended, indebted, expired].entries())
      expect((await bench.api('POST', '/api/v1/cards', m!.key, { uid: uids[i] })).status).toBe(201);
    await eventually(() => {
      onEveryCar(suspended!.id, [uids[0]!]);
      onEveryCar(indebted!.id, [uids[1]!]);
      onEveryCar(expired!.id, [uids[2]!]);
    }, 5_000);

    let changed = Date.now();
    expect((await bench.admin('POST', `/api/v1/admin/members/${suspended!.id}/suspend`, { reason: 'test' })).status).toBe(200);
    await eventually(() => onNoCar(suspended!.id), 5_000);
    expect(Date.now() - changed).toBeLessThan(5_000);
    for (const vin of vins) expect(carDecides(vin, uids[0]!)).toEqual({ granted: false, reason: 'not-listed' });

    // A charge beyond the balance: the member is in debt (billing applies it from DEDUCTIONS).
    changed = Date.now();
    expect(
      (await bench.admin('POST', `/api/v1/admin/members/${indebted!.id}/deductions`, { kind: 'manual', amountFen: 20_000, description: 'test debt' })).status,
    ).toBe(202);
    await eventually(() => onNoCar(indebted!.id), 5_000);
    expect(Date.now() - changed).toBeLessThan(5_000);

    // The licence's expiry day is behind us (as when midnight passes; the date is what any code path writes).
    changed = Date.now();
    await bench.db.query(`UPDATE members SET licence_expires_on = current_date - 1 WHERE id = $1`, [expired!.id]);
    await eventually(() => onNoCar(expired!.id), 5_000);
    expect(Date.now() - changed).toBeLessThan(5_000);
    for (const vin of vins) expect(carDecides(vin, uids[2]!).granted).toBe(false);

    expect((await bench.admin('POST', `/api/v1/admin/members/${suspended!.id}/reactivate`, {})).status).toBe(200);
    await eventually(() => onEveryCar(suspended!.id, [uids[0]!]), 5_000);
  });

  it('a car that missed deltas while offline gets the whole list (in pages) at reconnect', async () => {
    const car = fleet.car(vins[1]!);
    car.goOffline();
    await eventually(() => expect(tm.service.isOnline(vins[1]!)).toBe(false));
    const joined = await bench.createMembers(5);
    await eventually(() => expect(fleet.car(vins[0]!).fleet.members.has(joined[4]!.id)).toBe(true), 5_000);
    expect(car.fleet.members.has(joined[4]!.id)).toBe(false);
    await car.connect();
    await eventually(() => {
      expect(car.fleet.version).toBe(tm.service.fleetList().version);
      for (const m of joined) expect(car.fleet.members.has(m.id)).toBe(true);
    }, 5_000);
    expect(car.fleet.members.size).toBe(tm.service.fleetList().members);
  });

  it('a listed member walks up to a free car with its signal cut, opens it by card; the uploaded trip is billed once', async () => {
    const [member] = await bench.createMembers(1);
    const uid = card('AA1C00');
    expect((await bench.api('POST', '/api/v1/cards', member!.key, { uid })).status).toBe(201);
    await eventually(() => onEveryCar(member!.id, [uid]), 5_000);
    const car = fleet.car(vins[2]!);
    car.goOffline();
    await eventually(() => expect(tm.service.isOnline(vins[2]!)).toBe(false));
    expect(car.localUnlock({ cardUid: uid })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    car.driveDistance(30);
    const trip = car.endTrip()!;
    expect(trip).toMatchObject({ memberId: member!.id, cardUid: uid, offline: true });
    await car.connect();
    const ledger = async () =>
      (await bench.db.query<{ amountFen: number }>('SELECT amount_fen AS "amountFen" FROM ledger WHERE reference = $1', [`trip:${trip.tripId}`])).rows;
    await eventually(async () => expect(await ledger()).toHaveLength(1), 10_000);
    await car.reupload(trip);
    await eventually(async () => expect(await tm.metric('telematics_trips_total', { outcome: 'duplicate' })).toBe(1));
    expect(await ledger()).toHaveLength(1);
    expect(await tm.metric('telematics_trips_total', { outcome: 'review' })).toBe(0);
  });

  it('a listed member opens a car online by card: the rental starts at once (the car in use while driven), the trip ends it, billed once', async () => {
    const [member] = await bench.createMembers(1);
    const uid = card('AB1C00');
    expect((await bench.api('POST', '/api/v1/cards', member!.key, { uid })).status).toBe(201);
    await eventually(() => onEveryCar(member!.id, [uid]), 5_000);
    const car = fleet.car(vins[0]!);
    const { id: vehicleId } = await carRow(vins[0]!);
    expect(car.localUnlock({ cardUid: uid })).toBe(true);
    await eventually(async () => expect(await rentalsOf(member!.key)).toMatchObject([{ status: 'active', vehicleId, reservationId: null }]), 5_000);
    const [started] = await rentalsOf(member!.key);
    expect((await carRow(vins[0]!)).state).toBe('in_use');
    // The same report again (a car resending on reconnect): still one rental.
    const report = JSON.stringify({
      type: 'local-unlock',
      at: new Date().toISOString(),
      granted: true,
      via: 'card',
      memberId: member!.id,
      cardUid: uid,
      tripId: car.trip!.tripId,
    });
    await car.publishRaw('events', report);
    await eventually(async () => expect(await tm.metric('telematics_walk_ups_total', { outcome: 'duplicate' })).toBeGreaterThanOrEqual(1));
    expect(await rentalsOf(member!.key)).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    car.driveDistance(30);
    const trip = car.endTrip()!;
    expect(trip.offline).toBe(false);
    await eventually(async () => expect(await ledger(`trip:${trip.tripId}`)).toHaveLength(1), 10_000);
    const after = await rentalsOf(member!.key);
    expect(after).toEqual([expect.objectContaining({ id: started!.id, status: 'ended', totalFen: -(await ledger(`trip:${trip.tripId}`))[0]!.amountFen })]);
    expect((await carRow(vins[0]!)).state).toBe('available');
    // The car's report again, and its trip again: nothing more.
    await car.reupload(trip);
    await eventually(async () => expect(await tm.metric('telematics_trips_total', { outcome: 'duplicate' })).toBeGreaterThanOrEqual(1));
    expect(await ledger(`trip:${trip.tripId}`)).toHaveLength(1);
    expect(await rentalsOf(member!.key)).toHaveLength(1);
    expect(await tm.metric('telematics_walk_ups_total', { outcome: 'started' })).toBeGreaterThanOrEqual(1);
  });

  it("the member's own reservation, then the card at the car: one rental, one bill, no expiry fee", async () => {
    const [member] = await bench.createMembers(1);
    const uid = card('AC1C00');
    expect((await bench.api('POST', '/api/v1/cards', member!.key, { uid })).status).toBe(201);
    const { id: vehicleId } = await carRow(vins[1]!);
    const reserved = await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId });
    expect(reserved.status).toBe(201);
    const reservationId = reserved.json<{ id: string }>().id;
    const car = fleet.car(vins[1]!);
    await eventually(() => expect(car.whitelist.entries).toContainEqual({ memberId: member!.id, cardUids: [uid], role: 'renter' }), 5_000);
    expect(car.localUnlock({ cardUid: uid })).toBe(true);
    await eventually(async () => expect(await rentalsOf(member!.key)).toMatchObject([{ status: 'active', vehicleId, reservationId }]), 5_000);
    expect((await bench.api('GET', `/api/v1/reservations/${reservationId}`, member!.key)).json()).toMatchObject({ status: 'converted' });
    expect((await carRow(vins[1]!)).state).toBe('in_use');

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    car.driveDistance(25);
    const trip = car.endTrip()!;
    await eventually(async () => expect(await ledger(`trip:${trip.tripId}`)).toHaveLength(1), 10_000);
    expect(await rentalsOf(member!.key)).toMatchObject([{ status: 'ended', reservationId }]);
    expect(await ledger(`reservation:${reservationId}:fee`)).toEqual([]);
    expect((await carRow(vins[1]!)).state).toBe('available');
  });

  it('an app key issued by the platform, then the signal cut: the car decides offline, and the uploaded trip is one rental, billed once', async () => {
    const [member] = await bench.createMembers(1);
    await eventually(() => onEveryCar(member!.id, []), 5_000);
    const { id: vehicleId } = await carRow(vins[2]!);
    const issued = await bench.api('POST', `/api/v1/vehicles/${vehicleId}/app-key`, member!.key);
    expect(issued.status).toBe(201);
    const { key: appKey } = issued.json<{ key: string }>();
    const car = fleet.car(vins[2]!);
    car.goOffline();
    await eventually(() => expect(tm.service.isOnline(vins[2]!)).toBe(false));
    // The member id alone, a key for another car, a forged one: the car stays shut.
    expect(car.localUnlock({ appKey: member!.id })).toBe(false);
    const forOther = (await bench.api('POST', `/api/v1/vehicles/${(await carRow(vins[0]!)).id}/app-key`, member!.key)).json<{ key: string }>().key;
    expect(car.localUnlock({ appKey: forOther })).toBe(false);
    expect(car.lastRefusal).toBe('other-car');
    const forged = signAppKey(generateKeyPairSync('ed25519').privateKey, {
      vin: vins[2]!,
      memberId: member!.id,
      notBefore: new Date(),
      validitySeconds: 600,
    }).key;
    expect(car.localUnlock({ appKey: forged })).toBe(false);
    expect(car.lastRefusal).toBe('signature');
    expect(car.locked).toBe(true);

    expect(car.localUnlock({ appKey })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    car.driveDistance(20);
    const trip = car.endTrip()!;
    expect(trip).toMatchObject({ memberId: member!.id, offline: true });
    await car.connect();
    await eventually(async () => expect(await ledger(`trip:${trip.tripId}`)).toHaveLength(1), 10_000);
    expect(await rentalsOf(member!.key)).toMatchObject([{ status: 'ended' }]);
    expect((await carRow(vins[2]!)).state).toBe('available');
  });

  it("a car's word alone rents nothing to a member who is not on the fleet list, nor from a stale report", async () => {
    const [unlisted] = await bench.createMembers(1, { licence: 'pending' });
    const car = fleet.car(vins[0]!);
    const before = await tm.metric('telematics_walk_ups_total', { outcome: 'not-listed' });
    const report = { type: 'local-unlock', at: new Date().toISOString(), granted: true, via: 'app', memberId: unlisted!.id, tripId: randomUUID() };
    await car.publishRaw('events', JSON.stringify(report));
    await eventually(async () => expect(await tm.metric('telematics_walk_ups_total', { outcome: 'not-listed' })).toBe(before + 1));
    expect(await rentalsOf(unlisted!.key)).toEqual([]);
    // A listed member, but a report of an unlock an hour ago: no rental starts from it.
    const [listed] = await bench.createMembers(1);
    await eventually(() => onEveryCar(listed!.id, []), 5_000);
    const stale = await tm.metric('telematics_walk_ups_total', { outcome: 'stale' });
    await car.publishRaw(
      'events',
      JSON.stringify({ ...report, memberId: listed!.id, tripId: randomUUID(), at: new Date(Date.now() - 3_600_000).toISOString() }),
    );
    await eventually(async () => expect(await tm.metric('telematics_walk_ups_total', { outcome: 'stale' })).toBe(stale + 1));
    expect(await rentalsOf(listed!.key)).toEqual([]);
    expect((await carRow(vins[0]!)).state).toBe('available');
  });

  it("the car's unlock report and its trip record racing each other: one rental, one bill", async () => {
    const members = await bench.createMembers(3);
    const uids = members.map((_, i) => card(`AD${i}C00`));
    for (const [i, member] of members.entries()) expect((await bench.api('POST', '/api/v1/cards', member.key, { uid: uids[i] })).status).toBe(201);
    await eventually(() => members.forEach((member, i) => onEveryCar(member.id, [uids[i]!])), 5_000);
    // Unlocked and locked at once on each car: the report and the record reach the service together.
    const trips = members.map((_, i) => {
      const car = fleet.car(vins[i]!);
      expect(car.localUnlock({ cardUid: uids[i]! })).toBe(true);
      return car.endTrip()!;
    });
    for (const [i, trip] of trips.entries()) {
      await eventually(async () => expect(await ledger(`trip:${trip.tripId}`)).toHaveLength(1), 10_000);
      expect(await rentalsOf(members[i]!.key)).toMatchObject([{ status: 'ended' }]);
      expect((await carRow(vins[i]!)).state).toBe('available');
    }
  });
});
