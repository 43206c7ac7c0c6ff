import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrateDatabase } from '@evshare/schema';
import { SUBJECTS, vehicleAckSchema } from '@evshare/kit';
import { startVehicleFleet, type Fleet } from '../../sims/vehicle/src';
import { createTestDatabase, testEnvironment } from '../support/backends';
import { eventually } from '../support/http';
import { startTestTelematics } from './support';

/**
 * The telematics service against the real Mosquitto on this machine (127.0.0.1:1883, anonymous
 * local clients in its default configuration): the production shape, an external broker.
 */
describe('vehicle link (Mosquitto)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: pg.Pool;
  let tm: Awaited<ReturnType<typeof startTestTelematics>>;
  let fleet: Fleet;
  const vins = ['LMXSZ000000000001', 'LMXSZ000000000002'];
  const ids: string[] = [];
  const acks: unknown[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    db = new pg.Pool({ connectionString: database.url, max: 3 });
    await migrateDatabase(db);
    const { rows: stations } = await db.query<{ id: string }>(
      `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy) VALUES ('Lujiazui', 31.2397, 121.4998, 150, 10, 'open') RETURNING id`,
    );
    for (const vin of vins) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id) VALUES ($1, $2, 'Test EV', 40, 350, $3, $3) RETURNING id`,
        [vin, `沪M${vin.slice(-5)}`, stations[0]!.id],
      );
      ids.push(rows[0]!.id);
    }
    tm = await startTestTelematics(testEnvironment(database.url), { MQTT_URL: 'mqtt://127.0.0.1:1883' });
    tm.bus.subscribe(SUBJECTS.vehicleAckAll, (data) => acks.push(data));
    fleet = await startVehicleFleet({ brokerUrl: 'mqtt://127.0.0.1:1883', vins, seed: 3, topicRoot: tm.topicRoot, telemetryParkedMs: 200 });
    await eventually(() => expect(vins.every((vin) => tm.service.isOnline(vin))).toBe(true));
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await tm?.stop();
    await db?.end();
    await database?.drop();
  });

  it('telemetry through Mosquitto updates the vehicle row', async () => {
    const car = fleet.car(vins[0]!);
    car.driveDistance(2_500);
    car.sendTelemetry();
    await eventually(async () => {
      const { rows } = await db.query<{ odometerM: number; online: boolean; socPct: number }>(
        'SELECT odometer_m AS "odometerM", online, soc_pct::float8 AS "socPct" FROM vehicles WHERE vin = $1',
        [vins[0]],
      );
      expect(rows[0]).toEqual({ odometerM: car.physics.odometerM, online: true, socPct: Math.round(car.physics.socPct * 100) / 100 });
    });
  });

  it("a reservation written by any code path reaches the car's whitelist within 5 s", async () => {
    const { rows: members } = await db.query<{ id: string }>(`INSERT INTO members (username, display_name, password_hash) VALUES ($1, 'M', '!') RETURNING id`, [
      `m${Date.now().toString(36)}`,
    ]);
    const { rows: plans } = await db.query<{ id: string }>(
      `INSERT INTO pricing_plans (name, per_minute_fen, per_km_fen, valid_from) VALUES ('P', 10, 10, now()) RETURNING id`,
    );
    await db.query(`INSERT INTO membership_cards (uid, member_id, bound_at) VALUES ('ABCDEF0123', $1, now())`, [members[0]!.id]);
    await db.query(
      `INSERT INTO reservations (member_id, vehicle_id, station_id, plan_id, expires_at) SELECT $1, v.id, v.station_id, $2, now() + interval '15 minutes' FROM vehicles v WHERE v.vin = $3`,
      [members[0]!.id, plans[0]!.id, vins[1]],
    );
    const car = fleet.car(vins[1]!);
    await eventually(() => expect(car.whitelist.entries).toEqual([{ memberId: members[0]!.id, cardUids: ['ABCDEF0123'], role: 'renter' }]), 5_000);
    await db.query(`UPDATE membership_cards SET member_id = NULL, bound_at = NULL WHERE uid = 'ABCDEF0123'`);
    await eventually(() => expect(car.whitelist.entries).toEqual([{ memberId: members[0]!.id, cardUids: [], role: 'renter' }]), 5_000);
  });

  it('commands: delivered and acknowledged once when online, refused at once as offline, dropped when expired', async () => {
    const car = fleet.car(vins[0]!);
    const unlock = { commandId: randomUUID(), vin: vins[0], action: 'unlock', expiresAt: new Date(Date.now() + 10_000).toISOString() };
    tm.bus.publish(SUBJECTS.vehicleCommand(vins[0]!), unlock);
    tm.bus.publish(SUBJECTS.vehicleCommand(vins[0]!), unlock);
    await eventually(() =>
      expect(acks.filter((a) => vehicleAckSchema.parse(a).commandId === unlock.commandId)).toEqual([
        { commandId: unlock.commandId, ok: true },
        { commandId: unlock.commandId, ok: true },
      ]),
    );
    expect(car.executed.filter((c) => c.commandId === unlock.commandId)).toHaveLength(1);
    expect(car.counters.commandsRepeated).toBe(1);

    const expired = { ...unlock, commandId: randomUUID(), expiresAt: new Date(Date.now() - 1_000).toISOString() };
    tm.bus.publish(SUBJECTS.vehicleCommand(vins[0]!), expired);
    await eventually(async () => expect(await tm.metric('telematics_commands_total', { outcome: 'expired' })).toBe(1));

    fleet.car(vins[1]!).goOffline();
    await eventually(() => expect(tm.service.isOnline(vins[1]!)).toBe(false));
    const toOffline = { ...unlock, vin: vins[1], commandId: randomUUID() };
    tm.bus.publish(SUBJECTS.vehicleCommand(vins[1]!), toOffline);
    await eventually(() => expect(acks).toContainEqual({ commandId: toOffline.commandId, ok: false, reason: 'offline' }));
    expect(car.executed.map((c) => c.commandId)).not.toContain(expired.commandId);
  });

  it('garbage on the topics is dropped and counted', async () => {
    const car = fleet.car(vins[0]!);
    await car.publishRaw('telemetry', '{"at": 12');
    await car.publishRaw('events', JSON.stringify({ type: 'local-unlock', at: new Date().toISOString(), granted: 'yes' }));
    await eventually(async () => {
      expect(await tm.metric('telematics_messages_rejected_total', { reason: 'json' })).toBe(1);
      expect(await tm.metric('telematics_messages_rejected_total', { reason: 'schema' })).toBe(1);
    });
    car.sendTelemetry();
    await eventually(async () => expect(await tm.metric('telematics_messages_total', { channel: 'telemetry' })).toBeGreaterThan(1));
  });
});
