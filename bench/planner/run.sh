#!/usr/bin/env bash
# Charging planner benchmark: a standard day at one capped station (100 cars, three-band tariff,
# bookings through the next day, seeded), replayed with our planner, uncontrolled charging and a
# CitrineOS-style flat limit: energy cost and deadlines met; then the planner's run time for 500
# cars. Pure computation, no services needed: the planner folder alone is compiled to a temporary
# directory. Results go to docs/BENCHMARKS.md ("Charging planner"); exits non-zero when the target
# (25 % cheaper than uncontrolled, every feasible deadline met) is missed.
#
#   bash bench/planner/run.sh                 # BENCH_SEED=42 BENCH_CARS=100 BENCH_CAP_W=100000 BENCH_AMBIENT_C=8 BENCH_RUNS=5
#   BENCH_WRITE=0 bash bench/planner/run.sh   # print only
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/planner"
WRITE=${BENCH_WRITE:-1}
WORK=$(mktemp -d /tmp/evshare-bench-planner.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
npx tsc -p "$HERE/tsconfig.json" --outDir "$WORK/planner"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
node "$HERE/sim.js" "$WORK/planner" "$WORK/result.json"
status=0
SECTION=$(node "$HERE/report.js" "$WORK/result.json" "$LOAD_BEFORE") || status=$?
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  node -e 'require(process.argv[1]).writeSection(process.argv[2], "planner-bench", "Charging planner", require("fs").readFileSync(0, "utf8"))' \
    "$ROOT/bench/rental/common.js" "$ROOT/docs/BENCHMARKS.md" <<<"$SECTION"
  echo "written to docs/BENCHMARKS.md"
fi
[ "$status" = 0 ] || echo "FAILED: the planner missed its target (see above)" >&2
exit "$status"
