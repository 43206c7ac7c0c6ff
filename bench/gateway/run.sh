#!/usr/bin/env bash
# Gateway benchmark: the evshare gateway against HAProxy configured the same way (consistent
# source hash with a 1.25 balance factor, /readyz checks, keep-alive to the servers), in front of
# the same two backends, under the same wrk load, in one run; then the gateway's memory with
# 10,000 idle keep-alive client connections. Results go to docs/BENCHMARKS.md ("Gateway").
#
#   bash bench/gateway/run.sh            # BENCH_DURATION=12 BENCH_ROUNDS=2 BENCH_IDLE=10000
#   BENCH_WRITE=0 bash bench/gateway/run.sh   # print only
#   BENCH_PROFILE=1 ...                  # also write a CPU profile of the gateway (node --cpu-prof)
#
# Backends: bare node:http JSON servers, and, when services/app/dist/main.js is built and
# PostgreSQL, Redis and NATS answer, two real APP instances (unauthenticated GET /api/v1/sync,
# answered 401 by the APP's own middleware: the cheapest real route that involves no session).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/gateway"
DURATION=${BENCH_DURATION:-12}
ROUNDS=${BENCH_ROUNDS:-2}
IDLE=${BENCH_IDLE:-10000}
WRITE=${BENCH_WRITE:-1}
CONNECTIONS=64
WORK=$(mktemp -d /tmp/evshare-bench-gateway.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/haproxy.pid" ] && kill "$(cat "$WORK/haproxy.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "missing $1: apt-get install -y haproxy wrk" >&2; exit 1; }; }
need haproxy
need wrk
# The gateway holds IDLE client sockets plus its upstream pools; the client process as many.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((IDLE + 1000)) ]; then echo "ulimit -n is $(ulimit -n): too low for $IDLE connections" >&2; exit 1; fi

cd "$ROOT"
npx tsc -b services/gateway

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_http() { for _ in $(seq 1 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# wrk output -> "rps p50_ms p99_ms"
run_wrk() {
  wrk -t1 -c"$CONNECTIONS" -d"${2}s" --latency "$1" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad + 0 }'
}

start_backends() { # kind -> sets B1 B2
  local kind=$1
  B1=$(free_port); B2=$(free_port)
  if [ "$kind" = bare ]; then
    node "$HERE/backend.js" "$B1" bench-1 >/dev/null & PIDS+=($!)
    node "$HERE/backend.js" "$B2" bench-2 >/dev/null & PIDS+=($!)
  else
    local prefix="bench$(date +%s)."
    for port in "$B1" "$B2"; do
      PORT=$port INSTANCE_ID="app-$port" LOG_LEVEL=warn NATS_URL=nats://127.0.0.1:4222 NATS_SUBJECT_PREFIX="$prefix" \
        REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$prefix" DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        node services/app/dist/main.js >"$WORK/app-$port.log" 2>&1 & PIDS+=($!)
    done
  fi
  wait_http "http://127.0.0.1:$B1/readyz"
  wait_http "http://127.0.0.1:$B2/readyz"
}

start_haproxy() {
  HP=$(free_port)
  cat >"$WORK/haproxy.cfg" <<EOF
global
  # 2 descriptors per connection must fit under ulimit -n (20000 on these machines).
  maxconn 8000
  log stdout format raw local0 emerg
defaults
  mode http
  timeout connect 2s
  timeout client 65s
  timeout server 30s
  timeout http-keep-alive 65s
  option http-keep-alive
frontend gateway
  bind 127.0.0.1:$HP
  default_backend app
backend app
  balance source
  hash-type consistent
  hash-balance-factor 125
  option httpchk GET /readyz
  http-check expect status 200
  http-reuse always
  server app1 127.0.0.1:$B1 check inter 1s fall 3 rise 2
  server app2 127.0.0.1:$B2 check inter 1s fall 3 rise 2
EOF
  haproxy -f "$WORK/haproxy.cfg" -D -p "$WORK/haproxy.pid"
  wait_http "http://127.0.0.1:$HP/readyz"
}

start_gateway() {
  GP=$(free_port)
  local prof=()
  [ "${BENCH_PROFILE:-0}" = 1 ] && prof=(--cpu-prof --cpu-prof-dir "$ROOT/bench/gateway/profiles")
  PORT=$GP APP_UPSTREAMS="http://127.0.0.1:$B1,http://127.0.0.1:$B2" LOG_LEVEL=error \
    node "${prof[@]}" services/gateway/dist/main.js & GW_PID=$!
  PIDS+=("$GW_PID")
  wait_http "http://127.0.0.1:$GP/readyz"
}

stop_all() {
  kill -INT "$GW_PID" 2>/dev/null || true
  [ -f "$WORK/haproxy.pid" ] && kill "$(cat "$WORK/haproxy.pid")" 2>/dev/null || true
  rm -f "$WORK/haproxy.pid"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

# Compares both balancers on one set of backends; appends markdown rows to $WORK/rows.md.
compare() { # kind path label
  local kind=$1 path=$2 label=$3
  start_backends "$kind"
  start_haproxy
  start_gateway
  local direct
  direct=$(run_wrk "http://127.0.0.1:$B1$path" 5)
  # Warm-up: JIT, connection pools.
  run_wrk "http://127.0.0.1:$HP$path" 3 >/dev/null
  run_wrk "http://127.0.0.1:$GP$path" 3 >/dev/null
  local sum_ratio=0 sum_dp99=0
  for round in $(seq 1 "$ROUNDS"); do
    # Alternate the order so neither always runs on a warmer or cooler machine.
    if [ $((round % 2)) = 1 ]; then
      h=$(run_wrk "http://127.0.0.1:$HP$path" "$DURATION"); g=$(run_wrk "http://127.0.0.1:$GP$path" "$DURATION")
    else
      g=$(run_wrk "http://127.0.0.1:$GP$path" "$DURATION"); h=$(run_wrk "http://127.0.0.1:$HP$path" "$DURATION")
    fi
    read -r hr h50 h99 hbad <<<"$h"
    read -r gr g50 g99 gbad <<<"$g"
    ratio=$(awk -v g="$gr" -v h="$hr" 'BEGIN { printf "%.2f", g / h }')
    dp99=$(awk -v g="$g99" -v h="$h99" 'BEGIN { printf "%+.2f", g - h }')
    sum_ratio=$(awk -v a="$sum_ratio" -v b="$ratio" 'BEGIN { print a + b }')
    sum_dp99=$(awk -v a="$sum_dp99" -v b="$dp99" 'BEGIN { print a + b }')
    echo "| $label | $round | $hr | $h50 / $h99 | $gr | $g50 / $g99 | **$ratio** | $dp99 |" | tee -a "$WORK/rows.md"
    [ "$hbad$gbad" = 00 ] || [ "$kind" = app ] || echo "  (non-2xx answers: haproxy $hbad, gateway $gbad)" | tee -a "$WORK/rows.md"
  done
  read -r dr d50 d99 _ <<<"$direct"
  echo "$label|$(awk -v s="$sum_ratio" -v n="$ROUNDS" 'BEGIN { printf "%.2f", s / n }')|$(awk -v s="$sum_dp99" -v n="$ROUNDS" 'BEGIN { printf "%+.2f", s / n }')|$dr|$d99" >>"$WORK/summary.txt"
  stop_all
}

app_runnable() {
  [ -f services/app/dist/main.js ] || return 1
  (exec 3<>/dev/tcp/127.0.0.1/5432 && exec 3<>/dev/tcp/127.0.0.1/6379 && exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null
}

echo "| backends | round | HAProxy req/s | HAProxy p50 / p99 ms | gateway req/s | gateway p50 / p99 ms | ratio | p99 diff ms |" >"$WORK/rows.md"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |" >>"$WORK/rows.md"
: >"$WORK/summary.txt"
compare bare /api/v1/sync "2 bare node:http"
APP_NOTE="Real APP instances: not run (services/app/dist/main.js missing or PostgreSQL/Redis/NATS not answering)."
if app_runnable; then
  compare app /api/v1/sync "2 APP instances (401 poll)"
  APP_NOTE="Real APP instances: two \`services/app/dist/main.js\` on the local PostgreSQL, Redis and NATS; \`GET /api/v1/sync\` without a session, answered 401 problem+json by the APP."
fi

# Memory with IDLE idle keep-alive client connections (bare backends).
start_backends bare
start_gateway
run_wrk "http://127.0.0.1:$GP/api/v1/sync" 2 >/dev/null
sleep 1
rss_before=$(rss_kb "$GW_PID")
node "$HERE/idle-clients.js" "http://127.0.0.1:$GP/api/v1/sync" "$IDLE" >"$WORK/idle.out" & IDLE_PID=$!
PIDS+=("$IDLE_PID")
for _ in $(seq 1 600); do grep -q ready "$WORK/idle.out" 2>/dev/null && break; sleep 0.1; done
sleep 2
rss_after=$(rss_kb "$GW_PID")
read -r _ opened failed <"$WORK/idle.out"
stop_all

CPU=$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
HAPROXY_VERSION=$(haproxy -v | head -1 | awk '{print $3}')
HAPROXY_THREADS=$(nproc)
SECTION=$(
  echo "Run: \`bash bench/gateway/run.sh\` (BENCH_DURATION=$DURATION, BENCH_ROUNDS=$ROUNDS), $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Machine: $(nproc) cores ($CPU), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Node $(node -v), HAProxy $HAPROXY_VERSION ($HAPROXY_THREADS threads, its default here), wrk 1 thread, $CONNECTIONS connections, \`--latency\`, all on the same machine (load generator, balancer and backends share the cores)."
  echo
  echo "Both balancers: consistent source hash with a 1.25 load bound (\`balance source\`, \`hash-type consistent\`, \`hash-balance-factor 125\` / the gateway's defaults), \`GET /readyz\` checks every second, keep-alive to the backends. wrk comes from one address, so both spread its 64 connections by the load bound."
  echo
  cat "$WORK/rows.md"
  echo
  while IFS='|' read -r label ratio dp99 dr d99; do
    verdict=$(awk -v r="$ratio" -v d="$dp99" 'BEGIN { print (r >= 0.9 && d <= 1) ? "meets the target" : "below the target" }')
    echo "- $label: mean throughput ratio gateway/HAProxy **$ratio** (target >= 0.90), mean p99 difference **$dp99 ms** (target <= +1 ms): $verdict. One backend alone under the same wrk: $dr req/s, p99 $d99 ms."
  done <"$WORK/summary.txt"
  echo "- $APP_NOTE"
  echo "- Memory: gateway RSS $((rss_before / 1024)) MiB before, $((rss_after / 1024)) MiB with $opened idle keep-alive client connections open ($failed failed), i.e. about $(( (rss_after - rss_before) * 1024 / (opened > 0 ? opened : 1) )) bytes per connection."
)
echo
echo "$SECTION"

if [ "$WRITE" = 1 ]; then
  node "$HERE/write-section.js" "$ROOT/docs/BENCHMARKS.md" <<<"$SECTION"
  echo "written to docs/BENCHMARKS.md"
fi
