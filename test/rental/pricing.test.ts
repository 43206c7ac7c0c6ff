import fc from 'fast-check';
import { checkProperty } from '../support/fuzz';
import { expectProblem, startRentalBench, type RentalBench } from './support';

const FAST = { UNLOCK_ACK_TIMEOUT_MS: '1500', UNLOCK_RESEND_MS: '400', RENTAL_SWEEP_INTERVAL_MS: '200' };

/** The local hour in Shanghai now (UTC+8, no daylight saving). */
const shanghaiHour = () => (new Date().getUTCHours() + 8) % 24;

interface Plan {
  id: string;
  perMinuteFen: number;
}
interface Price {
  planId: string;
  minutes: number;
  timeFen: number;
  totalFen: number;
  bands: Array<{ perMinuteFen: number; minutes: number }>;
}

/**
 * Several pricing plans (issue 12): a plan per car model and/or per station, the most specific
 * one in force at the rental's start pricing it, with time-of-day bands; the fleet's minimum
 * balance and minimum charge to rent, changed by operators.
 */
describe('rental: plans per model and station, time bands, minimums', () => {
  let bench: RentalBench;
  let stationA: { id: string; lat: number; lng: number };
  let stationB: { id: string; lat: number; lng: number };
  let fleet: Plan;
  let atStationA: Plan;
  let luxury: Plan;
  let luxuryAtB: Plan;

  // Only time is charged (a minimum of 0, nothing per km), so a trip of a few seconds costs one minute's rate.
  const plan = async (body: Record<string, unknown>) => (await bench.createPlan({ minimumFen: 0, perKmFen: 0, depositFen: 0, ...body })) as Plan;

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 2, env: FAST });
    stationA = await bench.createStation({ name: 'Plan station A', lat: 31.2, lng: 121.4 });
    stationB = await bench.createStation({ name: 'Plan station B', lat: 31.3, lng: 121.5 });
    const hour = shanghaiHour();
    fleet = await plan({ name: 'Fleet', perMinuteFen: 50 });
    atStationA = await plan({ name: 'Station A', perMinuteFen: 60, stationId: stationA.id });
    // The band covers this hour and the next, so a trip now is inside it.
    luxury = await plan({
      name: 'Luxury',
      perMinuteFen: 80,
      vehicleModel: 'Luxury EV',
      timeZone: 'Asia/Shanghai',
      timeBands: [{ fromHour: hour, toHour: (hour + 2) % 24, perMinuteFen: 120 }],
    });
    luxuryAtB = await plan({ name: 'Luxury at B', perMinuteFen: 200, vehicleModel: 'Luxury EV', stationId: stationB.id });
  }, 60_000);
  afterAll(() => bench?.stop());

  /** Rents the car walk-up and returns it where it stands: the rental's plan and price. */
  const tripIn = async (car: { id: string }, stationId: string) => {
    const [member] = await bench.createMembers(1);
    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expect(rented.status).toBe(201);
    const rental = rented.json<{ id: string; planId: string }>();
    const returned = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member!.key, { stationId });
    expect(returned.status).toBe(200);
    return { planId: rental.planId, price: returned.json<{ price: Price }>().price };
  };

  it('the most specific plan in force prices the rental: model and station > model > station > fleet', async () => {
    const cases: Array<[string, { id: string; lat: number; lng: number }, string, Plan, number]> = [
      ['an ordinary car at station A: the station plan', stationA, 'Bench EV', atStationA, 60],
      ['a luxury car at station A: the model plan, in its time band', stationA, 'Luxury EV', luxury, 120],
      ['a luxury car at station B: the plan for the model at B', stationB, 'Luxury EV', luxuryAtB, 200],
      ['an ordinary car at station B: the fleet plan', stationB, 'Bench EV', fleet, 50],
    ];
    for (const [name, station, model, expected, rate] of cases) {
      const car = await bench.createVehicle(station.id, { model });
      const applicable = await bench.admin('GET', `/api/v1/admin/pricing-plans/applicable?model=${encodeURIComponent(model)}&stationId=${station.id}`);
      expect([name, applicable.json<{ plan: Plan }>().plan.id]).toEqual([name, expected.id]);
      const [member] = await bench.createMembers(1);
      expect([name, (await bench.api('GET', `/api/v1/pricing-plans/current?vehicleId=${car.id}`, member!.key)).json<Plan>().id]).toEqual([name, expected.id]);
      const { planId, price } = await tripIn(car, station.id);
      expect([name, planId, price]).toEqual([
        name,
        expected.id,
        expect.objectContaining({ planId: expected.id, minutes: 1, timeFen: rate, totalFen: rate, bands: [{ perMinuteFen: rate, minutes: 1 }] }),
      ]);
    }
    expect((await bench.admin('GET', '/api/v1/admin/pricing-plans/applicable')).json()).toMatchObject({ plan: { id: fleet.id }, scope: 'fleet' });
    expect((await bench.admin('GET', '/api/v1/admin/pricing-plans/applicable?model=Luxury%20EV')).json()).toMatchObject({
      plan: { id: luxury.id, timeZone: 'Asia/Shanghai', timeBands: [{ perMinuteFen: 120 }] },
      scope: 'model',
    });
    expect((await bench.admin('GET', '/api/v1/admin/pricing-plans/applicable?at=2019-01-01T00:00:00Z')).json()).toEqual({ plan: null, scope: null });
  }, 60_000);

  it('a plan published after the start does not change the rental’s price; the next rental takes it', async () => {
    const station = await bench.createStation({ name: 'Plan station C', lat: 31.25, lng: 121.45 });
    const car = await bench.createVehicle(station.id);
    const [member] = await bench.createMembers(1);
    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expect(rented.json()).toMatchObject({ planId: fleet.id });
    const rental = rented.json<{ id: string }>();
    const later = await plan({ name: 'Station C from now', perMinuteFen: 999, stationId: station.id, validFrom: new Date().toISOString() });
    const quote = await bench.api('GET', `/api/v1/rentals/${rental.id}/quote?stationId=${station.id}`, member!.key);
    expect(quote.json()).toMatchObject({ price: { planId: fleet.id, timeFen: 50 } });
    const returned = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member!.key, { stationId: station.id });
    expect(returned.json()).toMatchObject({ planId: fleet.id, totalFen: 50, price: { planId: fleet.id } });
    expect(await tripIn(car, station.id)).toMatchObject({ planId: later.id, price: { totalFen: 999 } });
  }, 60_000);

  it('the rental is priced by the plan at its start, not the one its reservation was made under', async () => {
    const station = await bench.createStation({ name: 'Plan station D', lat: 31.26, lng: 121.46 });
    const car = await bench.createVehicle(station.id);
    const [member] = await bench.createMembers(1);
    const reservation = (await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).json<{ id: string; planId: string }>();
    expect(reservation.planId).toBe(fleet.id);
    const atD = await plan({ name: 'Station D from now', perMinuteFen: 70, stationId: station.id, validFrom: new Date().toISOString() });
    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { reservationId: reservation.id });
    expect(rented.json()).toMatchObject({ planId: atD.id });
  }, 60_000);

  it('minimum balance: below it, reserving and renting are refused with what to do; at it, allowed', async () => {
    const settings = await bench.admin('GET', '/api/v1/admin/rental-settings');
    expect(settings.json()).toMatchObject({ minBalanceFen: 0, minSocPct: 20 });
    const changed = await bench.admin('PATCH', '/api/v1/admin/rental-settings', { minBalanceFen: 5_000 });
    expect(changed.json()).toMatchObject({ minBalanceFen: 5_000, minSocPct: 20, updatedBy: expect.any(String) });
    try {
      const car = await bench.createVehicle(stationB.id);
      const [poor] = await bench.createMembers(1, { balanceFen: 4_999 });
      for (const path of ['/api/v1/reservations', '/api/v1/rentals']) {
        const reply = await bench.api('POST', path, poor!.key, { vehicleId: car.id });
        expectProblem(reply, 403, 'balance-below-minimum');
        expect(reply.json()).toMatchObject({ reason: 'balance-below-minimum', detail: expect.stringMatching(/¥50\.00.*top up/) });
      }
      expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'available' });
      const [enough] = await bench.createMembers(1, { balanceFen: 5_000 });
      expect((await bench.api('POST', '/api/v1/reservations', enough!.key, { vehicleId: car.id })).status).toBe(201);
    } finally {
      await bench.admin('PATCH', '/api/v1/admin/rental-settings', { minBalanceFen: 0 });
    }
  }, 60_000);

  it('minimum charge: a car below it is not offered and cannot be reserved or rented; at it, it is', async () => {
    const station = await bench.createStation({ name: 'Low charge', lat: 31.27, lng: 121.47 });
    const low = await bench.createVehicle(station.id, { socPct: 19.5 });
    const enough = await bench.createVehicle(station.id, { socPct: 20 });
    const [member] = await bench.createMembers(1);
    const offered = async () => (await bench.api('GET', `/api/v1/stations/${station.id}/vehicles`, member!.key)).json<{ items: Array<{ id: string }> }>().items;
    expect((await offered()).map((v) => v.id)).toEqual([enough.id]);
    expect((await bench.api('GET', `/api/v1/stations/${station.id}`, member!.key)).json()).toMatchObject({ availableCars: 1 });
    for (const path of ['/api/v1/reservations', '/api/v1/rentals']) {
      const reply = await bench.api('POST', path, member!.key, { vehicleId: low.id });
      expectProblem(reply, 409, 'vehicle-low-charge');
      expect(reply.json()).toMatchObject({ socPct: 19.5, minSocPct: 20 });
    }
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${low.id}`)).json()).toMatchObject({ state: 'available' });
    // The operator lowers the minimum: the car is offered again.
    await bench.admin('PATCH', '/api/v1/admin/rental-settings', { minSocPct: 15 });
    try {
      expect((await offered()).map((v) => v.id).sort()).toEqual([low.id, enough.id].sort());
      expect((await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: low.id })).status).toBe(201);
    } finally {
      await bench.admin('PATCH', '/api/v1/admin/rental-settings', { minSocPct: 20 });
    }
  }, 60_000);

  it('plans with a scope: an unknown station, overlapping bands or an unknown zone are 400 naming the field, nothing published', async () => {
    const count = async () => (await bench.admin('GET', '/api/v1/admin/pricing-plans')).json<{ items: unknown[] }>().items.length;
    const before = await count();
    const base = { name: 'Bad', perMinuteFen: 1, perKmFen: 1, validFrom: '2020-01-01T00:00:00Z' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ stationId: '00000000-0000-4000-8000-000000000000' }, 'body.stationId'],
      [{ stationId: 'nope' }, 'body.stationId'],
      [{ vehicleModel: '' }, 'body.vehicleModel'],
      [{ timeZone: 'Mars/Olympus' }, 'body.timeZone'],
      [
        {
          timeBands: [
            { fromHour: 22, toHour: 6, perMinuteFen: 1 },
            { fromHour: 5, toHour: 7, perMinuteFen: 2 },
          ],
        },
        'body.timeBands.1.fromHour',
      ],
      [{ timeBands: [{ fromHour: 24, toHour: 1, perMinuteFen: 1 }] }, 'body.timeBands.0.fromHour'],
      [{ timeBands: [{ fromHour: 3, toHour: 3, perMinuteFen: 1 }] }, 'body.timeBands.0.toHour'],
      [{ timeBands: [{ fromHour: 3, toHour: 4, perMinuteFen: -1 }] }, 'body.timeBands.0.perMinuteFen'],
      [{ timeBands: [{ fromHour: 3, toHour: 4, perMinuteFen: 1, extra: 1 }] }, 'body.timeBands.0'],
    ];
    for (const [change, field] of cases)
      expectProblem(await bench.admin('POST', '/api/v1/admin/pricing-plans', { ...base, ...change }), 400, 'validation', field);
    expect(await count()).toBe(before);
  });

  it('hostile input on the new endpoints: a 4xx naming the field, never a 5xx, nothing changed', async () => {
    const [member] = await bench.createMembers(1);
    const settingsBefore = (await bench.admin('GET', '/api/v1/admin/rental-settings')).json<{ updatedAt: string }>();
    const plansBefore = (await bench.admin('GET', '/api/v1/admin/pricing-plans')).json<{ items: unknown[] }>().items.length;
    const hostileValue = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.constantFrom(null, true, -1, 101, 1e300, '', '20', [], {}));
    const isProblem400 = (reply: { status: number; headers: Record<string, unknown>; json<T>(): T }, prefix: string) => {
      if (reply.status !== 400 || !/problem\+json/.test(String(reply.headers['content-type']))) return false;
      const problem = reply.json<{ type: string; 'invalid-params'?: Array<{ name: string }> }>();
      if (problem.type === 'urn:evshare:problem:malformed-json') return true;
      const names = (problem['invalid-params'] ?? []).map((p) => p.name);
      return names.length > 0 && names.every((n) => n.startsWith(prefix));
    };
    await checkProperty(
      'rental settings bodies',
      100,
      fc
        .record({ minBalanceFen: hostileValue, minSocPct: hostileValue }, { requiredKeys: [] })
        .filter(
          (b) =>
            !(
              (b.minBalanceFen === undefined ||
                (Number.isInteger(b.minBalanceFen) && (b.minBalanceFen as number) >= 0 && (b.minBalanceFen as number) <= 1e10)) &&
              (b.minSocPct === undefined || (typeof b.minSocPct === 'number' && b.minSocPct >= 0 && b.minSocPct <= 100)) &&
              Object.keys(b).length > 0
            ),
        ),
      async (body) => isProblem400(await bench.admin('PATCH', '/api/v1/admin/rental-settings', body), 'body'),
    );
    await checkProperty(
      'plan bands',
      100,
      fc
        .array(fc.record({ fromHour: hostileValue, toHour: hostileValue, perMinuteFen: hostileValue }), { minLength: 1, maxLength: 3 })
        .filter((bands) =>
          bands.some((b) => !Number.isInteger(b.fromHour) || !Number.isInteger(b.toHour) || !Number.isInteger(b.perMinuteFen) || (b.fromHour as number) < 0),
        ),
      async (timeBands) =>
        isProblem400(
          await bench.admin('POST', '/api/v1/admin/pricing-plans', {
            name: 'Fuzz',
            perMinuteFen: 1,
            perKmFen: 1,
            validFrom: '2020-01-01T00:00:00Z',
            timeBands,
          }),
          'body.timeBands',
        ),
    );
    await checkProperty(
      'applicable plan and current plan queries',
      100,
      fc.record({ stationId: fc.string({ minLength: 1, maxLength: 12 }), at: fc.string({ minLength: 1, maxLength: 12 }) }),
      async ({ stationId, at }) => {
        const admin = await bench.admin(
          'GET',
          `/api/v1/admin/pricing-plans/applicable?stationId=${encodeURIComponent(stationId)}&at=${encodeURIComponent(at)}`,
        );
        const current = await bench.api('GET', `/api/v1/pricing-plans/current?vehicleId=${encodeURIComponent(stationId)}`, member!.key);
        return isProblem400(admin, 'query') && isProblem400(current, 'query.vehicleId');
      },
    );
    expect((await bench.admin('GET', '/api/v1/admin/rental-settings')).json<{ updatedAt: string }>().updatedAt).toBe(settingsBefore.updatedAt);
    expect((await bench.admin('GET', '/api/v1/admin/pricing-plans')).json<{ items: unknown[] }>().items).toHaveLength(plansBefore);
    // A member cannot change the minimums or see the operators' plan tools.
    expectProblem(await bench.api('PATCH', '/api/v1/admin/rental-settings', member!.key, { minSocPct: 0 }), 403);
    expectProblem(await bench.api('GET', '/api/v1/admin/pricing-plans/applicable', member!.key), 403);
    expectProblem(await bench.api('GET', `/api/v1/pricing-plans/current?vehicleId=00000000-0000-4000-8000-000000000000`, member!.key), 404);
  }, 120_000);
});
