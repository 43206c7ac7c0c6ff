#!/usr/bin/env bash
# Login storm benchmark: BENCH_MEMBERS members (default 50,000) log in at once through the gateway
# to AUTH_INSTANCES auth processes (real PostgreSQL, Redis, NATS), each member from its own 127.x
# source address, the load generator in BENCH_DRIVERS processes of its own. First the auth tier's
# unloaded capacity (a closed loop with as many logins in flight as there are argon2 slots), then
# the storm: every member starts at once and retries by the web UI's rule (Retry-After with
# jitter) until it is in. Reports goodput (members in per second) against the capacity, how long
# they all took, what the members saw, and the argon2 hashes started. Results go to
# docs/BENCHMARKS.md ("Login storm").
#
#   bash bench/login/run.sh                             # BENCH_MEMBERS=50000
#   BENCH_MEMBERS=5000 BENCH_WRITE=0 bash bench/login/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/login"
MEMBERS=${BENCH_MEMBERS:-50000}
DRIVERS=${BENCH_DRIVERS:-4}
AUTHS=${AUTH_INSTANCES:-2}
SLOTS=${PASSWORD_HASH_CONCURRENCY:-1}
CAPACITY_SECONDS=${BENCH_CAPACITY_SECONDS:-20}
WRITE=${BENCH_WRITE:-1}
WORK=$(bench_workdir login)
PREFIX="benchlogin$$"
DB="evshare_bench_login_$$"
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379} NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli --scan --pattern "$PREFIX:*" | xargs -r redis-cli del >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$ROOT"
[ -f services/auth/dist/main.js ] || npx tsc -b
bench_fresh_db "$DB"
export DATABASE_URL="$PG/$DB"
# The storm's members, then a quarter as many more for the two capacity runs.
SEEDED=$((MEMBERS + MEMBERS / 4))
node "$HERE/setup.js" "$DATABASE_URL" "$SEEDED"

export REDIS_KEY_PREFIX="$PREFIX:" NATS_SUBJECT_PREFIX="$PREFIX." LOG_LEVEL=warn
AUTH_URLS=()
for i in $(seq 1 "$AUTHS"); do
  port=$(free_port)
  PORT=$port INSTANCE_ID="auth-$i" PASSWORD_HASH_CONCURRENCY=$SLOTS node services/auth/dist/main.js >"$WORK/auth-$i.log" 2>&1 &
  PIDS+=($!)
  AUTH_URLS+=("http://127.0.0.1:$port")
done
for url in "${AUTH_URLS[@]}"; do wait_http "$url/readyz" 200; done
GW_PORT=$(free_port); GW_ADMIN=$(free_port)
# The gateway passes every login to auth, whose admission decides (its own queue would answer with
# a fixed Retry-After); auth's shed 503s carry Retry-After, which the ejector does not count.
PORT=$GW_PORT ADMIN_PORT=$GW_ADMIN ADMIN_HOST=127.0.0.1 AUTH_UPSTREAMS=$(IFS=,; echo "${AUTH_URLS[*]}") \
  DEFAULT_MAX_CONCURRENCY=100000 \
  node services/gateway/dist/main.js >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$GW_PORT/healthz" 200
GATEWAY="http://127.0.0.1:$GW_PORT"

hashes() { # argon2 hashes started, summed over the auth instances
  local total=0
  for url in "${AUTH_URLS[@]}"; do
    total=$((total + $(curl -fs "$url/metrics" | awk '/^password_hashes_started_total/ {print $NF}')))
  done
  echo "$total"
}

# Unloaded capacity: as many logins in flight as there are slots, over distinct members (seeded
# after the storm's, so the storm's members log in for the first time).
CAP_FROM=$MEMBERS
LOAD_CAPACITY=$(cut -d' ' -f1-3 /proc/loadavg)
CAP_MID=$((MEMBERS + MEMBERS / 8))
node "$HERE/driver.js" capacity "$GATEWAY" "$CAP_FROM" "$CAP_MID" $((AUTHS * SLOTS)) "$CAPACITY_SECONDS" >"$WORK/capacity-before.json"

STORM=$MEMBERS
H0=$(hashes)
LOAD_STORM=$(cut -d' ' -f1-3 /proc/loadavg)
DRIVER_PIDS=()
for d in $(seq 0 $((DRIVERS - 1))); do
  from=$((STORM * d / DRIVERS)); to=$((STORM * (d + 1) / DRIVERS))
  node "$HERE/driver.js" storm "$GATEWAY" "$from" "$to" >"$WORK/storm-$d.json" &
  DRIVER_PIDS+=($!)
done
for pid in "${DRIVER_PIDS[@]}"; do wait "$pid"; done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
H1=$(hashes)
# Again after the storm: the machine is shared, so the capacity is the mean of before and after.
node "$HERE/driver.js" capacity "$GATEWAY" "$CAP_MID" "$SEEDED" $((AUTHS * SLOTS)) "$CAPACITY_SECONDS" >"$WORK/capacity-after.json"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SHED=0
for url in "${AUTH_URLS[@]}"; do
  SHED=$((SHED + $(curl -fs "$url/metrics" | awk '/^admission_shed_total/ {s += $NF} END {print s + 0}')))
  curl -fs "$url/metrics" | grep -E '^admission_(shed_total|queue_seconds_(sum|count))' >&2 || true
done

WRITE_TO=""
[ "$WRITE" = 1 ] && WRITE_TO="$ROOT/docs/BENCHMARKS.md"
node "$HERE/report.js" "$WORK" "$STORM" "$AUTHS" "$SLOTS" "$DRIVERS" "$((H1 - H0))" "$SHED" "$LOAD_CAPACITY" "$LOAD_STORM" "$LOAD_END" "$MEMBERS" "$WRITE_TO" "$LOAD_AFTER"
