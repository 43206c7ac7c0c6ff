#!/usr/bin/env bash
# Telematics ingest benchmark: BENCH_CARS simulated cars (20,000), one telemetry message each per
# BENCH_PERIOD_MS (10 s: 2,000 messages/s) for BENCH_SECONDS (60), multiplexed over
# BENCH_CONNECTIONS MQTT connections (10,000: two cars each; a process may hold 20,000 open files
# here, so 20,000 sockets cannot meet in one broker process), through each broker of BENCH_BROKERS in turn (mosquitto:
# the local Mosquitto at 127.0.0.1:1883; embedded: the service's aedes broker), into the telematics service
# run as its own process on real PostgreSQL, NATS and Redis. Reports the delay from publish to
# the car's new state being readable in its vehicles row (what the APP reads), for a sample of
# cars, and whether every car's last message arrived. Results go to docs/BENCHMARKS.md
# ("Telematics ingest").
#
#   bash bench/telematics/run.sh                     # both brokers, about 3 minutes
#   BENCH_BROKERS=embedded bash bench/telematics/run.sh
#   BENCH_WRITE=0 bash bench/telematics/run.sh      # print only
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/telematics"
WRITE=${BENCH_WRITE:-1}
export BENCH_CARS=${BENCH_CARS:-20000} BENCH_PERIOD_MS=${BENCH_PERIOD_MS:-10000} BENCH_SECONDS=${BENCH_SECONDS:-60}
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-10000}
BROKERS=${BENCH_BROKERS:-mosquitto embedded}
WORK=$(bench_workdir telematics)
export BENCH_PREFIX="benchtm$$"
DB="evshare_bench_telematics_$$"
DRIVER_PID=""

cleanup() {
  if [ -n "$DRIVER_PID" ]; then
    for pid in $(ps -o pid= --ppid "$DRIVER_PID" 2>/dev/null || true); do kill -TERM "$pid" 2>/dev/null || true; done
    kill "$DRIVER_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  bench_drop_backends "$DB" "$BENCH_PREFIX"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
[ -f services/telematics/dist/main.js ] || npx tsc -b services/telematics
export DATABASE_URL="$PG/$DB"
LOAD_BEFORE=$(bench_load)
RESULTS=()
for BROKER in $BROKERS; do
  # A fresh database per broker: the driver creates the cars.
  bench_fresh_db "$DB"
  echo "broker $BROKER:" >&2
  BENCH_BROKER="$BROKER" BENCH_OUT="$WORK/result-$BROKER.json" node "$HERE/driver.js" >"$WORK/driver.log" 2>&1 &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || { echo "driver failed:" >&2; cat "$WORK/driver.log" >&2; exit 1; }
  DRIVER_PID=""
  grep -E '^  [0-9]+ s:' "$WORK/driver.log" >&2 || true
  RESULTS+=("$WORK/result-$BROKER.json")
done

SECTION=$(node "$HERE/report.js" "$LOAD_BEFORE" "${RESULTS[@]}")
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section telematics-bench "Telematics ingest" <<<"$SECTION"
fi
