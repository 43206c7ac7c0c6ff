#!/usr/bin/env bash
# OCPP benchmark: the charging service (one process, the OCPP 1.6J central system) on real
# PostgreSQL, Redis and NATS; BENCH_PILES simulated piles (sims/pile, one process) connect with
# HTTP Basic credentials, boot, report status, then send a heartbeat and meter values every
# BENCH_INTERVAL_S seconds each. Reports the piles' round-trip time per call (p50/p99), the
# central system's handling time (its histogram), calls/s, and the memory per connection.
# Results go to docs/BENCHMARKS.md ("OCPP").
#
#   bash bench/ocpp/run.sh                 # BENCH_PILES=2000 BENCH_DURATION=60 BENCH_INTERVAL_S=10
#   BENCH_WRITE=0 bash bench/ocpp/run.sh   # print only
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/ocpp"
PILES=${BENCH_PILES:-2000}
DURATION=${BENCH_DURATION:-60}
INTERVAL=${BENCH_INTERVAL_S:-10}
WRITE=${BENCH_WRITE:-1}
WORK=$(bench_workdir ocpp)
PREFIX="benchocpp$$"
DB="evshare_bench_ocpp_$$"
SERVICE_PID=""

cleanup() {
  if [ -n "$SERVICE_PID" ]; then
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVICE_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVICE_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  bench_drop_backends "$DB" "$PREFIX"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
npx tsc -b services/charging sims/pile
bench_fresh_db "$DB"
export DATABASE_URL="$PG/$DB"
echo "provisioning $PILES piles"
node "$HERE/setup.js" "$DATABASE_URL" "$WORK" "$PILES"

PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
LOAD_BEFORE=$(bench_load)
PORT=$PORT LOG_LEVEL=warn INSTANCE_ID=charging-bench DATABASE_POOL_SIZE=20 SMART_CHARGING_ENABLED=false \
  REDIS_KEY_PREFIX="$PREFIX:" NATS_SUBJECT_PREFIX="$PREFIX." \
  node services/charging/dist/main.js >"$WORK/charging.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVICE_PID" 2>/dev/null || { echo "the charging service exited:" >&2; cat "$WORK/charging.log" >&2; exit 1; }
  sleep 0.1
done

echo "connecting $PILES piles, then measuring for $DURATION s"
CPU_BEFORE=$(awk '{print $14 + $15}' "/proc/$SERVICE_PID/stat")
OCPP_URL="ws://127.0.0.1:$PORT/ocpp" CHARGING_URL="http://127.0.0.1:$PORT" BENCH_PILES_FILE="$WORK/piles.json" \
  BENCH_DURATION=$DURATION BENCH_INTERVAL_S=$INTERVAL BENCH_OUT="$WORK/result.json" \
  node "$HERE/load.js" 2>"$WORK/load.err" || { echo "load failed:" >&2; cat "$WORK/load.err" >&2; tail -30 "$WORK/charging.log" >&2; exit 1; }
CPU_AFTER=$(awk '{print $14 + $15}' "/proc/$SERVICE_PID/stat")
CPU_S=$(( (CPU_AFTER - CPU_BEFORE) / 100 ))

SECTION=$(node - "$WORK/result.json" "$PILES" "$DURATION" "$INTERVAL" "$LOAD_BEFORE" "$CPU_S" <<'JS'
const fs = require('node:fs');
const os = require('node:os');
const [file, piles, duration, interval, load, cpuS] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const f = (v) => (typeof v === 'number' ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : v);
const row = (name, s) => `| ${name} | ${s.n} | ${f(s.p50)} | ${f(s.p99)} | ${f(s.max)} |`;
const server = Object.entries(r.serverP99).map(([a, s]) => `${a} ${s.p99UpperBoundMs} ms (n ${s.n})`).join(', ');
const lines = [
  `Command: \`bash bench/ocpp/run.sh\` (BENCH_PILES=${piles}, BENCH_DURATION=${duration}, BENCH_INTERVAL_S=${interval}), ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; PostgreSQL, Redis and NATS on loopback; the simulated piles in one process on the same machine; load average ${load} at the start. Other engineers' test suites ran on this machine at the same time, so the numbers are a lower bound.`,
  '',
  `Set-up: one charging process (\`services/charging/dist/main.js\`, 20 database connections, smart charging off) and ${piles} simulated piles (\`sims/pile\`, ocpp-rpc clients in strict mode) over WebSocket with HTTP Basic credentials (scrypt-hashed). All connected in ${r.connectSeconds.toFixed(1)} s (boot, two StatusNotifications each); ${r.connectedServerSide} connected as the service counts them, ${r.failed} failed. Then each pile sent a Heartbeat and a MeterValues every ${interval} s (MeterValues: one database statement each; Heartbeat: a \`last_seen_at\` write at most every 30 s per pile) for ${duration} s: **${r.callsPerSecond.toFixed(0)} calls/s**, errors ${r.errors}. The charging process used ${cpuS} s of CPU over the connect and measured windows.`,
  '',
  '| round trip seen by the pile | n | p50 ms | p99 ms | max ms |',
  '| --- | ---: | ---: | ---: | ---: |',
  row('all calls', r.roundTrip.all),
  ...Object.entries(r.roundTrip).filter(([k]) => k !== 'all').map(([k, s]) => row(k, s)),
  '',
  `Central system handling time, p99 (histogram bucket upper bound): ${server}.`,
  '',
  `Memory: **${f(r.memory.rssPerConnectionKiB)} KiB RSS per connection** (${f(r.memory.idleRssMiB)} MiB idle → ${f(r.memory.connectedRssMiB)} MiB with ${piles} piles, 5 s after the last connected; ${f(r.memory.endRssMiB)} MiB at the end), JavaScript heap ${f(r.memory.heapPerConnectionKiB)} KiB per connection.`,
];
process.stdout.write(lines.join('\n') + '\n');
JS
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section ocpp-bench "OCPP" <<<"$SECTION"
fi
node -e 'const r = require(process.argv[1]); process.exit(r.failed === 0 && r.errors === 0 && r.connectedServerSide === r.piles ? 0 : 1)' "$WORK/result.json" \
  || { echo "FAILED: not every pile connected, or calls failed" >&2; exit 1; }
