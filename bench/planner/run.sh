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
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/planner"
WRITE=${BENCH_WRITE:-1}
WORK=$(bench_workdir planner)
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
npx tsc -p "$HERE/tsconfig.json" --outDir "$WORK/planner"
LOAD_BEFORE=$(bench_load)
node "$HERE/sim.js" "$WORK/planner" "$WORK/result.json"
status=0
SECTION=$(node "$HERE/report.js" "$WORK/result.json" "$LOAD_BEFORE") || status=$?
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section planner-bench "Charging planner" <<<"$SECTION"
fi
[ "$status" = 0 ] || echo "FAILED: the planner missed its target (see above)" >&2
exit "$status"
