import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { verifyAppKey } from '@evshare/kit';
import { expectProblem, startRentalBench, type RentalBench } from './support';

interface IssuedKey {
  key: string;
  vehicleId: string;
  vin: string;
  hold: 'rental' | 'reservation' | 'walk-up';
  validFrom: string;
  validUntil: string;
}

/**
 * The platform issues members' offline app keys (docs/vehicles.md, "App keys"): for the car they
 * rent or reserve, or as a walk-up for a free car when eligible; the key verifies with the
 * platform's public key, for that car and member only. Real PostgreSQL, Redis, NATS.
 */
describe('app keys issued by the platform', () => {
  let bench: RentalBench;
  let station: { id: string };
  const platformKey = generateKeyPairSync('ed25519');
  const issue = (key: string, vehicleId: string) => bench.api('POST', `/api/v1/vehicles/${vehicleId}/app-key`, key);
  /** What the car would check, offline, now. */
  const carChecks = (issued: IssuedKey, vin = issued.vin) => verifyAppKey(platformKey.publicKey, issued.key, { vin, nowMs: Date.now() });

  beforeAll(async () => {
    bench = await startRentalBench({
      appInstances: 1,
      env: { APP_KEY_PRIVATE_KEY: platformKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    station = await bench.createStation();
    await bench.createPlan();
  });
  afterAll(async () => {
    await bench?.stop();
  });

  it('a walk-up: an eligible member gets a short key for a free car, for that car and member only', async () => {
    const [member] = await bench.createMembers(1);
    const car = await bench.createVehicle(station.id);
    const reply = await issue(member!.key, car.id);
    expect(reply.status).toBe(201);
    const issued = reply.json<IssuedKey>();
    expect(issued).toMatchObject({ vehicleId: car.id, vin: car.vin, hold: 'walk-up' });
    const window = (Date.parse(issued.validUntil) - Date.parse(issued.validFrom)) / 1000;
    expect(window).toBeGreaterThanOrEqual(600);
    expect(window).toBeLessThanOrEqual(662);
    const checked = carChecks(issued);
    expect(checked).toMatchObject({ ok: true, claims: { vin: car.vin, mid: member!.id } });
    const other = await bench.createVehicle(station.id);
    expect(carChecks(issued, other.vin)).toEqual({ ok: false, reason: 'other-car' });
    // Each key is new (its nonce): two keys for the same car differ.
    expect((await issue(member!.key, car.id)).json<IssuedKey>().key).not.toBe(issued.key);
  });

  it("a reservation's key lasts until the hold runs out; a rental's for the rental; nobody else gets one for a held car", async () => {
    const [member, other] = await bench.createMembers(2);
    const car = await bench.createVehicle(station.id);
    const reserved = await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id });
    expect(reserved.status).toBe(201);
    const expiresAt = Date.parse(reserved.json<{ expiresAt: string }>().expiresAt);
    const forReservation = (await issue(member!.key, car.id)).json<IssuedKey>();
    expect(forReservation.hold).toBe('reservation');
    expect(Math.abs(Date.parse(forReservation.validUntil) - expiresAt)).toBeLessThan(1_000);
    expect(carChecks(forReservation)).toMatchObject({ ok: true });
    const taken = await issue(other!.key, car.id);
    expectProblem(taken, 409, 'vehicle-unavailable');
    expect(taken.json()).toMatchObject({ state: 'reserved' });
    // Holding this car, the member gets no walk-up key for another.
    const free = await bench.createVehicle(station.id);
    expectProblem(await issue(member!.key, free.id), 409, 'member-busy');

    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { reservationId: reserved.json<{ id: string }>().id });
    expect(rented.status).toBe(201);
    const forRental = (await issue(member!.key, car.id)).json<IssuedKey>();
    expect(forRental.hold).toBe('rental');
    expect((Date.parse(forRental.validUntil) - Date.parse(forRental.validFrom)) / 1000).toBeGreaterThan(4 * 3600);
    expectProblem(await issue(other!.key, car.id), 409, 'vehicle-unavailable');
  });

  it('refused when the member may not rent, and bad input is a precise problem that issues nothing', async () => {
    const [pending] = await bench.createMembers(1, { licence: 'pending' });
    const [indebted] = await bench.createMembers(1, { balanceFen: -100 });
    const car = await bench.createVehicle(station.id);
    expectProblem(await issue(pending!.key, car.id), 403, 'licence-not-approved');
    expectProblem(await issue(indebted!.key, car.id), 403, 'negative-balance');
    expectProblem(await issue(pending!.key, randomUUID()), 404, 'not-found');
    expectProblem(await issue(pending!.key, 'not-a-car'), 400, 'validation', 'path.id');
    expectProblem(await bench.api('POST', `/api/v1/vehicles/${car.id}/app-key`, undefined), 401, 'unauthenticated');
  });
});
