import { clientAddress, type Reply } from '../support/http';
import { startRentalBench, type RentalBench } from './support';

/** Half the attempts rent (walk-up), half reserve: both take the car. */
const attemptPath = (i: number) => (i % 2 === 0 ? '/api/v1/rentals' : '/api/v1/reservations');

function tally(replies: Reply[]) {
  const byStatus = new Map<number, number>();
  for (const reply of replies) byStatus.set(reply.status, (byStatus.get(reply.status) ?? 0) + 1);
  return Object.fromEntries(byStatus);
}

describe('concurrent reserve and rent attempts', () => {
  let bench: RentalBench;
  let station: { id: string };

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 3 });
    await bench.createPlan();
    station = await bench.createStation({ capacity: 1000 });
  });
  afterAll(() => bench?.stop());

  it('200 members at once on one car: exactly one succeeds, 199 get a clear 409', async () => {
    const car = await bench.createVehicle(station.id);
    const members = await bench.createMembers(200);
    const replies = await Promise.all(members.map((m, i) => bench.api('POST', attemptPath(i), m.key, { vehicleId: car.id }, clientAddress(i))));
    expect(tally(replies)).toEqual({ 201: 1, 409: 199 });
    for (const reply of replies.filter((r) => r.status === 409)) {
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(reply.json()).toMatchObject({
        type: 'urn:evshare:problem:vehicle-unavailable',
        detail: expect.stringMatching(/is (reserved|in use), not available/),
      });
    }
    const { rows } = await bench.db.query(
      `SELECT (SELECT count(*)::int FROM reservations WHERE vehicle_id = $1 AND status = 'active') + (SELECT count(*)::int FROM rentals WHERE vehicle_id = $1 AND status IN ('unlocking', 'active')) AS holds`,
      [car.id],
    );
    expect(rows[0].holds).toBe(1);
  });

  it('1,000 members at once over 100 cars: exactly 100 winners, no car twice, no member twice', async () => {
    const cars: Array<{ id: string }> = [];
    for (let i = 0; i < 100; i += 20) cars.push(...(await Promise.all(Array.from({ length: 20 }, () => bench.createVehicle(station.id)))));
    const members = await bench.createMembers(1000);
    const replies = await Promise.all(members.map((m, i) => bench.api('POST', attemptPath(i), m.key, { vehicleId: cars[i % 100]!.id }, clientAddress(i))));
    expect(tally(replies)).toEqual({ 201: 100, 409: 900 });

    const winners = replies.filter((r) => r.status === 201).map((r) => r.json<{ memberId: string; vehicleId: string }>());
    expect(new Set(winners.map((w) => w.vehicleId)).size).toBe(100);
    expect(new Set(winners.map((w) => w.memberId)).size).toBe(100);
    const { rows } = await bench.db.query<{ memberId: string; vehicleId: string }>(
      `SELECT member_id AS "memberId", vehicle_id AS "vehicleId" FROM reservations WHERE status = 'active' AND vehicle_id = ANY($1)
       UNION ALL SELECT member_id, vehicle_id FROM rentals WHERE status IN ('unlocking', 'active') AND vehicle_id = ANY($1)`,
      [cars.map((c) => c.id)],
    );
    expect(rows).toHaveLength(100);
    expect(new Set(rows.map((r) => r.vehicleId)).size).toBe(100);
    expect(new Set(rows.map((r) => r.memberId)).size).toBe(100);
    const { rows: states } = await bench.db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM vehicles WHERE id = ANY($1) GROUP BY state ORDER BY state`,
      [cars.map((c) => c.id)],
    );
    expect(states).toEqual([
      { state: 'in_use', n: 50 },
      { state: 'reserved', n: 50 },
    ]);
  });

  it('one member trying five free cars at once holds exactly one', async () => {
    const members = await bench.createMembers(20);
    const cars: Array<{ id: string }> = [];
    for (let i = 0; i < 100; i += 20) cars.push(...(await Promise.all(Array.from({ length: 20 }, () => bench.createVehicle(station.id)))));
    const replies = await Promise.all(
      members.flatMap((m, j) =>
        Array.from({ length: 5 }, (_, k) => bench.api('POST', attemptPath(k + j), m.key, { vehicleId: cars[j * 5 + k]!.id }, clientAddress(j * 5 + k))),
      ),
    );
    expect(tally(replies)).toEqual({ 201: 20, 409: 80 });
    for (const reply of replies.filter((r) => r.status === 409)) expect(reply.json()).toMatchObject({ type: 'urn:evshare:problem:member-busy' });
    const winners = replies.filter((r) => r.status === 201).map((r) => r.json<{ memberId: string }>().memberId);
    expect(new Set(winners)).toEqual(new Set(members.map((m) => m.id)));
  });
});
