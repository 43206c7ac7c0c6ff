import { randomUUID } from 'node:crypto';
import type { Reply } from '../support/http';
import { expectProblem, newVin, startRentalBench, type RentalBench } from './support';

describe('who may do what, and bad input', () => {
  let bench: RentalBench;
  let station: { id: string };
  let owner: { id: string; key: string };
  let other: { id: string; key: string };
  let reservationId: string;
  let rentalId: string;
  let reservedCar: { id: string };
  let rentalOwner: { id: string; key: string };
  let beforeAnyPlan: Reply;

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 2 });
    station = await bench.createStation();
    [owner, other] = (await bench.createMembers(2)) as [typeof owner, typeof other];
    reservedCar = await bench.createVehicle(station.id);
    beforeAnyPlan = await bench.api('POST', '/api/v1/reservations', owner.key, { vehicleId: reservedCar.id });
    await bench.createPlan();
    reservationId = (await bench.api('POST', '/api/v1/reservations', owner.key, { vehicleId: reservedCar.id })).json<{ id: string }>().id;
    // One hold per member: the rental belongs to a third member.
    const [renter] = await bench.createMembers(1);
    const car = await bench.createVehicle(station.id);
    rentalId = (await bench.api('POST', '/api/v1/rentals', renter!.key, { vehicleId: car.id })).json<{ id: string }>().id;
    rentalOwner = renter!;
    expect((await bench.api('POST', '/api/v1/cards', owner.key, { uid: 'A1B2C3D4' })).status).toBe(201);
  });
  afterAll(() => bench?.stop());

  it('nothing can be reserved or rented while no pricing plan is in force', () => {
    expectProblem(beforeAnyPlan, 409, 'no-pricing-plan');
  });

  it.each([
    ['GET', () => `/api/v1/reservations/${reservationId}`, undefined],
    ['DELETE', () => `/api/v1/reservations/${reservationId}`, undefined],
    ['POST', () => '/api/v1/rentals', () => ({ reservationId })],
    ['GET', () => `/api/v1/rentals/${rentalId}`, undefined],
    ['GET', () => `/api/v1/rentals/${rentalId}/quote?stationId=${station.id}`, undefined],
    ['POST', () => `/api/v1/rentals/${rentalId}/return`, () => ({ stationId: station.id })],
    ['DELETE', () => '/api/v1/cards/A1B2C3D4', undefined],
  ])('another member gets 404 for %s %s', async (method, path, body) => {
    expectProblem(await bench.api(method, path(), other.key, body?.()), 404, 'not-found');
  });

  it('another member’s lists and current state show none of it, and it is all still in place', async () => {
    expect((await bench.api('GET', '/api/v1/reservations/current', other.key)).json()).toEqual({ reservation: null });
    expect((await bench.api('GET', '/api/v1/rentals', other.key)).json()).toEqual({ items: [] });
    expect((await bench.api('GET', '/api/v1/cards', other.key)).json()).toEqual({ items: [] });
    expect((await bench.api('GET', `/api/v1/reservations/${reservationId}`, owner.key)).json()).toMatchObject({ status: 'active' });
    expect((await bench.api('GET', `/api/v1/rentals/${rentalId}`, rentalOwner.key)).json()).toMatchObject({ status: 'active' });
    expect((await bench.api('GET', '/api/v1/cards', owner.key)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it.each([
    ['POST', '/api/v1/admin/stations'],
    ['PATCH', `/api/v1/admin/stations/${randomUUID()}`],
    ['GET', '/api/v1/admin/vehicles'],
    ['GET', `/api/v1/admin/vehicles/${randomUUID()}`],
    ['POST', '/api/v1/admin/vehicles'],
    ['PATCH', `/api/v1/admin/vehicles/${randomUUID()}`],
    ['POST', `/api/v1/admin/vehicles/${randomUUID()}/state`],
    ['GET', '/api/v1/admin/pricing-plans'],
    ['POST', '/api/v1/admin/pricing-plans'],
    ['PATCH', `/api/v1/admin/pricing-plans/${randomUUID()}`],
    ['GET', '/api/v1/admin/reservations'],
    ['GET', '/api/v1/admin/rentals'],
  ])('a member gets 403 for %s %s', async (method, path) => {
    expectProblem(await bench.api(method, path, owner.key, method === 'GET' ? undefined : {}), 403, 'forbidden');
  });

  it.each([
    ['GET', '/api/v1/stations'],
    ['GET', '/api/v1/pricing-plans/current'],
    ['POST', '/api/v1/reservations'],
    ['GET', '/api/v1/reservations/current'],
    ['POST', '/api/v1/rentals'],
    ['GET', '/api/v1/rentals'],
    ['GET', '/api/v1/cards'],
    ['POST', '/api/v1/cards'],
  ])('no session: 401 for %s %s', async (method, path) => {
    expectProblem(await bench.api(method, path, undefined, method === 'POST' ? {} : undefined), 401);
  });

  const id = randomUUID();
  it.each<[string, string, unknown, number, string | undefined]>([
    ['GET', '/api/v1/stations/42', undefined, 400, 'path.id'],
    ['GET', `/api/v1/stations/${id}`, undefined, 404, undefined],
    ['GET', '/api/v1/stations/42/vehicles', undefined, 400, 'path.id'],
    ['GET', `/api/v1/stations/${id}/vehicles`, undefined, 404, undefined],
    ['POST', '/api/v1/reservations', {}, 400, 'body.vehicleId'],
    ['POST', '/api/v1/reservations', { vehicleId: 'car-1' }, 400, 'body.vehicleId'],
    ['POST', '/api/v1/reservations', { vehicleId: id, until: 'forever' }, 400, 'body'],
    ['GET', '/api/v1/reservations/42', undefined, 400, 'path.id'],
    ['DELETE', '/api/v1/reservations/42', undefined, 400, 'path.id'],
    ['POST', '/api/v1/rentals', {}, 400, 'body.vehicleId'],
    ['POST', '/api/v1/rentals', { vehicleId: id, reservationId: id }, 400, 'body.vehicleId'],
    ['POST', '/api/v1/rentals', { reservationId: 'r1' }, 400, 'body.reservationId'],
    ['GET', '/api/v1/rentals?limit=0', undefined, 400, 'query.limit'],
    ['GET', '/api/v1/rentals?limit=many', undefined, 400, 'query.limit'],
    ['GET', '/api/v1/rentals?before=yesterday', undefined, 400, 'query.before'],
    ['GET', '/api/v1/rentals?page=2', undefined, 400, 'query'],
    ['GET', '/api/v1/rentals/42', undefined, 400, 'path.id'],
    ['GET', `/api/v1/rentals/${id}/quote`, undefined, 400, 'query.stationId'],
    ['GET', `/api/v1/rentals/${id}/quote?stationId=here`, undefined, 400, 'query.stationId'],
    ['POST', `/api/v1/rentals/${id}/return`, {}, 400, 'body.stationId'],
    ['POST', '/api/v1/rentals/42/return', { stationId: id }, 400, 'path.id'],
    ['POST', '/api/v1/cards', { uid: 'not hex!' }, 400, 'body.uid'],
    ['POST', '/api/v1/cards', { uid: '0102030405' }, 400, 'body.uid'],
    ['POST', '/api/v1/cards', { uid: 12345678 }, 400, 'body.uid'],
    ['DELETE', '/api/v1/cards/zz', undefined, 400, 'path.uid'],
  ])('member %s %s %j → %i %s', async (method, path, body, status, field) => {
    const [member] = await bench.createMembers(1);
    expectProblem(await bench.api(method, path, member!.key, body), status, undefined, field);
  });

  it('a car or reservation that does not exist is a 404', async () => {
    const [member] = await bench.createMembers(1);
    expectProblem(await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: id }), 404);
    expectProblem(await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: id }), 404);
    expectProblem(await bench.api('POST', '/api/v1/rentals', member!.key, { reservationId: id }), 404);
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rentalId}/return`, rentalOwner.key, { stationId: id }), 404);
  });

  const station$ = { name: 'S', lat: 31, lng: 121, geofenceRadiusM: 100, capacity: 5, returnPolicy: 'open' };
  const plan$ = { name: 'P', perMinuteFen: 10, perKmFen: 10, validFrom: '2030-01-01T00:00:00Z' };
  it.each<[string, string, unknown, string]>([
    ['POST', '/api/v1/admin/stations', { ...station$, lat: 91 }, 'body.lat'],
    ['POST', '/api/v1/admin/stations', { ...station$, returnPolicy: 'anywhere' }, 'body.returnPolicy'],
    ['POST', '/api/v1/admin/stations', { ...station$, capacity: -1 }, 'body.capacity'],
    ['POST', '/api/v1/admin/stations', { ...station$, geofenceRadiusM: 1.5 }, 'body.geofenceRadiusM'],
    ['POST', '/api/v1/admin/stations', { ...station$, name: '' }, 'body.name'],
    ['PATCH', `/api/v1/admin/stations/${id}`, {}, 'body'],
    ['PATCH', '/api/v1/admin/stations/42', { name: 'x' }, 'path.id'],
    ['POST', '/api/v1/admin/vehicles', { vin: 'ABC', plate: 'AB1', model: 'M', batteryKwh: 40, ratedRangeKm: 300, homeStationId: id }, 'body.vin'],
    [
      'POST',
      '/api/v1/admin/vehicles',
      { vin: 'LEVSHAREI00000001', plate: 'AB1', model: 'M', batteryKwh: 40, ratedRangeKm: 300, homeStationId: id },
      'body.vin',
    ],
    ['POST', '/api/v1/admin/vehicles', { vin: newVin(), plate: 'AB1', model: 'M', batteryKwh: -1, ratedRangeKm: 300, homeStationId: id }, 'body.batteryKwh'],
    ['POST', '/api/v1/admin/vehicles', { vin: newVin(), plate: 'AB1', model: 'M', batteryKwh: 40, ratedRangeKm: 300, homeStationId: id }, 'body.homeStationId'],
    [
      'POST',
      '/api/v1/admin/vehicles',
      { vin: newVin(), plate: 'AB1', model: 'M', batteryKwh: 40, ratedRangeKm: 300, homeStationId: id, state: 'in_use' },
      'body.state',
    ],
    ['POST', `/api/v1/admin/vehicles/${id}/state`, { state: 'in_use' }, 'body.state'],
    ['GET', '/api/v1/admin/vehicles?state=parked', undefined, 'query.state'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, perMinuteFen: 1.5 }, 'body.perMinuteFen'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, perKmFen: -1 }, 'body.perKmFen'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, minimumFen: '500' }, 'body.minimumFen'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, dailyCapFen: 1e20 }, 'body.dailyCapFen'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, validFrom: 'tomorrow' }, 'body.validFrom'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, validTo: '2029-12-31T00:00:00Z' }, 'body.validTo'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, holdMinutes: 0 }, 'body.holdMinutes'],
    ['POST', '/api/v1/admin/pricing-plans', { ...plan$, perMinuteFen: undefined }, 'body.perMinuteFen'],
    ['GET', '/api/v1/admin/rentals?status=lost', undefined, 'query.status'],
    ['GET', '/api/v1/admin/reservations?memberId=me', undefined, 'query.memberId'],
  ])('admin %s %s %j → 400 naming %s', async (method, path, body, field) => {
    expectProblem(await bench.admin(method, path, body), 400, 'validation', field);
  });

  it('operators: duplicate VIN 409, out of service and back, illegal transitions refused with the allowed ones, prices immutable', async () => {
    const car = await bench.createVehicle(station.id);
    const vin = (await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json<{ vin: string }>().vin;
    expectProblem(
      await bench.admin('POST', '/api/v1/admin/vehicles', { vin, plate: 'XX999', model: 'M', batteryKwh: 40, ratedRangeKm: 300, homeStationId: station.id }),
      409,
      'vehicle-exists',
    );

    expect((await bench.admin('POST', `/api/v1/admin/vehicles/${car.id}/state`, { state: 'maintenance' })).json()).toMatchObject({ state: 'maintenance' });
    const [member] = await bench.createMembers(1);
    expectProblem(await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id }), 409, 'vehicle-unavailable');
    const illegal = await bench.admin('POST', `/api/v1/admin/vehicles/${car.id}/state`, { state: 'maintenance' });
    expectProblem(illegal, 409, 'illegal-transition');
    expect(illegal.json()).toMatchObject({ state: 'maintenance', allowed: ['available', 'offline'] });
    expect((await bench.admin('POST', `/api/v1/admin/vehicles/${car.id}/state`, { state: 'available' })).json()).toMatchObject({ state: 'available' });
    expectProblem(await bench.admin('POST', `/api/v1/admin/vehicles/${reservedCar.id}/state`, { state: 'maintenance' }), 409, 'vehicle-busy');

    const edited = await bench.admin('PATCH', `/api/v1/admin/stations/${station.id}`, { capacity: 7, returnPolicy: 'round-trip' });
    expect(edited.json()).toMatchObject({ capacity: 7, returnPolicy: 'round-trip' });
    const plan = (await bench.admin('GET', '/api/v1/admin/pricing-plans')).json<{ items: Array<{ id: string; validFrom: string }> }>().items[0]!;
    expectProblem(await bench.admin('PATCH', `/api/v1/admin/pricing-plans/${plan.id}`, { perMinuteFen: 1 }), 400, 'validation', 'body');
    expectProblem(await bench.admin('PATCH', `/api/v1/admin/pricing-plans/${plan.id}`, { validTo: '2019-01-01T00:00:00Z' }), 400, 'validation', 'body.validTo');
    expect((await bench.api('GET', '/api/v1/pricing-plans/current', member!.key)).json()).toMatchObject({ id: plan.id });
    expect(
      (await bench.admin('GET', `/api/v1/admin/reservations?status=active&memberId=${owner.id}`))
        .json<{ items: Array<{ id: string }> }>()
        .items.map((r) => r.id),
    ).toEqual([reservationId]);
    expect((await bench.admin('GET', '/api/v1/admin/rentals?status=active')).json<{ items: Array<{ id: string }> }>().items.map((r) => r.id)).toEqual([
      rentalId,
    ]);
  });

  it("operators see the vehicle link's state; members see charge and range, not positions", async () => {
    // A station of its own: the counts other tests check stay as they are.
    const lot = await bench.createStation();
    const car = await bench.createVehicle(lot.id);
    const fresh = (await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json();
    expect(fresh).toMatchObject({ online: false, lastSeenAt: null, speedKmh: null, ignition: null, cableConnected: null, doorsOpen: false });

    // What the telematics service writes when the car reports.
    const seen = new Date(Date.now() - 5_000);
    await bench.db.query(
      `UPDATE vehicles SET online = true, last_seen_at = $2, speed_kmh = 12.5, ignition = true, cable_connected = false, doors_open = true, lat = 31.23, lng = 121.47, soc_pct = 80 WHERE id = $1`,
      [car.id, seen],
    );
    const link = { online: true, lastSeenAt: seen.toISOString(), speedKmh: 12.5, ignition: true, cableConnected: false, doorsOpen: true };
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ id: car.id, lat: 31.23, lng: 121.47, ...link });
    const listed = (await bench.admin('GET', `/api/v1/admin/vehicles?stationId=${lot.id}`)).json<{ items: Array<{ id: string }> }>().items;
    expect(listed.find((v) => v.id === car.id)).toMatchObject(link);

    const members = (await bench.api('GET', `/api/v1/stations/${lot.id}/vehicles`, other.key)).json<{ items: Array<Record<string, unknown>> }>().items;
    const seenByMember = members.find((v) => v.id === car.id)!;
    expect(Object.keys(seenByMember).sort()).toEqual(['estimatedRangeKm', 'id', 'model', 'plate', 'socPct', 'state', 'stationId', 'vin']);
    expect(seenByMember).toMatchObject({ socPct: 80, estimatedRangeKm: 320 });
  });

  it('stations list counts available cars and free parking', async () => {
    const [member] = await bench.createMembers(1);
    const listed = (await bench.api('GET', '/api/v1/stations', member!.key)).json<{
      items: Array<{ id: string; availableCars: number; freeParking: number; capacity: number }>;
    }>();
    const mine = listed.items.find((s) => s.id === station.id)!;
    const { rows } = await bench.db.query(
      `SELECT count(*) FILTER (WHERE state = 'available')::int AS available, count(*)::int AS parked FROM vehicles WHERE station_id = $1`,
      [station.id],
    );
    expect(mine.availableCars).toBe(rows[0].available);
    expect(mine.freeParking).toBe(Math.max(0, mine.capacity - rows[0].parked));
    const cars = (await bench.api('GET', `/api/v1/stations/${station.id}/vehicles`, member!.key)).json<{
      items: Array<{ state: string; estimatedRangeKm: number }>;
    }>();
    expect(cars.items).toHaveLength(rows[0].available);
    expect(cars.items.every((c) => c.state === 'available' && c.estimatedRangeKm === 400)).toBe(true);
  });
});
