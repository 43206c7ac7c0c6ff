#!/usr/bin/env bash
# Billing benchmark: BENCH_DEDUCTIONS deductions for BENCH_MEMBERS members published straight into
# the DEDUCTIONS stream (JetStream, msgId = reference), then billing processes started on real
# PostgreSQL, Redis and NATS; deductions/s until the ledger holds them all, with an exactly-once
# check (count, one row per reference, sums, balance chains). Then the same with every billing
# process SIGKILLed and restarted at 1/3 and 2/3, then paced publishing (BENCH_PACED_RATES) timing
# publish → ledger row. Per variant (BENCH_VARIANTS: the current build and the baseline build of
# BENCH_BASELINE_REF, 1 or more processes), BENCH_ROUNDS rounds in alternating order. Results go
# to docs/BENCHMARKS.md ("Billing").
#
#   bash bench/billing/run.sh                  # BENCH_DEDUCTIONS=20000 BENCH_BASELINE_DEDUCTIONS=3000 BENCH_MEMBERS=1000 BENCH_ROUNDS=3
#   BENCH_WRITE=0 bash bench/billing/run.sh    # print only
#   BENCH_VARIANTS=current:1,current:2 bash bench/billing/run.sh   # without the baseline
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/billing"
WRITE=${BENCH_WRITE:-1}
export BENCH_DEDUCTIONS=${BENCH_DEDUCTIONS:-20000} BENCH_BASELINE_DEDUCTIONS=${BENCH_BASELINE_DEDUCTIONS:-3000} BENCH_MEMBERS=${BENCH_MEMBERS:-1000} BENCH_ACK_WAIT_MS=${BENCH_ACK_WAIT_MS:-5000}
export BENCH_ROUNDS=${BENCH_ROUNDS:-3} BENCH_VARIANTS=${BENCH_VARIANTS:-baseline:1,current:1,current:2}
export BENCH_PACED_RATES=${BENCH_PACED_RATES:-80,500,1000} BENCH_PACED_SECONDS=${BENCH_PACED_SECONDS:-8}
# The baseline: the billing service before several deductions were in flight (one at a time).
BASELINE_REF=${BENCH_BASELINE_REF:-2e9a8bf}
WORK=$(bench_workdir billing)
PREFIX="benchbill$$"
# Inside the tree (.evshare/ is ignored), so the baseline resolves @evshare/* from node_modules.
BASELINE_DIR="$ROOT/.evshare/bench-billing-baseline-$$"
DB="evshare_bench_billing_$$"
DRIVER_PID=""

cleanup() {
  if [ -n "$DRIVER_PID" ]; then
    # The driver's billing processes first (it kills them itself unless it was killed).
    for pid in $(ps -o pid= --ppid "$DRIVER_PID" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
    kill "$DRIVER_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  bench_drop_backends "$DB" "$PREFIX"
  rm -rf "$WORK" "$BASELINE_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
[ -f services/billing/dist/main.js ] || npx tsc -b
if [[ "$BENCH_VARIANTS" == *baseline* ]]; then
  mkdir -p "$BASELINE_DIR"
  git archive "$BASELINE_REF" services/billing/src | tar -x -C "$BASELINE_DIR" --strip-components=2
  printf '{"extends": "%s/tsconfig.base.json", "compilerOptions": {"rootDir": "src", "outDir": "dist", "composite": false, "declaration": false, "declarationMap": false}, "include": ["src"], "exclude": ["src/**/*.test.ts"]}\n' "$ROOT" >"$BASELINE_DIR/tsconfig.json"
  npx tsc -p "$BASELINE_DIR/tsconfig.json"
  export BENCH_BASELINE_MAIN="$BASELINE_DIR/dist/main.js"
fi
bench_fresh_db "$DB"
export DATABASE_URL="$PG/$DB"

LOAD_BEFORE=$(bench_load)
BENCH_PREFIX="$PREFIX" BENCH_OUT="$WORK/result.json" node "$HERE/driver.js" >"$WORK/driver.log" 2> >(tee "$WORK/driver.err" >&2) &
DRIVER_PID=$!
wait "$DRIVER_PID" || { echo "driver failed:" >&2; cat "$WORK/driver.err" >&2; exit 1; }
DRIVER_PID=""

PSI=$(awk '/^some/ {sub("avg60=", "", $3); print $3}' /proc/pressure/cpu 2>/dev/null || echo "?")
SECTION=$(node "$HERE/report.js" "$WORK/result.json" "$LOAD_BEFORE" "$PSI")
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section billing-bench "Billing" <<<"$SECTION"
fi
node -e 'process.exit(require(process.argv[1]).results.every((r) => r.clean.check.ok && r.kill.check.ok && r.paced.every((p) => p.skipped || p.ok)) ? 0 : 1)' "$WORK/result.json" \
  || { echo "FAILED: exactly-once check (see above)" >&2; exit 1; }
