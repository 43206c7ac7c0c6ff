import { randomUUID } from 'node:crypto';
import { provisionVehicleCredentials, type VehicleCredential } from '@evshare/telematics';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { eventually } from '../support/http';
import { startRentalBench, type RentalBench } from '../rental/support';
import { startTestTelematics } from './support';

/**
 * Issue 11: a car terminal's trip upload names the member, the times and the odometer. A trip is
 * billed only to a member who held the car when it started and only within physics; anything
 * else waits for an operator. Real NATS, PostgreSQL, Redis, the embedded broker, APP and billing.
 */
describe('vehicle link: what a car terminal can bill', () => {
  let bench: RentalBench;
  let tm: Awaited<ReturnType<typeof startTestTelematics>>;
  let fleet: Fleet;
  let credentials: VehicleCredential[];
  let car: { id: string; vin: string };

  const ledger = async (memberId: string) =>
    (
      await bench.db.query<{ reference: string; amountFen: number; requestedBy: string }>(
        'SELECT reference, amount_fen::int AS "amountFen", requested_by AS "requestedBy" FROM ledger WHERE member_id = $1',
        [memberId],
      )
    ).rows;
  const outcome = async (tripId: string) =>
    (await bench.db.query<{ outcome: string }>('SELECT outcome FROM vehicle_trips WHERE trip_id = $1', [tripId])).rows[0]?.outcome;
  const review = async (tripId: string) =>
    (await bench.admin('GET', '/api/v1/admin/reviews?kind=trip&limit=200'))
      .json<{ items: Array<{ id: string; reference: string; reasons: string[]; memberId: string; device: string; reportedFen: number; boundedFen: number }> }>()
      .items.find((i) => i.reference === `trip:${tripId}`);

  const upload = async (trip: Record<string, unknown>) => {
    await fleet.car(car.vin).publishRaw('events', JSON.stringify({ type: 'trip', at: new Date().toISOString(), trip }));
  };
  const tripOf = (memberId: string, over: Record<string, unknown> = {}) => ({
    tripId: randomUUID(),
    memberId,
    startedAt: new Date(Date.now() - 20 * 60_000).toISOString(),
    endedAt: new Date(Date.now() - 10 * 60_000).toISOString(),
    startOdometerM: 5_000_000,
    endOdometerM: 5_005_000,
    startSocPct: 80,
    endSocPct: 78,
    startLat: 31.23,
    startLng: 121.47,
    endLat: 31.23,
    endLng: 121.47,
    offline: true,
    ...over,
  });

  beforeAll(async () => {
    bench = await startRentalBench({ appInstances: 1 });
    const station = await bench.createStation();
    await bench.createPlan();
    car = await bench.createVehicle(station.id);
    bench.carBehaviour.set(car.vin, 'silent');
    tm = await startTestTelematics(bench.platform.env);
    credentials = await provisionVehicleCredentials(tm.db, [car.vin]);
    fleet = await startVehicleFleet({ brokerUrl: tm.service.mqttUrl, credentials, seed: 11, topicRoot: tm.topicRoot, telemetryParkedMs: 1_000 });
    await eventually(() => expect(tm.service.isOnline(car.vin)).toBe(true));
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
    await tm?.stop();
    await bench?.stop();
  });

  it('a car terminal names a member who never held the car: the trip is held for review and nobody is billed', async () => {
    const [victim] = await bench.createMembers(1);
    const trip = tripOf(victim!.id);
    await upload(trip);
    await eventually(async () => expect(await outcome(trip.tripId)).toBe('review'), 10_000);
    expect(await review(trip.tripId)).toMatchObject({ device: car.vin, memberId: victim!.id, reasons: ['member-not-allowed'], boundedFen: 0 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await ledger(victim!.id)).toEqual([]);
    expect((await bench.db.query('SELECT count(*)::int AS n FROM rentals WHERE unlock_command_id = $1', [trip.tripId])).rows[0].n).toBe(0);
  });

  it("the renter's trip of 1,000 km in a second, or starting in year 9999, is held; the operator approves the bounded fee; billed once by the operator", async () => {
    const [renter] = await bench.createMembers(1);
    const reservedAt = Date.now();
    expect((await bench.api('POST', '/api/v1/reservations', renter!.key, { vehicleId: car.id })).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const future = tripOf(renter!.id, { startedAt: '9999-01-01T00:00:00Z', endedAt: '9999-01-01T01:00:00Z' });
    await upload(future);
    await eventually(async () => expect((await review(future.tripId))?.reasons).toEqual(['starts-in-future']), 10_000);

    // Held since the reservation: 1,000 km in about a second.
    const fast = tripOf(renter!.id, { startedAt: new Date(reservedAt + 1_000).toISOString(), endedAt: new Date().toISOString(), endOdometerM: 6_000_000 });
    await upload(fast);
    await eventually(async () => expect(await outcome(fast.tripId)).toBe('review'), 10_000);
    const item = (await review(fast.tripId))!;
    expect(item.reasons).toEqual(['too-fast']);
    expect(item.reportedFen).toBeGreaterThan(item.boundedFen);
    expect(await ledger(renter!.id)).toEqual([]);

    const decided = await bench.admin('POST', `/api/v1/admin/reviews/${item.id}/decision`, { decision: 'adjust', amountFen: item.boundedFen });
    expect(decided.status).toBe(200);
    expect((await bench.admin('POST', `/api/v1/admin/reviews/${item.id}/decision`, { decision: 'approve' })).status).toBe(409);
    const adminId = decided.json<{ decidedBy: string }>().decidedBy;
    await eventually(
      async () =>
        expect(await ledger(renter!.id)).toEqual([{ reference: `trip:${fast.tripId}`, amountFen: -item.boundedFen, requestedBy: `admin:${adminId}` }]),
      10_000,
    );
    // The car uploads the trip again: a duplicate, nothing more.
    await upload(fast);
    await eventually(async () => expect(await tm.metric('telematics_trips_total', { outcome: 'duplicate' })).toBeGreaterThanOrEqual(1));
    expect(await ledger(renter!.id)).toHaveLength(1);
  });
});
