// @ts-check
// OCPP benchmark load: N simulated piles (sims/pile) connect to the central system, boot, report
// status, then send heartbeats and meter values for the measured window. Reports the round-trip
// time of every call as the pile sees it (p50/p99 by action), the central system's own handling
// time from its /metrics histogram, and the charging process's memory before and after the
// connections. Env: OCPP_URL, CHARGING_URL, BENCH_PILES_FILE, BENCH_DURATION, BENCH_INTERVAL_S,
// BENCH_OUT.
'use strict';
const fs = require('node:fs');
const { startPileFleet } = require('../../sims/pile/dist');

const env = (name, fallback) => process.env[name] ?? fallback;
const duration = Number(env('BENCH_DURATION', '60'));
const intervalMs = Number(env('BENCH_INTERVAL_S', '10')) * 1000;

function percentile(values, p) {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function metrics() {
  const text = await (await fetch(`${env('CHARGING_URL')}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const buckets = {};
  for (const match of text.matchAll(/^ocpp_call_duration_seconds_bucket\{([^}]*)\} ([0-9.e+-]+)$/gm)) {
    const action = /action="([^"]+)"/.exec(match[1])?.[1];
    const le = /le="([^"]+)"/.exec(match[1])?.[1];
    if (!action || !le) continue;
    (buckets[action] ??= []).push([le === '+Inf' ? Infinity : Number(le), Number(match[2])]);
  }
  return { rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes'), connected: value('ocpp_connected_piles'), buckets };
}

/** The histogram's p99 over the window (bucket upper bound): counts after minus counts before. */
function bucketP99(before, after) {
  const out = {};
  for (const [action, rows] of Object.entries(after.buckets)) {
    const prior = new Map(before.buckets[action] ?? []);
    const counts = rows.map(([le, c]) => [le, c - (prior.get(le) ?? 0)]).sort((a, b) => a[0] - b[0]);
    const total = counts[counts.length - 1]?.[1] ?? 0;
    if (total === 0) continue;
    const le = counts.find(([, c]) => c >= 0.99 * total)?.[0];
    out[action] = { n: total, p99UpperBoundMs: le === Infinity ? 'over 2500' : le * 1000 };
  }
  return out;
}

async function main() {
  const credentials = JSON.parse(fs.readFileSync(env('BENCH_PILES_FILE'), 'utf8'));
  const idle = await metrics();
  const byAction = {};
  let measuring = false;
  const started = Date.now();
  const fleet = await startPileFleet({
    url: env('OCPP_URL'),
    credentials,
    seed: 1,
    heartbeatIntervalMs: intervalMs,
    meterIntervalMs: intervalMs,
    connectConcurrency: 100,
    log: (line) => process.stderr.write(`${line}\n`),
    onLatency: (action, ms) => {
      if (measuring) (byAction[action] ??= []).push(ms);
    },
  });
  const connectSeconds = (Date.now() - started) / 1000;
  // Let the boot storm's garbage settle before reading memory per connection.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const connected = await metrics();
  measuring = true;
  const before = connected;
  await new Promise((resolve) => setTimeout(resolve, duration * 1000));
  measuring = false;
  const after = await metrics();
  const stats = fleet.stats();
  await fleet.stop();
  const all = Object.values(byAction).flat();
  const summary = (values) => ({ n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100) });
  const result = {
    piles: credentials.length,
    connectedServerSide: connected.connected,
    connectedClientSide: stats.connected,
    failed: stats.failed,
    errors: stats.errors,
    connectSeconds,
    durationS: duration,
    intervalS: intervalMs / 1000,
    callsPerSecond: all.length / duration,
    roundTrip: { all: summary(all), ...Object.fromEntries(Object.entries(byAction).map(([k, v]) => [k, summary(v)])) },
    serverP99: bucketP99(before, after),
    memory: {
      idleRssMiB: idle.rss / 2 ** 20,
      connectedRssMiB: connected.rss / 2 ** 20,
      rssPerConnectionKiB: (connected.rss - idle.rss) / 1024 / credentials.length,
      heapPerConnectionKiB: (connected.heap - idle.heap) / 1024 / credentials.length,
      endRssMiB: after.rss / 2 ** 20,
    },
  };
  fs.writeFileSync(env('BENCH_OUT'), JSON.stringify(result, null, 2));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
