#!/usr/bin/env bash
# Fleet list benchmark (claim 7's registration: every eligible member on every car):
# BENCH_MEMBERS members (50,000, each with one card) on BENCH_CARS cars (1,000), the telematics
# service as its own process on real PostgreSQL, NATS and the local Mosquitto (127.0.0.1:1883),
# each car a light MQTT client on its own connection that collects the fleet list's pages and
# deltas. Measures the full list's size (bytes per member), the time to bring every car the full
# list (all cars connecting at once), and the delay from a member's change (committed in
# PostgreSQL) to its delta at every online car, BENCH_CHANGES times. Results go to
# docs/BENCHMARKS.md ("Fleet list").
#
#   bash bench/whitelist/run.sh                 # about 2 minutes
#   BENCH_MEMBERS=5000 BENCH_CARS=100 BENCH_WRITE=0 bash bench/whitelist/run.sh   # quick, print only
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/whitelist"
WRITE=${BENCH_WRITE:-1}
export BENCH_MEMBERS=${BENCH_MEMBERS:-50000} BENCH_CARS=${BENCH_CARS:-1000} BENCH_CHANGES=${BENCH_CHANGES:-20}
WORK=$(bench_workdir whitelist)
export BENCH_PREFIX="benchwl$$"
DB="evshare_bench_whitelist_$$"
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379} NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
DRIVER_PID=""

cleanup() {
  if [ -n "$DRIVER_PID" ]; then
    for pid in $(ps -o pid= --ppid "$DRIVER_PID" 2>/dev/null || true); do kill -TERM "$pid" 2>/dev/null || true; done
    kill "$DRIVER_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "$BENCH_PREFIX:*" | xargs -r redis-cli del >/dev/null || true
  node "$ROOT/bench/rental/common.js" delete-streams "$NATS_URL" "$BENCH_PREFIX." >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
[ -f services/telematics/dist/main.js ] || npx tsc -b services/telematics
export DATABASE_URL="$PG/$DB"
bench_fresh_db "$DB"
export BENCH_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_OUT="$WORK/section.md" node "$HERE/driver.js" >"$WORK/driver.log" 2>&1 &
DRIVER_PID=$!
wait "$DRIVER_PID" || { echo "driver failed:" >&2; cat "$WORK/driver.log" >&2; exit 1; }
DRIVER_PID=""
cat "$WORK/driver.log" >&2
SECTION=$(cat "$WORK/section.md")
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  node -e 'require(process.argv[1]).writeSection(process.argv[2], "whitelist-bench", "Fleet list", require("fs").readFileSync(0, "utf8"))' \
    "$ROOT/bench/rental/common.js" "$ROOT/docs/BENCHMARKS.md" <<<"$SECTION"
  echo "written to docs/BENCHMARKS.md"
fi
