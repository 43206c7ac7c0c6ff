// @ts-check
// Telematics ingest benchmark driver (see run.sh): BENCH_CARS cars, one telemetry message each per
// BENCH_PERIOD_MS, multiplexed over BENCH_CONNECTIONS MQTT connections, for BENCH_SECONDS; the
// telematics service runs as its own process. Measures, for a sample of cars, the delay from
// publish to the new state being readable in the vehicles row (what the APP reads).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const pg = require('pg');
const mqtt = require('mqtt');
const { percentile, cpuSeconds, freePort, seedBenchFleet } = require('../rental/common');

const ROOT = path.resolve(__dirname, '../..');
const CARS = Number(process.env.BENCH_CARS ?? 20000);
const PERIOD_MS = Number(process.env.BENCH_PERIOD_MS ?? 10000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 200);
const SAMPLE_EVERY = Number(process.env.BENCH_SAMPLE_EVERY ?? 20);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 50);
const BROKER = process.env.BENCH_BROKER ?? 'mosquitto';
const ROOT_TOPIC = `bench/${process.env.BENCH_PREFIX}`;
const vin = (n) => `LBNCH${String(n).padStart(12, '0')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  await seedBenchFleet(db, { vinPrefix: 'LBNCH', platePrefix: 'B', cars: CARS });

  const port = await freePort();
  const mqttPort = await freePort();
  const password = 'bench-' + process.pid;
  const env = {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    NATS_SUBJECT_PREFIX: `${process.env.BENCH_PREFIX}.`,
    REDIS_KEY_PREFIX: `${process.env.BENCH_PREFIX}:`,
    TELEMATICS_TOPIC_ROOT: ROOT_TOPIC,
    MQTT_PASSWORD: password,
    ...(BROKER === 'mosquitto' ? { MQTT_URL: 'mqtt://127.0.0.1:1883' } : { MQTT_PORT: String(mqttPort) }),
  };
  const brokerUrl = BROKER === 'mosquitto' ? 'mqtt://127.0.0.1:1883' : `mqtt://127.0.0.1:${mqttPort}`;
  const service = spawn(process.execPath, [path.join(ROOT, 'services/telematics/dist/main.js')], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const stopService = () => service.kill('SIGTERM');
  process.on('exit', stopService);
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 300) throw new Error('telematics did not become ready');
    await sleep(100);
  }
  const startedCpu = cpuSeconds(service.pid);

  // Multiplexed cars: each connection publishes for CARS / CONNECTIONS cars, each on its own car's
  // topic. Embedded broker: with the service's credential (a car's own credential allows one car).
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) =>
      mqtt.connectAsync(brokerUrl, {
        clientId: `bench-${process.pid}-${i}`,
        protocolVersion: 4,
        clean: true,
        ...(BROKER === 'mosquitto' ? {} : { username: 'telematics', password }),
      }),
    ),
  );
  const lastSent = new Float64Array(CARS);
  const odometer = new Float64Array(CARS);
  let published = 0;
  const sampled = [];
  for (let n = 0; n < CARS; n += SAMPLE_EVERY) sampled.push(n);
  const sampleVins = sampled.map(vin);
  const seen = new Map(sampled.map((n) => [vin(n), 0]));
  const delays = [];

  // Car n publishes at offset (n / CARS) * PERIOD_MS within each period: an even 2,000 msg/s.
  const start = Date.now();
  const endAt = start + SECONDS * 1000;
  const warmupUntil = start + PERIOD_MS; // every car has sent once: their first flush is not measured
  let next = 0;
  let measuring = true;
  const publisher = (async () => {
    for (;;) {
      const now = Date.now();
      if (now >= endAt) return;
      const due = Math.floor(((now - start) / PERIOD_MS) * CARS);
      while (next <= due) {
        const n = next % CARS;
        const t = Date.now();
        odometer[n] += 100;
        const payload = JSON.stringify({
          at: new Date(t).toISOString(),
          lat: 31.23 + (n % 100) / 1e4,
          lng: 121.47,
          speedKmh: 0,
          socPct: 80,
          odometerM: 1000 + odometer[n],
          doorsOpen: false,
          locked: true,
          ignition: false,
          cableConnected: false,
        });
        clients[n % CONNECTIONS].publish(`${ROOT_TOPIC}/vehicles/${vin(n)}/telemetry`, payload, { qos: 0 });
        lastSent[n] = t;
        published++;
        next++;
      }
      await sleep(5);
    }
  })();

  // The APP's view: the vehicles row. Polled for the sampled cars; a new reported_at is a message
  // become readable, its delay the poll time minus its publish time (so at most POLL_MS too high).
  const poller = (async () => {
    while (measuring) {
      const t0 = Date.now();
      const { rows } = await db.query(
        `SELECT vin, (extract(epoch FROM reported_at) * 1000)::float8 AS at FROM vehicles WHERE vin = ANY($1) AND reported_at IS NOT NULL`,
        [sampleVins],
      );
      const t = Date.now();
      for (const row of rows) {
        if (row.at > seen.get(row.vin)) {
          seen.set(row.vin, row.at);
          if (row.at >= warmupUntil) delays.push(t - row.at);
        }
      }
      await sleep(Math.max(0, POLL_MS - (t - t0)));
    }
  })();

  const progress = setInterval(
    () => process.stderr.write(`  ${((Date.now() - start) / 1000).toFixed(0)} s: ${published} published, ${delays.length} sampled deliveries\n`),
    10_000,
  );
  await publisher;
  await sleep(3000); // the last messages land
  measuring = false;
  await poller;
  clearInterval(progress);
  const elapsedS = (Date.now() - start) / 1000;
  const serviceCpu = cpuSeconds(service.pid) - startedCpu;
  const rss = Number(fs.readFileSync(`/proc/${service.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const metric = (name) =>
    metrics
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);

  // Nothing lost: every car's row holds the last message it sent.
  const { rows: final } = await db.query(`SELECT vin, (extract(epoch FROM reported_at) * 1000)::float8 AS at FROM vehicles`);
  const lastByVin = new Map(final.map((r) => [r.vin, r.at]));
  let stale = 0;
  for (let n = 0; n < CARS; n++) if (lastSent[n] && Math.abs((lastByVin.get(vin(n)) ?? 0) - lastSent[n]) > 1) stale++;

  for (const c of clients) c.end(true);
  stopService();
  await new Promise((r) => service.once('exit', r));
  await db.end();
  const measuredSeconds = SECONDS - PERIOD_MS / 1000;
  const result = {
    broker: BROKER,
    cars: CARS,
    periodMs: PERIOD_MS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    published,
    publishRate: published / SECONDS,
    sampleCars: sampled.length,
    pollMs: POLL_MS,
    delays: { n: delays.length, p50: percentile(delays, 50), p90: percentile(delays, 90), p99: percentile(delays, 99), max: percentile(delays, 100) },
    expectedSampleDeliveries: Math.round((sampled.length * measuredSeconds * 1000) / PERIOD_MS),
    staleCars: stale,
    received: metric('telematics_messages_total'),
    rejected: metric('telematics_messages_rejected_total'),
    flushes: metric('telematics_flush_seconds_count'),
    flushSecondsSum: metric('telematics_flush_seconds_sum'),
    serviceCpuSeconds: serviceCpu,
    serviceCpuShare: serviceCpu / elapsedS,
    serviceRssMiB: rss,
  };
  fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify(result, null, 2));
  process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
