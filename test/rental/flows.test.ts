import { eventually } from '../support/http';
import { expectProblem, startRentalBench, type RentalBench } from './support';

// A short unlock wait and a quick sweep keep this file fast.
const FAST = { UNLOCK_ACK_TIMEOUT_MS: '1500', UNLOCK_RESEND_MS: '400', RENTAL_SWEEP_INTERVAL_MS: '200' };

describe('reserve, rent and return', () => {
  let bench: RentalBench;
  let home: { id: string; lat: number; lng: number };

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 3, env: FAST });
    await bench.createPlan();
    home = await bench.createStation({ name: 'Home (round trip)', returnPolicy: 'round-trip', lat: 31.23, lng: 121.47 });
  });
  afterAll(() => bench?.stop());

  it('walk-up rental and same-station return: the fee is computed and one deduction published', async () => {
    const deductions = await bench.deductions();
    const car = await bench.createVehicle(home.id, { odometerM: 1_000_000 });
    const [member] = await bench.createMembers(1);
    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expect(rented.status).toBe(201);
    const rental = rented.json<{ id: string; status: string; unlockCommandId: string }>();
    expect(rental.status).toBe('active');
    expect(bench.commands.some((c) => c.commandId === rental.unlockCommandId && c.vin === car.vin && c.action === 'unlock')).toBe(true);

    const sync = await bench.api('GET', '/api/v1/reservations/current', member!.key);
    expect(sync.json()).toEqual({ reservation: null });
    await bench.reportVehicle(car.id, { odometerM: 1_012_345, socPct: 80 });
    const returned = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member!.key, { stationId: home.id });
    expect(returned.status).toBe(200);
    const bill = returned.json<{ status: string; totalFen: number; price: Record<string, unknown>; endSocPct: number }>();
    // A minute or less of driving, 12.345 km at 100 fen/km (rounded half up) → 1 235 + 50 fen.
    expect(bill).toMatchObject({ status: 'ended', endSocPct: 80, price: { distanceM: 12_345, distanceFen: 1_235, oneWayFen: 0, minimumApplied: false } });
    expect(bill.totalFen).toBe((bill.price.timeFen as number) + 1_235);
    await eventually(() =>
      expect(deductions.messages.filter((m) => m.rentalId === rental.id)).toEqual([
        expect.objectContaining({ reference: `rental:${rental.id}:rental`, kind: 'rental', amountFen: bill.totalFen, memberId: member!.id }),
      ]),
    );
    await deductions.stop();

    const car$ = (await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json<{ state: string; stationId: string }>();
    expect(car$).toMatchObject({ state: 'available', stationId: home.id });
    expect((await bench.api('GET', `/api/v1/rentals/${rental.id}`, member!.key)).json()).toMatchObject({ id: rental.id, totalFen: bill.totalFen });
    expect((await bench.api('GET', '/api/v1/rentals', member!.key)).json<{ items: unknown[] }>().items).toHaveLength(1);
  });

  it('reserve, then rent from the reservation; the poll ETag moves on each change', async () => {
    const car = await bench.createVehicle(home.id);
    const [member] = await bench.createMembers(1);
    const etag = async () => (await bench.api('GET', '/api/v1/sync', member!.key)).headers.etag;
    const before = await etag();
    const reserved = await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id });
    expect(reserved.status).toBe(201);
    const reservation = reserved.json<{ id: string; expiresAt: string; createdAt: string; feeFen: number }>();
    expect(Date.parse(reservation.expiresAt) - Date.parse(reservation.createdAt)).toBe(15 * 60_000);
    expect(reservation.feeFen).toBe(300);
    const afterReserve = await etag();
    expect(afterReserve).not.toBe(before);
    expect((await bench.api('GET', '/api/v1/reservations/current', member!.key)).json()).toMatchObject({
      reservation: { id: reservation.id, status: 'active' },
    });
    expect(
      (await bench.api('GET', `/api/v1/stations/${home.id}/vehicles`, member!.key)).json<{ items: Array<{ id: string }> }>().items.map((v) => v.id),
    ).not.toContain(car.id);

    const rented = await bench.api('POST', '/api/v1/rentals', member!.key, { reservationId: reservation.id });
    expect(rented.status).toBe(201);
    expect(rented.json()).toMatchObject({ reservationId: reservation.id, status: 'active' });
    expect(await etag()).not.toBe(afterReserve);
    expect((await bench.api('GET', `/api/v1/reservations/${reservation.id}`, member!.key)).json()).toMatchObject({ status: 'converted' });
    // The same reservation cannot be used twice, and the member cannot hold a second car.
    expectProblem(await bench.api('POST', '/api/v1/rentals', member!.key, { reservationId: reservation.id }), 409, 'member-busy');
    const other = await bench.createVehicle(home.id);
    expectProblem(await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: other.id }), 409, 'member-busy');
  });

  it('cancelling a reservation in time is free and releases the car', async () => {
    const deductions = await bench.deductions();
    const car = await bench.createVehicle(home.id);
    const [member] = await bench.createMembers(1);
    const reservation = (await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).json<{ id: string }>();
    const cancelled = await bench.api('DELETE', `/api/v1/reservations/${reservation.id}`, member!.key);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'available' });
    expectProblem(await bench.api('DELETE', `/api/v1/reservations/${reservation.id}`, member!.key), 409, 'reservation-not-active');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(deductions.messages.filter((m) => m.reservationId === reservation.id)).toEqual([]);
    await deductions.stop();
  });

  it('a member lists their own reservations, newest first, a page at a time; bad paging is a problem naming the field', async () => {
    const [member, other] = await bench.createMembers(2);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const car = await bench.createVehicle(home.id);
      const reservation = (await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).json<{ id: string }>();
      ids.push(reservation.id);
      // The last one stays active; the earlier ones are cancelled, so a new one may be made.
      if (i < 2) expect((await bench.api('DELETE', `/api/v1/reservations/${reservation.id}`, member!.key)).status).toBe(200);
    }
    const othersCar = await bench.createVehicle(home.id);
    const others = (await bench.api('POST', '/api/v1/reservations', other!.key, { vehicleId: othersCar.id })).json<{ id: string }>();

    const all = await bench.api('GET', '/api/v1/reservations', member!.key);
    expect(all.status).toBe(200);
    const body = all.json<{ items: Array<{ id: string; status: string; memberId: string }>; next?: string }>();
    expect(body.items.map((r) => [r.id, r.status])).toEqual([
      [ids[2], 'active'],
      [ids[1], 'cancelled'],
      [ids[0], 'cancelled'],
    ]);
    expect(body.next).toBeUndefined();

    const first = (await bench.api('GET', '/api/v1/reservations?limit=2', member!.key)).json<{ items: Array<{ id: string }>; next: string }>();
    expect(first.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const second = (await bench.api('GET', `/api/v1/reservations?limit=2&before=${encodeURIComponent(first.next)}`, member!.key)).json<{
      items: Array<{ id: string }>;
      next?: string;
    }>();
    expect(second).toEqual({ items: [expect.objectContaining({ id: ids[0] })] });

    // Only one's own: the other member sees theirs alone, and another's reservation is absent by id.
    expect((await bench.api('GET', '/api/v1/reservations', other!.key)).json<{ items: Array<{ id: string }> }>().items.map((r) => r.id)).toEqual([others.id]);
    expectProblem(await bench.api('GET', `/api/v1/reservations/${others.id}`, member!.key), 404);
    expectProblem(await bench.api('GET', '/api/v1/reservations', undefined), 401);

    expectProblem(await bench.api('GET', '/api/v1/reservations?limit=0', member!.key), 400, 'validation', 'query.limit');
    expectProblem(await bench.api('GET', '/api/v1/reservations?limit=many', member!.key), 400, 'validation', 'query.limit');
    expectProblem(await bench.api('GET', '/api/v1/reservations?limit=101', member!.key), 400, 'validation', 'query.limit');
    expectProblem(await bench.api('GET', '/api/v1/reservations?before=yesterday', member!.key), 400, 'validation', 'query.before');
    expectProblem(await bench.api('GET', `/api/v1/reservations?memberId=${other!.id}`, member!.key), 400, 'validation');
  });

  it('reservation expiry releases the car and charges the fee exactly once, with three instances sweeping', async () => {
    const deductions = await bench.deductions();
    const cars = await Promise.all(Array.from({ length: 30 }, () => bench.createVehicle(home.id)));
    const members = await bench.createMembers(30);
    const reservations = await Promise.all(
      members.map(async (m, i) => {
        const reply = await bench.api('POST', '/api/v1/reservations', m.key, { vehicleId: cars[i]!.id });
        expect(reply.status).toBe(201);
        return reply.json<{ id: string }>().id;
      }),
    );
    // The hold runs out for all of them at once (as if 15 minutes had passed).
    await bench.db.query(`UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = ANY($1)`, [reservations]);
    await eventually(async () => {
      const { rows } = await bench.db.query(`SELECT count(*)::int AS n FROM reservations WHERE id = ANY($1) AND status = 'expired'`, [reservations]);
      expect(rows[0].n).toBe(30);
    }, 10_000);
    await eventually(
      () =>
        expect(deductions.messages.filter((m) => m.kind === 'reservation-fee' && reservations.includes(m.reservationId!)).length).toBeGreaterThanOrEqual(30),
      10_000,
    );
    // Let any duplicate that a racing sweep might publish arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const fees = deductions.messages.filter((m) => m.kind === 'reservation-fee' && reservations.includes(m.reservationId!));
    expect(fees).toHaveLength(30);
    expect(new Set(fees.map((f) => f.reference))).toEqual(new Set(reservations.map((id) => `reservation:${id}:fee`)));
    expect(fees.every((f) => f.amountFen === 300)).toBe(true);
    const { rows: states } = await bench.db.query(`SELECT DISTINCT state FROM vehicles WHERE id = ANY($1)`, [cars.map((c) => c.id)]);
    expect(states).toEqual([{ state: 'available' }]);
    const notes = (await bench.api('GET', '/api/v1/notifications', members[0]!.key)).json<{ items: Array<{ kind: string }> }>().items;
    expect(notes.filter((n) => n.kind === 'reservation.expired')).toHaveLength(1);
    // Too late to cancel, or to rent from it.
    expectProblem(await bench.api('DELETE', `/api/v1/reservations/${reservations[0]}`, members[0]!.key), 409, 'reservation-not-active');
    await deductions.stop();
  });

  it('a car that never acknowledges: 504, the rental rolled back, the car released and locked', async () => {
    const car = await bench.createVehicle(home.id);
    bench.carBehaviour.set(car.vin, 'silent');
    const [member] = await bench.createMembers(1);
    const started = Date.now();
    const reply = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expectProblem(reply, 504, 'unlock-timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    const sent = bench.commands.filter((c) => c.vin === car.vin && c.action === 'unlock');
    // Re-sent under one command id while waiting.
    expect(sent.length).toBeGreaterThan(1);
    expect(new Set(sent.map((c) => c.commandId)).size).toBe(1);
    await eventually(() => expect(bench.commands.some((c) => c.vin === car.vin && c.action === 'lock')).toBe(true));
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'available', stationId: home.id });
    expect(
      (await bench.admin('GET', `/api/v1/admin/rentals?memberId=${member!.id}`)).json<{ items: Array<{ status: string }> }>().items.map((r) => r.status),
    ).toEqual(['failed']);
    expect((await bench.api('GET', '/api/v1/rentals', member!.key)).json<{ items: unknown[] }>().items).toEqual([]);

    // The car answers again: the member can rent it now.
    bench.carBehaviour.set(car.vin, 'ack');
    expect((await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id })).status).toBe(201);
  });

  it('a car that refuses to unlock from a reservation: 409, the reservation reinstated, and renting from it again works', async () => {
    const car = await bench.createVehicle(home.id);
    bench.carBehaviour.set(car.vin, 'refuse');
    const [member] = await bench.createMembers(1);
    const reservation = (await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).json<{ id: string }>();
    const reply = await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id });
    expectProblem(reply, 409, 'unlock-refused');
    expect(reply.json<{ detail: string }>().detail).toMatch(/door actuator fault/);
    expect((await bench.api('GET', '/api/v1/reservations/current', member!.key)).json()).toMatchObject({
      reservation: { id: reservation.id, status: 'active' },
    });
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'reserved' });

    // Trying again from the reinstated reservation: a second rental of it (the failed one stays on record).
    bench.carBehaviour.delete(car.vin);
    const again = await bench.api('POST', '/api/v1/rentals', member!.key, { reservationId: reservation.id });
    expect(again.status).toBe(201);
    expect(again.json()).toMatchObject({ reservationId: reservation.id, status: 'active' });
  });

  it.each([
    ['negative balance', { balanceFen: -1 }, 'negative-balance'],
    ['licence not approved', { licence: 'pending' }, 'licence-not-approved'],
    ['licence rejected', { licence: 'rejected' }, 'licence-not-approved'],
    ['deposit below the plan’s', { depositFen: 9_999 }, 'deposit-insufficient'],
  ])('%s: renting and reserving are refused with the reason', async (_name, options, reason) => {
    const car = await bench.createVehicle(home.id);
    const [member] = await bench.createMembers(1, options);
    for (const path of ['/api/v1/rentals', '/api/v1/reservations']) {
      const reply = await bench.api('POST', path, member!.key, { vehicleId: car.id });
      expectProblem(reply, 403, reason);
      expect(reply.json()).toMatchObject({ reason });
    }
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'available' });
  });

  it('cards: bind, list, bind again (idempotent), refuse another member’s, and unbind', async () => {
    const [a, b] = await bench.createMembers(2);
    const bound = await bench.api('POST', '/api/v1/cards', a!.key, { uid: '04a1b2c3d4e5f6' });
    expect(bound.status).toBe(201);
    expect(bound.json()).toMatchObject({ uid: '04A1B2C3D4E5F6', memberId: a!.id });
    expect((await bench.api('POST', '/api/v1/cards', a!.key, { uid: '04A1B2C3D4E5F6' })).status).toBe(200);
    expectProblem(await bench.api('POST', '/api/v1/cards', b!.key, { uid: '04A1B2C3D4E5F6' }), 409, 'card-bound');
    expect((await bench.api('GET', '/api/v1/cards', a!.key)).json<{ items: Array<{ uid: string }> }>().items.map((c) => c.uid)).toEqual(['04A1B2C3D4E5F6']);
    expect((await bench.api('GET', '/api/v1/cards', b!.key)).json()).toEqual({ items: [] });
    expectProblem(await bench.api('DELETE', '/api/v1/cards/04A1B2C3D4E5F6', b!.key), 404);
    expect((await bench.api('DELETE', '/api/v1/cards/04a1b2c3d4e5f6', a!.key)).status).toBe(204);
    expect((await bench.api('POST', '/api/v1/cards', b!.key, { uid: '04A1B2C3D4E5F6' })).status).toBe(201);
  });
});

describe('one-way returns', () => {
  let bench: RentalBench;
  let start: { id: string; lat: number; lng: number };
  let roundTrip: { id: string; lat: number; lng: number };
  let full: { id: string; lat: number; lng: number };
  let open: { id: string; lat: number; lng: number };

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 2, env: FAST });
    await bench.createPlan({ oneWayFeeFen: 2_000, oneWayPerKmFen: 10 });
    start = await bench.createStation({ name: 'Start', lat: 31.2, lng: 121.4 });
    roundTrip = await bench.createStation({ name: 'Round-trip only', returnPolicy: 'round-trip', lat: 31.25, lng: 121.45 });
    full = await bench.createStation({ name: 'Full', capacity: 1, lat: 31.3, lng: 121.5 });
    open = await bench.createStation({ name: 'Open', lat: 31.21, lng: 121.41 });
    await bench.createVehicle(full.id);
  });
  afterAll(() => bench?.stop());

  const rentAt = async () => {
    const car = await bench.createVehicle(start.id);
    const [member] = await bench.createMembers(1);
    const rental = (await bench.api('POST', '/api/v1/rentals', member!.key, { vehicleId: car.id })).json<{ id: string }>();
    return { car, member: member!, rental };
  };
  const driveTo = (carId: string, station: { lat: number; lng: number }) => bench.reportVehicle(carId, { lat: station.lat, lng: station.lng });

  it('to a round-trip station: refused with the reason, quote says so, nothing changes', async () => {
    const { car, member, rental } = await rentAt();
    await driveTo(car.id, roundTrip);
    const quote = await bench.api('GET', `/api/v1/rentals/${rental.id}/quote?stationId=${roundTrip.id}`, member.key);
    expect(quote.json()).toMatchObject({ canReturn: false, oneWay: true, refusals: [{ reason: 'round-trip-station' }] });
    const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: roundTrip.id });
    expectProblem(reply, 409, 'round-trip-station');
    expect(reply.json<{ detail: string; reason: string }>()).toMatchObject({
      reason: 'round-trip-station',
      detail: expect.stringMatching(/only takes back cars rented there/),
    });
    expect((await bench.api('GET', `/api/v1/rentals/${rental.id}`, member.key)).json()).toMatchObject({ status: 'active' });
  });

  it('to a full station: refused with the reason', async () => {
    const { car, member, rental } = await rentAt();
    await driveTo(car.id, full);
    const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: full.id });
    expectProblem(reply, 409, 'station-full');
    expect(reply.json<{ detail: string }>().detail).toMatch(/1 of 1 taken/);
  });

  it('outside the geofence or with a door open: refused with the reason', async () => {
    const { car, member, rental } = await rentAt();
    await driveTo(car.id, { lat: open.lat + 0.01, lng: open.lng });
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: open.id }), 409, 'outside-geofence');
    await driveTo(car.id, open);
    await bench.reportVehicle(car.id, { doorsLocked: false, doorsOpen: true });
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: open.id }), 409, 'doors-open');
  });

  it('to an open station with space: quoted, then ended with the one-way fee as its own deduction', async () => {
    const deductions = await bench.deductions();
    const { car, member, rental } = await rentAt();
    await driveTo(car.id, open);
    const quote = (await bench.api('GET', `/api/v1/rentals/${rental.id}/quote?stationId=${open.id}`, member.key)).json<{
      canReturn: boolean;
      price: { oneWayFen: number };
    }>();
    expect(quote.canReturn).toBe(true);
    // 2 000 fen flat plus 10 fen/km over the ~1.4 km between the stations.
    expect(quote.price.oneWayFen).toBeGreaterThanOrEqual(2_013);
    expect(quote.price.oneWayFen).toBeLessThanOrEqual(2_015);
    const reply = await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: open.id });
    expect(reply.status).toBe(200);
    const bill = reply.json<{ endStationId: string; totalFen: number; price: { oneWayFen: number; minimumApplied: boolean } }>();
    expect(bill).toMatchObject({ endStationId: open.id, price: { oneWayFen: quote.price.oneWayFen, minimumApplied: true } });
    expect(bill.totalFen).toBe(500 + quote.price.oneWayFen);
    await eventually(() =>
      expect(deductions.messages.filter((m) => m.rentalId === rental.id).sort((x, y) => x.reference.localeCompare(y.reference))).toEqual([
        expect.objectContaining({ reference: `rental:${rental.id}:one-way`, kind: 'one-way-fee', amountFen: quote.price.oneWayFen }),
        expect.objectContaining({ reference: `rental:${rental.id}:rental`, kind: 'rental', amountFen: 500 }),
      ]),
    );
    await deductions.stop();
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${car.id}`)).json()).toMatchObject({ state: 'available', stationId: open.id });
    const notes = (await bench.api('GET', '/api/v1/notifications', member.key)).json<{ items: Array<{ kind: string }> }>().items;
    expect(notes.map((n) => n.kind)).toContain('rental.ended');
    expectProblem(await bench.api('POST', `/api/v1/rentals/${rental.id}/return`, member.key, { stationId: open.id }), 409, 'rental-not-active');
  });
});
