// @ts-check
// Fleet list benchmark driver (see run.sh).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const pg = require('pg');
const mqtt = require('mqtt');
const { percentile, cpuSeconds, freePort, seedBenchFleet } = require('../rental/common');

const ROOT = path.resolve(__dirname, '../..');
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 50000);
const CARS = Number(process.env.BENCH_CARS ?? 1000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const ROOT_TOPIC = `bench/${process.env.BENCH_PREFIX}`;
const BROKER = 'mqtt://127.0.0.1:1883';
const vin = (n) => `LWHTL${String(n).padStart(12, '0')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  await seedBenchFleet(db, { vinPrefix: 'LWHTL', platePrefix: 'W', cars: CARS });
  // Eligible members (approved licence, no plan asking a deposit), each with a 7-byte card.
  await db.query(
    `WITH m AS (
       INSERT INTO members (username, display_name, password_hash, licence_status)
       SELECT 'wl' || n, 'Bench ' || n, 'x', 'approved' FROM generate_series(1, $1) AS n RETURNING id, username
     ) INSERT INTO membership_cards (uid, member_id, bound_at) SELECT '04' || lpad(upper(to_hex(substr(username, 3)::int)), 12, '0'), id, now() FROM m`,
    [MEMBERS],
  );

  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    NATS_SUBJECT_PREFIX: `${process.env.BENCH_PREFIX}.`,
    REDIS_KEY_PREFIX: `${process.env.BENCH_PREFIX}:`,
    TELEMATICS_TOPIC_ROOT: ROOT_TOPIC,
    MQTT_URL: BROKER,
  };
  const bootStart = Date.now();
  const service = spawn(process.execPath, [path.join(ROOT, 'services/telematics/dist/main.js')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  process.on('exit', () => service.kill('SIGTERM'));
  for (let i = 0; ; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 1200) throw new Error('telematics did not become ready');
    await sleep(100);
  }
  const bootMs = Date.now() - bootStart;
  const { rows: v } = await db.query('SELECT version, (SELECT count(*)::int FROM fleet_whitelist) AS n FROM fleet_whitelist_version');
  const cpuBefore = cpuSeconds(service.pid);

  // Each car: collects the pages of a full list (complete when all parts of one version arrived)
  // and records when each delta version arrived.
  const cars = Array.from({ length: CARS }, (_, n) => ({ vin: vin(n), parts: new Map(), complete: 0, fullBytes: 0, pages: 0, version: 0, deltas: new Map() }));
  const clients = [];
  const connectStart = Date.now();
  for (const car of cars) {
    const client = mqtt.connect(BROKER, {
      clientId: car.vin,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      will: { topic: `${ROOT_TOPIC}/vehicles/${car.vin}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    client.on('message', (_topic, payload) => {
      const command = JSON.parse(payload.toString('utf8'));
      if (command.action === 'fleet-full') {
        car.parts.set(command.part, payload.length);
        if (car.parts.size === command.parts && !car.complete) {
          car.complete = Date.now();
          car.pages = command.parts;
          car.fullBytes = [...car.parts.values()].reduce((a, b) => a + b, 0);
          car.version = command.version;
        }
      } else if (command.action === 'fleet-delta') car.deltas.set(command.delta.version, Date.now());
    });
    client.on('connect', () => {
      client.subscribe(`${ROOT_TOPIC}/vehicles/${car.vin}/commands`, { qos: 1 }, () => {
        client.publish(`${ROOT_TOPIC}/vehicles/${car.vin}/status`, JSON.stringify({ online: true }), { qos: 1, retain: true });
      });
    });
    clients.push(client);
  }
  for (let i = 0; cars.some((c) => !c.complete); i++) {
    if (i % 50 === 0)
      process.stderr.write(`  full list at ${cars.filter((c) => c.complete).length}/${CARS} cars after ${((Date.now() - connectStart) / 1000).toFixed(1)} s\n`);
    if (Date.now() - connectStart > 600_000) throw new Error('not every car got the full list in 10 min');
    await sleep(100);
  }
  const fullSyncMs = Math.max(...cars.map((c) => c.complete)) - connectStart;
  const fullCpu = cpuSeconds(service.pid) - cpuBefore;
  await sleep(2000);

  // Member changes: suspend, reactivate (each one delta for every car); delay from the commit.
  const { rows: ids } = await db.query('SELECT id FROM members ORDER BY username LIMIT $1', [CHANGES]);
  const delays = [];
  const deltaBytes = [];
  for (let i = 0; i < CHANGES; i++) {
    const before = (await db.query('SELECT version FROM fleet_whitelist_version')).rows[0].version;
    const target = Number(before) + 1;
    const t0 = Date.now();
    await db.query(`UPDATE members SET status = $2 WHERE id = $1`, [ids[i].id, 'suspended']);
    for (;;) {
      const got = cars.map((c) => c.deltas.get(target));
      if (got.every((t) => t !== undefined)) {
        delays.push(Math.max(...got) - t0);
        break;
      }
      if (Date.now() - t0 > 30_000) throw new Error(`delta ${target} did not reach every car in 30 s (${got.filter(Boolean).length}/${CARS})`);
      await sleep(10);
    }
  }
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const rss = Number(fs.readFileSync(`/proc/${service.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  for (const c of clients) c.end(true);
  service.kill('SIGTERM');
  await new Promise((r) => service.once('exit', r));
  await db.end();

  const c0 = cars[0];
  const ms = (x) => `${Math.round(x).toLocaleString('en-US')} ms`;
  const n0 = (x) => Math.round(x).toLocaleString('en-US');
  const lines = [
    `Command: \`bash bench/whitelist/run.sh\` (BENCH_MEMBERS=${MEMBERS}, BENCH_CARS=${CARS}, BENCH_CHANGES=${CHANGES}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; PostgreSQL, NATS and Mosquitto (127.0.0.1:1883) on loopback; load average ${process.env.BENCH_LOAD_BEFORE} when the run started. **Other engineers were running test suites on this machine at the same time.**`,
    '',
    `${n0(MEMBERS)} eligible members, each with one 7-byte card, on ${n0(CARS)} cars; the telematics service (\`services/telematics/dist/main.js\`) as its own process, each car its own MQTT connection to Mosquitto (the benchmark process holds all of them and only counts what arrives).`,
    '',
    '| measure | result |',
    '| --- | ---: |',
    `| service start with ${n0(MEMBERS)} members (list computed and stored, version ${v[0].version}, ${n0(v[0].n)} entries) | ${ms(bootMs)} |`,
    `| full list per car | ${n0(c0.fullBytes)} bytes in ${c0.pages} pages (MQTT payloads) |`,
    `| **bytes per member** (full list / members) | **${(c0.fullBytes / MEMBERS).toFixed(1)}** |`,
    `| **full sync of every car** (all ${n0(CARS)} connect at once → the last has every page) | **${ms(fullSyncMs)}** (${n0((c0.fullBytes * CARS) / 2 ** 20)} MiB in all; telematics CPU ${fullCpu.toFixed(1)} s) |`,
    `| **member change → its delta at every one of ${n0(CARS)} cars** (${CHANGES} suspensions, from the commit) | **p50 ${ms(percentile(delays, 50))}, max ${ms(percentile(delays, 100))}** |`,
    `| deltas sent (one per car per change) | ${n0(
      metrics
        .split('\n')
        .filter((l) => l.startsWith('telematics_whitelist_sent_total{') && l.includes('kind="fleet-delta"'))
        .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0),
    )} |`,
    `| telematics RSS at the end | ${n0(rss)} MiB |`,
  ];
  fs.writeFileSync(process.env.BENCH_OUT, `${lines.join('\n')}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
