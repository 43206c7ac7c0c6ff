import { startPileFleet, type PileFleet } from '../../sims/pile/src';
import { eventually } from '../support/http';
import { startChargingBench, type ChargingBench } from './support';

// The pile simulator against the real central system: parked cars reported, smart charging under
// a station cap that binds, every pile's power within its profile, remote start and stop, billing.
describe('charging: simulated piles under smart charging', () => {
  let bench: ChargingBench;
  let fleet: PileFleet | undefined;

  beforeAll(async () => {
    bench = await startChargingBench({ piles: 3, vehicles: 3 });
    // Three 7 kW piles under a 10 kW connection.
    expect((await bench.api('PATCH', `/api/v1/charging/stations/${bench.stationId}/charging`, bench.admin.key, { chargingCapW: 10_000 })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await fleet?.stop();
    await bench?.stop();
  });

  it('follows the plan: the cap holds, no pile above its limit, sessions billed', async () => {
    const credentials = bench.piles.map((pile, i) => ({ ...pile, ...(i < 2 ? { idTag: bench.member.card } : {}) }));
    expect(credentials.every((c) => c.vin)).toBe(true);
    fleet = await startPileFleet({ url: bench.ocppUrl, credentials, seed: 7, meterIntervalMs: 200, heartbeatIntervalMs: 1_000 });
    const [first, second, third] = fleet.piles as [(typeof fleet.piles)[number], (typeof fleet.piles)[number], (typeof fleet.piles)[number]];
    await eventually(() => expect(first.transaction && second.transaction).toBeTruthy(), 10_000);

    // The third car's member starts it from the app.
    const started = await bench.api('POST', `/api/v1/charging/piles/${third.spec.id}/remote-start`, bench.member.key, {});
    expect(started.json()).toMatchObject({ status: 'Accepted', idTag: bench.member.card });
    await eventually(() => expect(third.transaction).toBeDefined(), 10_000);

    // Each arrival and start re-plans; wait for every pile to hold a TxProfile for its transaction.
    await eventually(
      () => {
        for (const pile of fleet!.piles)
          expect(pile.profiles.some((p) => p.profile.chargingProfilePurpose === 'TxProfile' && p.profile.transactionId === pile.transaction?.id)).toBe(true);
      },
      15_000,
      100,
    );
    const { rows } = await bench.db.query<{ pileId: string; vin: string }>('SELECT id AS "pileId", vin FROM piles WHERE station_id = $1 ORDER BY id', [
      bench.stationId,
    ]);
    expect(rows.map((r) => r.vin)).toEqual(credentials.map((c) => c.vin));

    // Over the whole horizon the three limits together never exceed the station cap.
    const horizon = 96 * 900_000;
    const origin = Date.now();
    let plannedWh = 0;
    for (let t = origin; t < origin + horizon; t += 900_000) {
      const total = fleet.piles.reduce((sum, pile) => sum + (pile.limitW(t) ?? 7000), 0);
      expect(total).toBeLessThanOrEqual(10_000);
      plannedWh += total / 4;
    }
    // ...and they do charge the cars (three batteries from 20-80% need tens of kWh).
    expect(plannedWh).toBeGreaterThan(20_000);
    // A few meter cycles: delivered power stays within the profile.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    for (const pile of fleet.piles) {
      expect(pile.powerW).toBeLessThanOrEqual(pile.limitW() ?? Infinity);
    }
    expect(fleet.stats().maxExcessW).toBe(0);

    const plan = await bench.api('GET', `/api/v1/charging/stations/${bench.stationId}/plan`, bench.admin.key);
    expect(plan.json<{ items: Array<{ sent: boolean }> }>().items.map((p) => p.sent)).toEqual([true, true, true]);

    // A booking for the third car gives it a deadline: the station is re-planned to it.
    const slotEnd = new Date(Math.ceil((Date.now() + 3 * 3600_000) / 900_000) * 900_000).toISOString();
    const vehicleId = (await bench.db.query<{ id: string }>('SELECT vehicle_id AS id FROM piles WHERE id = $1', [third.spec.id])).rows[0]!.id;
    const booking = await bench.api('POST', '/api/v1/charging/reservations', bench.member.key, {
      pileId: third.spec.id,
      slotStart: new Date(Date.now() + 2 * 3600_000).toISOString(),
      slotEnd,
      vehicleId,
      energyWh: 8_000,
    });
    expect(booking.status).toBe(201);
    await eventually(
      async () => {
        const pilePlan = await bench.api('GET', `/api/v1/charging/piles/${third.spec.id}/plan`, bench.admin.key);
        expect(pilePlan.json<{ plan: { schedule: { deadline: string | null } } }>().plan.schedule.deadline).toBe(slotEnd);
      },
      10_000,
      100,
    );

    // Stopped from the app: the pile ends the transaction and billing charges it.
    const txId = first.transaction!.id;
    const stopped = await bench.api('POST', `/api/v1/charging/piles/${first.spec.id}/remote-stop`, bench.member.key, {});
    expect(stopped.json()).toMatchObject({ status: 'Accepted', transactionId: txId });
    await eventually(() => expect(first.transaction).toBeUndefined(), 5_000);
    await eventually(
      async () => {
        const { rows: ledger } = await bench.db.query('SELECT reference FROM ledger WHERE member_id = $1', [bench.member.id]);
        expect(ledger.map((r) => r.reference)).toContain(`charging:${first.spec.id}:${txId}`);
      },
      10_000,
      100,
    );
    const stats = fleet.stats();
    expect(stats).toMatchObject({ piles: 3, connected: 3, failed: 0 });
    expect(stats.calls).toBeGreaterThan(20);
  });
});
