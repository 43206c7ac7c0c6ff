#!/usr/bin/env bash
# Poll benchmark: the authenticated periodic poll (GET /api/v1/sync) of one APP instance on real
# Redis, NATS and PostgreSQL, in its 304 case (one session, and 1,000 sessions so the instance's
# session cache misses) and its 200 case, against a bare express handler doing one Redis GET;
# then the 304 poll through the gateway. Same wrk load (1 thread, 64 connections), one run.
# Results go to docs/BENCHMARKS.md ("Poll").
#
#   bash bench/poll/run.sh                    # BENCH_DURATION=10
#   BENCH_WRITE=0 bash bench/poll/run.sh      # print only
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/poll"
DURATION=${BENCH_DURATION:-10}
# Every case runs once per round, cases interleaved; the best round counts, so load from other
# work on the machine hits the baseline and the poll alike.
ROUNDS=${BENCH_ROUNDS:-3}
WRITE=${BENCH_WRITE:-1}
WORK=$(bench_workdir poll)
PREFIX="benchpoll$$"
DB="evshare_bench_poll"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bench_drop_backends "" "$PREFIX"
  rm -rf "$WORK"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "missing wrk: apt-get install -y wrk" >&2; exit 1; }

cd "$ROOT"
bench_fresh_db "$DB"
export DATABASE_URL="$PG/$DB"
node "$HERE/setup.js" "$DATABASE_URL" "$WORK" 1000 "$PREFIX:"

run_wrk() { # url [script] -> "rps p50 p99 non2xx3xx"
  local script=()
  [ -n "${2:-}" ] && script=(-s "$2")
  wrk -t1 -c64 -d"${DURATION}s" --latency "${script[@]}" "$1" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad + 0 }'
}

APP_PORT=$(free_port); BASE_PORT=$(free_port); GW_PORT=$(free_port)
REDIS_KEY_PREFIX="$PREFIX:" NATS_SUBJECT_PREFIX="$PREFIX." LOG_LEVEL=warn PORT=$APP_PORT INSTANCE_ID=bench-app node services/app/dist/main.js >"$WORK/app.log" 2>&1 &
PIDS+=($!)
node "$HERE/baseline.js" "$BASE_PORT" >"$WORK/baseline.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$APP_PORT/readyz"
wait_http "http://127.0.0.1:$BASE_PORT/baseline"
NATS_SUBJECT_PREFIX="$PREFIX." LOG_LEVEL=warn PORT=$GW_PORT APP_UPSTREAMS="http://127.0.0.1:$APP_PORT" node services/gateway/dist/main.js >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$GW_PORT/healthz"

KEY=$(cat "$WORK/key")
ETAG=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$APP_PORT/api/v1/sync" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
[ -n "$ETAG" ] || { echo "no ETag from the APP instance" >&2; cat "$WORK/app.log" >&2; exit 1; }
export ETAG
# Each case once to warm up (JIT, connection pools), then measured.
run_wrk "http://127.0.0.1:$APP_PORT" "$WORK/poll-304-one.lua" >/dev/null
run_wrk "http://127.0.0.1:$BASE_PORT/baseline" >/dev/null

best() { # keeps the line with the highest requests/s
  sort -n -r | head -1
}
declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
  RESULTS[b]+="$(run_wrk "http://127.0.0.1:$BASE_PORT/baseline")"$'\n'
  RESULTS[p1]+="$(run_wrk "http://127.0.0.1:$APP_PORT" "$WORK/poll-304-one.lua")"$'\n'
  RESULTS[pm]+="$(run_wrk "http://127.0.0.1:$APP_PORT" "$WORK/poll-304-many.lua")"$'\n'
  RESULTS[p2]+="$(run_wrk "http://127.0.0.1:$APP_PORT" "$WORK/poll-200-one.lua")"$'\n'
  RESULTS[g]+="$(run_wrk "http://127.0.0.1:$GW_PORT" "$WORK/poll-304-many.lua")"$'\n'
  echo "poll bench: round $round of $ROUNDS done" >&2
done
read -r B_RPS B_P50 B_P99 B_BAD < <(printf '%s' "${RESULTS[b]}" | best)
read -r P1_RPS P1_P50 P1_P99 P1_BAD < <(printf '%s' "${RESULTS[p1]}" | best)
read -r PM_RPS PM_P50 PM_P99 PM_BAD < <(printf '%s' "${RESULTS[pm]}" | best)
read -r P2_RPS P2_P50 P2_P99 P2_BAD < <(printf '%s' "${RESULTS[p2]}" | best)
read -r G_RPS G_P50 G_P99 G_BAD < <(printf '%s' "${RESULTS[g]}" | best)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
REPORT=$(cat <<MD
Command: \`bash bench/poll/run.sh\` (wrk 1 thread, 64 connections, ${DURATION} s per case after a warm-up, best of ${ROUNDS} interleaved rounds), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(node --version), real Redis, NATS and PostgreSQL on loopback.

| case | requests/s | p50 ms | p99 ms | ratio to baseline | non-2xx/3xx |
| --- | ---: | ---: | ---: | ---: | ---: |
| baseline: bare express 5, one Redis GET + res.json | $B_RPS | $B_P50 | $B_P99 | 1.00 | $B_BAD |
| poll, 304, one session (session cached by the instance) | $P1_RPS | $P1_P50 | $P1_P99 | $(ratio "$P1_RPS" "$B_RPS") | $P1_BAD |
| poll, 304, 1,000 sessions round-robin (session read from Redis) | $PM_RPS | $PM_P50 | $PM_P99 | $(ratio "$PM_RPS" "$B_RPS") | $PM_BAD |
| poll, 200 (profile from the cache, notifications from PostgreSQL) | $P2_RPS | $P2_P50 | $P2_P99 | $(ratio "$P2_RPS" "$B_RPS") | $P2_BAD |
| poll, 304, 1,000 sessions, through the gateway | $G_RPS | $G_P50 | $G_P99 | $(ratio "$G_RPS" "$B_RPS") | $G_BAD |

Target: the poll at least 0.85 of the baseline.
MD
)
echo "$REPORT"
if [ "$WRITE" = 1 ]; then
  node -e '
    const fs = require("fs"); const [file, begin, end] = process.argv.slice(1);
    const block = begin + "\n" + fs.readFileSync(0, "utf8").trim() + "\n" + end;
    let text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n";
    const i = text.indexOf(begin), j = text.indexOf(end);
    text = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : text.trimEnd() + "\n\n## Poll\n\n" + block + "\n";
    fs.writeFileSync(file, text);
  ' "$ROOT/docs/BENCHMARKS.md" '<!-- poll-bench:begin (generated by bench/poll/run.sh) -->' '<!-- poll-bench:end -->' <<<"$REPORT"
fi
