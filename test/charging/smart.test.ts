import type { RPCClient } from 'ocpp-rpc';
import type { PlannerResult } from '../../services/charging/src/planner';
import { eventually } from '../support/http';
import { nowIso, startChargingBench, type ChargingBench } from './support';

// What smart charging feeds the planner, end to end: a charging booking's energy is energy to add
// (counted from the booking, so it does not grow while the car charges), a rental hold's expiry
// is the car's departure, and no pile is sent a charging limit below its 6 A floor.
describe('charging: smart charging inputs', () => {
  let bench: ChargingBench;
  const clients: RPCClient[] = [];
  const profiles = new Map<string, Array<{ limit: number }>>();

  beforeAll(async () => {
    bench = await startChargingBench({ piles: 3, vehicles: 3 });
  }, 60_000);
  afterAll(async () => {
    await bench?.stop();
    for (const client of clients) await client.close();
  });

  const park = async (index: number) => {
    const pile = bench.piles[index]!;
    const client = bench.client(pile);
    client.handle('SetChargingProfile', async ({ params }) => {
      const profile = params as { csChargingProfiles: { chargingSchedule: { chargingSchedulePeriod: Array<{ limit: number }> } } };
      profiles.set(pile.id, profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod);
      return { status: 'Accepted' };
    });
    await client.connect();
    clients.push(client);
    await client.call('BootNotification', { chargePointVendor: 'Interop', chargePointModel: 'ocpp-rpc' });
    expect(await client.call('DataTransfer', { vendorId: 'evshare', messageId: 'ParkedVehicle', data: bench.vehicles[index]!.vin })).toEqual({
      status: 'Accepted',
    });
    return client;
  };
  // A debounced event plan may hold the station's lock: plan again until this call did it.
  const plan = async () => {
    let result: PlannerResult | undefined;
    await eventually(async () => {
      result = (await bench.charging.planStation(bench.stationId)) as PlannerResult | undefined;
      expect(result).toBeDefined();
    });
    return result!;
  };
  const scheduleOf = (result: PlannerResult, index: number) => result.schedules.find((s) => s.pileId === bench.piles[index]!.id)!;
  const hold = async (index: number, expiresAt: Date) => {
    const member = await bench.createMember();
    const { rows } = await bench.db.query<{ id: string }>(
      `INSERT INTO pricing_plans (name, per_minute_fen, per_km_fen, valid_from) VALUES ('Smart test', 50, 0, now() - interval '1 day') RETURNING id`,
    );
    await bench.db.query('INSERT INTO reservations (member_id, vehicle_id, station_id, plan_id, expires_at) VALUES ($1, $2, $3, $4, $5)', [
      member.id,
      bench.vehicles[index]!.id,
      bench.stationId,
      rows[0]!.id,
      expiresAt,
    ]);
  };

  it('plans a booking to the energy booked, counted from the booking; rental holds give departures; 6 A floors', async () => {
    const first = await park(0);
    await park(1);
    await park(2);

    // Car 0 (60 kWh at 40 %) has a charging booking for 8 kWh by the slot's end.
    const slotEnd = new Date(Math.ceil((Date.now() + 6 * 3600_000) / 900_000) * 900_000);
    const booked = await bench.api('POST', '/api/v1/charging/reservations', bench.member.key, {
      pileId: bench.piles[0]!.id,
      slotStart: new Date(Date.now() + 3600_000).toISOString(),
      slotEnd: slotEnd.toISOString(),
      vehicleId: bench.vehicles[0]!.id,
      energyWh: 8_000,
    });
    expect(booked.status).toBe(201);
    // Car 1 is held for a member until 8 h from now; car 2's hold has run out (not yet swept).
    const expiresAt = new Date(Date.now() + 8 * 3600_000);
    await hold(1, expiresAt);
    await hold(2, new Date(Date.now() - 60_000));

    const before = await plan();
    // 8 kWh metered at the pile (7.2 kWh in the battery at 20 °C), not "8 kWh in the battery" (it holds 24 already).
    expect(scheduleOf(before, 0)).toMatchObject({ deadline: slotEnd.toISOString(), meetsDeadline: true });
    expect(Math.abs(scheduleOf(before, 0).energyWh - 8_000)).toBeLessThanOrEqual(2);
    expect(scheduleOf(before, 1).deadline).toBe(expiresAt.toISOString());
    expect(scheduleOf(before, 2).deadline).toBeNull();
    expect(before.unmet).toEqual([]);

    // The car charges 3 kWh and its SoC rises: 5 kWh are left, the target does not move up with it.
    const start = (await first.call('StartTransaction', { connectorId: 1, idTag: bench.member.card, meterStart: 10_000, timestamp: nowIso() })) as {
      transactionId: number;
    };
    await first.call('MeterValues', {
      connectorId: 1,
      transactionId: start.transactionId,
      meterValue: [
        {
          timestamp: nowIso(),
          sampledValue: [
            { value: '13000', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
            { value: '44.5', measurand: 'SoC', unit: 'Percent' },
          ],
        },
      ],
    });
    const after = await plan();
    expect(Math.abs(scheduleOf(after, 0).energyWh - 5_000)).toBeLessThanOrEqual(2);
    expect(scheduleOf(after, 0).deadline).toBe(slotEnd.toISOString());

    // 7 kW piles on three phases: 0 or at least 6 A × 230 V × 3 in every slot planned and sent.
    for (const schedule of after.schedules) {
      expect(schedule.energyWh).toBeGreaterThan(0);
      for (const slot of schedule.slots) expect(slot.powerW === 0 || slot.powerW >= 4_140).toBe(true);
    }
    await eventually(() => {
      for (const pile of bench.piles) {
        const periods = profiles.get(pile.id);
        expect(periods?.some((p) => p.limit > 0)).toBe(true);
        for (const period of periods!) expect(period.limit === 0 || period.limit >= 4_140).toBe(true);
      }
    });
  });
});
