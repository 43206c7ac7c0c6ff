import { startRentalBench, type RentalBench } from './support';

/**
 * The licence's expiry is checked at every reservation and rental start (issue 12): a member
 * approved months ago whose licence has since expired is refused with `licence-expired`, and
 * nothing is reserved or rented.
 */
describe('rental: licence expiry at every start', () => {
  let bench: RentalBench;
  let station: { id: string };
  let car: { id: string };

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 1 });
    station = await bench.createStation();
    await bench.createPlan();
    car = await bench.createVehicle(station.id);
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
  });

  const holds = async (memberId: string) =>
    (
      await bench.db.query<{ n: number }>(
        'SELECT (SELECT count(*) FROM reservations WHERE member_id = $1)::int + (SELECT count(*) FROM rentals WHERE member_id = $1)::int AS n',
        [memberId],
      )
    ).rows[0]!.n;

  it('refuses a reservation and a walk-up rental once the licence has expired; through its last day it still counts', async () => {
    const [member] = await bench.createMembers(1);
    // The licence was approved with an expiry date that has since passed (time, not a work-around).
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await bench.db.query('UPDATE members SET licence_expires_on = $2 WHERE id = $1', [member!.id, yesterday]);
    for (const [path, body] of [
      ['/api/v1/reservations', { vehicleId: car.id }],
      ['/api/v1/rentals', { vehicleId: car.id }],
    ] as const) {
      const refused = await bench.api('POST', path, member!.key, body);
      expect(refused.status).toBe(403);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({
        type: 'urn:evshare:problem:licence-expired',
        reason: 'licence-expired',
        detail: expect.stringContaining(yesterday),
      });
    }
    expect(await holds(member!.id)).toBe(0);

    await bench.db.query('UPDATE members SET licence_expires_on = $2 WHERE id = $1', [member!.id, today]);
    expect((await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: car.id })).status).toBe(201);
  });

  it('refuses the rental start from a reservation made while the licence was valid, once it has expired; the hold stays', async () => {
    const [member] = await bench.createMembers(1);
    const held = await bench.createVehicle(station.id);
    const today = new Date().toISOString().slice(0, 10);
    await bench.db.query('UPDATE members SET licence_expires_on = $2 WHERE id = $1', [member!.id, today]);
    const reserved = await bench.api('POST', '/api/v1/reservations', member!.key, { vehicleId: held.id });
    expect(reserved.status).toBe(201);
    const reservation = reserved.json<{ id: string }>();
    // The night passes: the licence's last day is now yesterday.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await bench.db.query('UPDATE members SET licence_expires_on = $2 WHERE id = $1', [member!.id, yesterday]);
    for (const body of [{ reservationId: reservation.id }, { vehicleId: held.id }]) {
      const refused = await bench.api('POST', '/api/v1/rentals', member!.key, body);
      expect(refused.status).toBe(403);
      expect(refused.json()).toMatchObject({ type: 'urn:evshare:problem:licence-expired', reason: 'licence-expired' });
    }
    expect((await bench.api('GET', '/api/v1/reservations/current', member!.key)).json()).toMatchObject({
      reservation: { id: reservation.id, status: 'active' },
    });
    expect((await bench.api('GET', '/api/v1/rentals', member!.key)).json()).toEqual({ items: [] });
    expect((await bench.admin('GET', `/api/v1/admin/vehicles/${held.id}`)).json()).toMatchObject({ state: 'reserved' });
  });
});
