import { randomUUID } from 'node:crypto';
import type { RPCClient } from 'ocpp-rpc';
import { eventually } from '../support/http';
import { startChargingBench, type ChargingBench } from './support';

interface StoredPlan {
  schedule: { deadline: string | null };
  profile: { chargingSchedule: { chargingSchedulePeriod: Array<{ startPeriod: number; limit: number }> } };
}

// A rental hold is written by APP, not by the charging service: the database trigger's
// vehicle_access notification makes the station of the pile the car is parked at re-plan within
// the debounce, long before the periodic plan (10 min in the bench).
describe('charging: re-plan on rental holds and rentals', () => {
  let bench: ChargingBench;
  let client: RPCClient;
  const received: Array<Array<{ startPeriod: number; limit: number }>> = [];

  beforeAll(async () => {
    bench = await startChargingBench({ piles: 1, vehicles: 2, env: { SMART_CHARGING_LISTEN_RETRY_MS: '100' } });
    const pile = bench.piles[0]!;
    client = bench.client(pile);
    client.handle('SetChargingProfile', async ({ params }) => {
      const profile = params as { csChargingProfiles: StoredPlan['profile'] };
      received.push(profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod);
      return { status: 'Accepted' };
    });
    await client.connect();
    await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' });
    // Car 0 is parked at the pile; car 1 is at no pile.
    await client.call('DataTransfer', { vendorId: 'evshare', messageId: 'ParkedVehicle', data: bench.vehicles[0]!.vin });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await bench?.stop();
  });

  const storedPlan = async () => {
    const { rows } = await bench.db.query<{ plan: StoredPlan; plannedAt: Date }>(
      'SELECT plan, planned_at AS "plannedAt" FROM charging_plans WHERE pile_id = $1',
      [bench.piles[0]!.id],
    );
    return rows[0];
  };
  const newPlan = async () => {
    const { rows } = await bench.db.query<{ id: string }>(
      `INSERT INTO pricing_plans (name, per_minute_fen, per_km_fen, valid_from) VALUES ('Hold test', 50, 0, now() - interval '1 day') RETURNING id`,
    );
    return rows[0]!.id;
  };
  const hold = async (vehicleIndex: number, expiresAt: Date) => {
    const member = await bench.createMember();
    const { rows } = await bench.db.query<{ id: string }>(
      'INSERT INTO reservations (member_id, vehicle_id, station_id, plan_id, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [member.id, bench.vehicles[vehicleIndex]!.id, bench.stationId, await newPlan(), expiresAt],
    );
    return { reservationId: rows[0]!.id };
  };

  it("plans the hold's expiry as the departure when a member reserves the parked car, and drops it when the rental ends", async () => {
    // The car arrived with no booking: filled cheaply within the horizon.
    await eventually(async () => expect((await storedPlan())?.plan.schedule.deadline).toBeNull());
    await eventually(() => expect(received.length).toBeGreaterThan(0));

    // A hold on a car at no pile plans nothing. No event can be awaited for "nothing happened",
    // so the plan is checked after many debounce windows (50 ms each in the bench).
    const untouched = (await storedPlan())!.plannedAt.getTime();
    await hold(1, new Date(Date.now() + 3600_000));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await storedPlan())!.plannedAt.getTime()).toBe(untouched);

    // Held for 40 minutes: 24 kWh to full in ~3 slots is now due by the hold's expiry.
    const expiresAt = new Date(Math.ceil((Date.now() + 40 * 60_000) / 1000) * 1000);
    const sent = received.length;
    const { reservationId } = await hold(0, expiresAt);
    const rentalId = randomUUID();
    await eventually(async () => expect((await storedPlan())!.plan.schedule.deadline).toBe(expiresAt.toISOString()), 3_000);
    await eventually(() => expect(received.length).toBeGreaterThan(sent), 3_000);
    const heldProfile = received.at(-1)!;

    // The member takes the car: the hold becomes a rental (one transaction, as APP does it), so
    // the car has no booking left to charge for.
    await bench.db.query(
      `WITH hold AS (UPDATE reservations SET status = 'converted', ended_at = now() WHERE id = $1 RETURNING id, member_id, vehicle_id, plan_id)
       INSERT INTO rentals (id, member_id, vehicle_id, reservation_id, plan_id, start_station_id, status, start_odometer_m, start_soc_pct, unlock_command_id)
       SELECT $2, member_id, vehicle_id, id, plan_id, $3, 'active', 1000, 40, gen_random_uuid() FROM hold`,
      [reservationId, rentalId, bench.stationId],
    );
    await eventually(async () => expect((await storedPlan())!.plan.schedule.deadline).toBeNull(), 3_000);
    expect(received.at(-1)).not.toEqual(heldProfile);

    // The rental ends (the car is back at the pile): the station is planned again.
    const before = (await storedPlan())!.plannedAt.getTime();
    await bench.db.query(
      `UPDATE rentals SET status = 'ended', ended_at = now(), end_station_id = $2, total_fen = 500, end_odometer_m = 1000, end_soc_pct = 40 WHERE id = $1`,
      [rentalId, bench.stationId],
    );
    await eventually(async () => expect((await storedPlan())!.plannedAt.getTime()).toBeGreaterThan(before), 3_000);
  });

  it('listens again after its connection broke, plans every station then, and sees holds after that', async () => {
    const listening = async () => {
      const { rows } = await bench.db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN vehicle_access'`,
      );
      return rows.map((r) => r.pid);
    };
    const [pid] = await listening();
    expect(pid).toBeDefined();
    const before = (await storedPlan())!.plannedAt.getTime();
    await bench.db.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(async () => {
      const now = await listening();
      expect(now).toHaveLength(1);
      expect(now).not.toContain(pid);
    });
    // Holds notified while nobody listened are lost: every station is planned on reconnect.
    await eventually(async () => expect((await storedPlan())!.plannedAt.getTime()).toBeGreaterThan(before), 3_000);

    const expiresAt = new Date(Math.ceil((Date.now() + 50 * 60_000) / 1000) * 1000);
    await hold(0, expiresAt);
    await eventually(async () => expect((await storedPlan())!.plan.schedule.deadline).toBe(expiresAt.toISOString()), 3_000);
  });
});
