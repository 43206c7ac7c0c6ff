#!/usr/bin/env bash
# Rental benchmark: the whole platform as processes (stack, 2 APP instances, auth, heartbeat,
# billing, SMS, gateway; autoscaling off) on real PostgreSQL, Redis and NATS. BENCH_MEMBERS
# members each loop on their own car through the gateway: reserve -> rent (the driver plays the
# cars and acknowledges the unlock) -> return -> the deduction applied by the billing service (the
# ledger row exists). Reports the sustained rentals/s, p50/p99 of each step, the errors, and checks
# exactly-once billing (a ledger row per return, no duplicate reference, sums equal the bills).
# Results go to docs/BENCHMARKS.md ("Rental").
#
#   bash bench/rental/run.sh                  # BENCH_MEMBERS=50 BENCH_DURATION=30 BENCH_WARMUP=5
#   BENCH_WRITE=0 bash bench/rental/run.sh    # print only
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/rental"
MEMBERS=${BENCH_MEMBERS:-50}
DURATION=${BENCH_DURATION:-30}
WARMUP=${BENCH_WARMUP:-5}
WRITE=${BENCH_WRITE:-1}
WORK=$(bench_workdir rental)
PREFIX="benchrent$$"
DB="evshare_bench_rental_$$"
STACK_PID=""
DRIVER_PID=""

cleanup() {
  local children=""
  [ -n "$DRIVER_PID" ] && kill "$DRIVER_PID" 2>/dev/null || true
  if [ -n "$STACK_PID" ]; then
    children=$(ps -o pid= --ppid "$STACK_PID" 2>/dev/null || true)
    kill -TERM "$STACK_PID" 2>/dev/null || true
    # The stack stops its services gracefully; bounded, then forced.
    for _ in $(seq 1 150); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$STACK_PID" 2>/dev/null || true
    for pid in $children; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  wait 2>/dev/null || true
  bench_drop_backends "$DB" "$PREFIX"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
[ -f services/stack/dist/main.js ] || npx tsc -b
bench_fresh_db "$DB"
export DATABASE_URL="$PG/$DB"
node "$HERE/setup.js" "$DATABASE_URL" "$WORK" "$MEMBERS" "$PREFIX:"

LOAD_BEFORE=$(bench_load)
GW_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# The driver is the cars (it acknowledges their commands and writes their odometer), so the stack
# runs neither simulated terminals (they took the bench's cars too, reported their own odometer
# and doors, and billed trips the driver never drove) nor the vehicle link (it answers "offline"
# for cars that never connect). EVSHARE_STACK_GROUP=1 keeps the services
# children of $STACK_PID (no own-process-group relaunch: nobody presses Ctrl-C here).
VEHICLE_LINK=false SIMULATORS=false EVSHARE_STACK_GROUP=1 STACK_MODE=processes APP_INSTANCES=2 AUTOSCALE=false GATEWAY_PORT=$GW_PORT LOG_LEVEL=warn \
  REDIS_KEY_PREFIX="$PREFIX:" NATS_SUBJECT_PREFIX="$PREFIX." \
  node services/stack/dist/main.js >"$WORK/stack.log" 2>&1 &
STACK_PID=$!
for _ in $(seq 1 600); do
  grep -q 'Press Ctrl-C to stop' "$WORK/stack.log" && break
  kill -0 "$STACK_PID" 2>/dev/null || { echo "the stack exited:" >&2; cat "$WORK/stack.log" >&2; exit 1; }
  sleep 0.1
done
grep -q 'Press Ctrl-C to stop' "$WORK/stack.log" || { echo "the stack did not come up in 60 s" >&2; cat "$WORK/stack.log" >&2; exit 1; }
BILLING_URL=$(awk '$1 == "billing:" {print $2}' "$WORK/stack.log")
# Every process of the platform, for the CPU time each used in the measured window.
PIDS="stack=$STACK_PID"
for pid in $(ps -o pid= --ppid "$STACK_PID"); do
  main=$(tr '\0' ' ' <"/proc/$pid/cmdline" | grep -o 'services/[a-z]*/dist/main.js' || true)
  name=${main#services/}; name=${name%%/*}
  id=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | awk -F= '$1 == "INSTANCE_ID" {print $2}' || true)
  [ "$name" = app ] && name="${id:-app-$pid}"
  PIDS="$PIDS,${name:-pid$pid}=$pid"
done

TARGET="http://127.0.0.1:$GW_PORT"
# BENCH_VIA=direct: the members split over the APP instances, bypassing the gateway (to tell the
# gateway's share of the latency from the APP's).
[ "${BENCH_VIA:-gateway}" = direct ] && TARGET=$(awk '$1 ~ /^app-[0-9]+:$/ {printf "%s%s", sep, $2; sep=","}' "$WORK/stack.log")
GATEWAY_URL="$TARGET" BENCH_PREFIX="$PREFIX." BENCH_FLEET="$WORK/fleet.json" BENCH_OUT="$WORK/result.json" \
  BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BILLING_URL="$BILLING_URL" BENCH_PIDS="$PIDS" \
  node "$HERE/driver.js" >"$WORK/driver.log" 2>"$WORK/driver.err" &
DRIVER_PID=$!
wait "$DRIVER_PID" || { echo "driver failed:" >&2; cat "$WORK/driver.err" >&2; tail -50 "$WORK/stack.log" >&2; exit 1; }
DRIVER_PID=""
cat "$WORK/driver.err" >&2

PSI=$(awk '/^some/ {sub("avg60=", "", $3); print $3}' /proc/pressure/cpu 2>/dev/null || echo "?")
SECTION=$(node "$HERE/report.js" "$WORK/result.json" "$DURATION" "$WARMUP" "$MEMBERS" "$LOAD_BEFORE" "$PSI")
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section rental-bench "Rental" <<<"$SECTION"
fi
node -e 'process.exit(require(process.argv[1]).exactlyOnce && require(process.argv[1]).errors === 0 ? 0 : 1)' "$WORK/result.json" \
  || { echo "FAILED: errors or exactly-once check (see above)" >&2; exit 1; }
