// @ts-check
// Prepares the rental benchmark on a fresh database, before the platform starts (so the stack's
// demo fleet is not seeded): the schema, one pricing plan, STATIONS stations, MEMBERS members
// (one argon2 hash computed once and reused; wallet, deposit, approved licence) each with a
// session in Redis and a car of their own parked at a station with its position and locked doors
// reported. Writes <workDir>/fleet.json for the driver.
// Usage: node setup.js <databaseUrl> <workDir> <members> <keyPrefix>
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const kit = require('../../services/kit/dist');
const { migrateDatabase } = require('../../services/schema/dist');

const STATIONS = 10;
const INITIAL_BALANCE_FEN = 1_000_000_000;

async function main() {
  const [databaseUrl, workDir, memberCount, keyPrefix] = process.argv.slice(2);
  const count = Number(memberCount);
  const log = kit.createLogger('bench', 'warn');
  const db = kit.createPool(databaseUrl);
  await migrateDatabase(db, log);
  const hash = await kit.hashPassword('bench-password');
  // Per minute 50, per km 100, minimum 500 (so amounts vary with the distance driven), no
  // reservation or one-way fee; valid from a minute ago so it is the plan in force.
  await db.query(
    `INSERT INTO pricing_plans (name, per_minute_fen, per_km_fen, daily_cap_fen, minimum_fen, reservation_fee_fen, hold_minutes, one_way_fee_fen, deposit_fen, valid_from)
     VALUES ('Bench plan', 50, 100, 20000, 500, 0, 15, 0, 10000, now() - interval '1 minute')`,
  );
  const { rows: stations } = await db.query(
    `INSERT INTO stations (name, lat, lng, geofence_radius_m, capacity, return_policy)
     SELECT 'Bench station ' || n, 31.2 + n / 100.0, 121.4, 150, 1000, 'open' FROM generate_series(1, $1) AS n ORDER BY n
     RETURNING id, lat, lng`,
    [STATIONS],
  );
  const usernames = Array.from({ length: count }, (_, i) => `bench${String(i + 1).padStart(5, '0')}`);
  const { rows: members } = await db.query(
    `INSERT INTO members (username, display_name, password_hash, licence_status, deposit_fen, wallet_balance_fen)
     SELECT u, 'Bench ' || u, $2, 'approved', 50000, $3 FROM unnest($1::text[]) WITH ORDINALITY AS x(u, n) ORDER BY n RETURNING id`,
    [usernames, hash, INITIAL_BALANCE_FEN],
  );
  const store = kit.createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix });
  const bus = kit.createMemoryBus();
  const sessions = kit.createSessionStore({ store, bus, ttlMs: 3600_000 });
  const fleet = [];
  for (const [i, member] of members.entries()) {
    const station = stations[i % stations.length];
    const vin = `LBENCH${String(i + 1).padStart(11, '0')}`;
    const { rows } = await db.query(
      `INSERT INTO vehicles (vin, plate, model, battery_kwh, rated_range_km, home_station_id, station_id, lat, lng, doors_locked, reported_at)
       VALUES ($1, $2, 'Bench EV', 42.5, 400, $3, $3, $4, $5, true, now()) RETURNING id`,
      [vin, `BENCH${String(i + 1).padStart(5, '0')}`, station.id, station.lat, station.lng],
    );
    const { key } = await sessions.create({ memberId: member.id, role: 'member', address: '127.0.0.1' });
    fleet.push({ memberId: member.id, key, vehicleId: rows[0].id, vin, stationId: station.id });
  }
  fs.writeFileSync(path.join(workDir, 'fleet.json'), JSON.stringify({ initialBalanceFen: INITIAL_BALANCE_FEN, fleet }));
  sessions.close();
  await store.close();
  await bus.close();
  await db.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
