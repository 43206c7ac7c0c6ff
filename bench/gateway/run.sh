#!/usr/bin/env bash
# Gateway benchmark: the evshare gateway against HAProxy configured the same way (consistent
# source hash with a 1.25 balance factor, /readyz checks, keep-alive to the servers), in front of
# the same two backends, under the same wrk load, in one run (with bare backends also the
# gateway's first design, node-http-proxy.js, as a reference); then the gateway's memory with
# 10,000 idle keep-alive client connections. Results go to docs/BENCHMARKS.md ("Gateway").
#
#   bash bench/gateway/run.sh            # BENCH_DURATION=10 BENCH_ROUNDS=3 BENCH_IDLE=10000
#   BENCH_WRITE=0 bash bench/gateway/run.sh   # print only
#   BENCH_APP=0 ...                      # bare backends only (no real APP instances)
#   BENCH_PROFILE=1 ...                  # also CPU-profile the gateway (node --cpu-prof, into BENCH_PROFILE_DIR)
#   BENCH_BASELINE=/path/to/tree ...     # also the gateway built in another tree (e.g. a worktree of main), same run
#
# Backends: bare node:http JSON servers, and, when services/app/dist/main.js is built and
# PostgreSQL, Redis and NATS answer, two real APP instances (unauthenticated GET /api/v1/sync,
# answered 401 by the APP's own middleware: the cheapest real route that involves no session).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
HERE="$ROOT/bench/gateway"
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE=${BENCH_IDLE:-10000}
WRITE=${BENCH_WRITE:-1}
CONNECTIONS=64
WORK=$(bench_workdir gateway)
PIDS=()

BENCH_DB=""
BACKEND_PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/haproxy.pid" ] && kill "$(cat "$WORK/haproxy.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  bench_drop_backends "$BENCH_DB" "$BENCH_DB"
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
LOAD_AT_START=$(bench_load)

# A balancer is a process and, for the gateway with workers, its children: both are counted.
family() { echo "$1" $(pgrep -P "$1" || true); }

rss_kb() { local pid sum=0; for pid in $(family "$1"); do sum=$((sum + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))); done; echo "$sum"; }

cpu_ticks() { local pid sum=0; for pid in $(family "$1"); do sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done; echo "$sum"; }

# wrk against url for duration s -> "rps p50_ms p99_ms non2xx balancer_cpu total_cpu": CPU in µs per
# request (user + system time) of the balancer process pid, and of everything in the benchmark
# (wrk, the backends, the balancer). Unlike throughput, CPU per request hardly depends on what else
# the machine runs; on a machine running nothing else, throughput is inversely proportional to
# the total.
run_wrk() { # url duration [pid]
  local before=0 after=0 backends_before=0 backends_after=0 pid
  [ -n "${3:-}" ] && before=$(cpu_ticks "$3")
  for pid in "${BACKEND_PIDS[@]}"; do backends_before=$((backends_before + $(cpu_ticks "$pid"))); done
  local TIMEFORMAT='%U %S'
  { time wrk -t1 -c"$CONNECTIONS" -d"${2}s" --latency "$1" >"$WORK/wrk.out"; } 2>"$WORK/wrk.time"
  [ -n "${3:-}" ] && after=$(cpu_ticks "$3")
  for pid in "${BACKEND_PIDS[@]}"; do backends_after=$((backends_after + $(cpu_ticks "$pid"))); done
  awk -v ticks=$((after - before)) -v others=$((backends_after - backends_before)) -v wrk_s="$(awk '{ print $1 + $2 }' "$WORK/wrk.time")" -v hz="$(getconf CLK_TCK)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    $2 == "requests" && $3 == "in" { n = $1 }
    /Non-2xx or 3xx responses/ { bad = $NF }
    END {
      own = (n > 0 ? ticks * 1e6 / hz / n : 0)
      total = (n > 0 ? (ticks + others) * 1e6 / hz / n + wrk_s * 1e6 / n : 0)
      printf "%.0f %.3f %.3f %d %.1f %.1f\n", rps, p50, p99, bad + 0, own, total
    }' "$WORK/wrk.out"
}

start_backends() { # kind -> sets B1 B2
  local kind=$1
  B1=$(free_port); B2=$(free_port)
  BACKEND_PIDS=()
  if [ "$kind" = bare ]; then
    node "$HERE/backend.js" "$B1" bench-1 >/dev/null & PIDS+=($!); BACKEND_PIDS+=($!)
    node "$HERE/backend.js" "$B2" bench-2 >/dev/null & PIDS+=($!); BACKEND_PIDS+=($!)
  else
    # Its own database, key prefix and subject prefix, removed afterwards (cleanup).
    BENCH_DB="evshare_bench_$(date +%s)"
    bench_fresh_db "$BENCH_DB"
    for port in "$B1" "$B2"; do
      PORT=$port INSTANCE_ID="app-$port" LOG_LEVEL=warn NATS_URL=nats://127.0.0.1:4222 NATS_SUBJECT_PREFIX="$BENCH_DB." \
        REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$BENCH_DB:" DATABASE_URL="postgres://postgres@127.0.0.1:5432/$BENCH_DB" \
        node services/app/dist/main.js >"$WORK/app-$port.log" 2>&1 & PIDS+=($!); BACKEND_PIDS+=($!)
    done
  fi
  wait_http "http://127.0.0.1:$B1/readyz" 300 || { cat "$WORK"/app-*.log >&2 2>/dev/null; return 1; }
  wait_http "http://127.0.0.1:$B2/readyz" 300 || { cat "$WORK"/app-*.log >&2 2>/dev/null; return 1; }
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
  # The same request rewriting as the gateway: forwarding headers and a request id.
  option forwardfor
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  unique-id-format %{+X}o%ci%cp%fp%Ts%rt%pid
  unique-id-header X-Request-Id
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
  wait_http "http://127.0.0.1:$HP/readyz" 300
}

start_gateway() { # [tree] [workers] -> GP GW_PID
  local tree=${1:-$ROOT} workers=${2:-0}
  GP=$(free_port)
  local prof=()
  [ "${BENCH_PROFILE:-0}" = 1 ] && prof=(--cpu-prof --cpu-prof-dir "${BENCH_PROFILE_DIR:-/tmp/evshare-gateway-profiles}")
  # ADMIN_PORT=0: the operators' listener on any free port (a gateway before it ignores the variable).
  # GATEWAY_WORKERS=0: one worker per core (a gateway before workers ignores the variable).
  GATEWAY_WORKERS=$workers PORT=$GP ADMIN_PORT=0 APP_UPSTREAMS="http://127.0.0.1:$B1,http://127.0.0.1:$B2" LOG_LEVEL=error \
    node "${prof[@]}" "$tree/services/gateway/dist/main.js" & GW_PID=$!
  PIDS+=("$GW_PID")
  wait_http "http://127.0.0.1:$GP/readyz" 300
}


stop_all() {
  kill -INT "$GW_PID" 2>/dev/null || true
  [ -f "$WORK/haproxy.pid" ] && kill "$(cat "$WORK/haproxy.pid")" 2>/dev/null || true
  rm -f "$WORK/haproxy.pid"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

# Compares the balancers on one set of backends; appends markdown rows to $WORK/rows.md and one
# summary line per balancer to $WORK/summary.txt.
compare() { # kind path label
  local kind=$1 path=$2 label=$3
  start_backends "$kind"
  start_haproxy
  start_gateway
  local names=(HAProxy gateway) ports=("$HP" "$GP") pids=("$(cat "$WORK/haproxy.pid")" "$GW_PID")
  local gw=$GW_PID gp=$GP
  # The same gateway as one process, as before workers: the before/after of the change in one run.
  start_gateway "$ROOT" 1
  names+=("gateway (1 process)"); ports+=("$GP"); pids+=("$GW_PID")
  if [ -n "${BENCH_BASELINE:-}" ]; then
    start_gateway "$BENCH_BASELINE"
    names+=("gateway (baseline)"); ports+=("$GP"); pids+=("$GW_PID")
  fi
  GW_PID=$gw GP=$gp
  if [ "$kind" = bare ]; then
    local NP
    NP=$(free_port)
    node "$HERE/node-http-proxy.js" "$NP" "http://127.0.0.1:$B1,http://127.0.0.1:$B2" & PIDS+=($!)
    names+=("node:http + Agent"); ports+=("$NP"); pids+=($!)
    wait_http "http://127.0.0.1:$NP/readyz" 300
  fi
  local direct
  direct=$(run_wrk "http://127.0.0.1:$B1$path" 5)
  # Warm-up: JIT, connection pools.
  for port in "${ports[@]}"; do run_wrk "http://127.0.0.1:$port$path" 3 >/dev/null; done
  local -A ratios=() dp99s=() cpus=() costs=()
  local n=${#names[@]}
  for round in $(seq 1 "$ROUNDS"); do
    local results=() order=()
    # Rotate the order so no balancer always runs on a warmer or cooler machine.
    for k in $(seq 0 $((n - 1))); do order+=($(((k + round - 1) % n))); done
    for i in "${order[@]}"; do results[$i]=$(run_wrk "http://127.0.0.1:${ports[$i]}$path" "$DURATION" "${pids[$i]}"); done
    read -r hr _ h99 _ _ htotal <<<"${results[0]}"
    for i in $(seq 0 $((n - 1))); do
      read -r r p50 p99 bad cpu total <<<"${results[$i]}"
      ratio=$(awk -v g="$r" -v h="$hr" 'BEGIN { printf "%.2f", g / h }')
      dp99=$(awk -v g="$p99" -v h="$h99" 'BEGIN { printf "%+.2f", g - h }')
      cost=$(awk -v g="$total" -v h="$htotal" 'BEGIN { printf "%.2f", h / g }')
      ratios[$i]+="$ratio "; dp99s[$i]+="$dp99 "; cpus[$i]+="$cpu "; costs[$i]+="$cost "
      [ "$i" = 0 ] && ratio="1" && dp99="0" && cost="1"
      echo "| $label | $round | ${names[$i]} | $r | $p50 / $p99 | $cpu | $total | $ratio | $cost | $dp99 |" | tee -a "$WORK/rows.md"
      [ "$bad" = 0 ] || [ "$kind" = app ] || echo "|  |  | (${names[$i]}: $bad answers not 2xx/3xx) |  |  |  |  |  |  |  |" | tee -a "$WORK/rows.md"
    done
  done
  read -r dr _ d99 _ <<<"$direct"
  for i in $(seq 0 $((n - 1))); do
    # shellcheck disable=SC2086
    echo "$label|${names[$i]}|$(median ${ratios[$i]})|$(median ${dp99s[$i]})|$(median ${cpus[$i]})|$(median ${costs[$i]})|$dr|$d99" >>"$WORK/summary.txt"
  done
  stop_all
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

app_runnable() {
  [ "${BENCH_APP:-1}" = 1 ] && [ -f services/app/dist/main.js ] && command -v psql >/dev/null || return 1
  (exec 3<>/dev/tcp/127.0.0.1/5432 && exec 3<>/dev/tcp/127.0.0.1/6379 && exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null
}

echo "| backends | round | balancer | req/s | p50 / p99 ms | balancer CPU µs/req | all CPU µs/req | req/s vs HAProxy | CPU-cost ratio | p99 − HAProxy's, ms |" >"$WORK/rows.md"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |" >>"$WORK/rows.md"
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
sleep 1
rss_before=$(rss_kb "$GW_PID")
node "$HERE/idle-clients.js" "http://127.0.0.1:$GP/api/v1/sync" "$IDLE" >"$WORK/idle.out" & IDLE_PID=$!
PIDS+=("$IDLE_PID")
for _ in $(seq 1 600); do grep -q ready "$WORK/idle.out" 2>/dev/null && break; sleep 0.1; done
sleep 2
rss_after=$(rss_kb "$GW_PID")
read -r _ opened failed <"$WORK/idle.out"
stop_all

# (No early exit in these pipelines: with pipefail, SIGPIPE in the writer would end the script.)
CPU=$(lscpu | awk -F: '/Model name/ && !seen { gsub(/^ +/, "", $2); print $2; seen = 1 }')
HAPROXY_VERSION=$(haproxy -v | awk 'NR == 1 { print $3 }')
HAPROXY_THREADS=$(nproc)
PRESSURE=$(awk '/^some/ { sub("avg60=", "", $3); print $3 }' /proc/pressure/cpu 2>/dev/null || echo unknown)
SECTION=$(
  echo "Run: \`bash bench/gateway/run.sh\` (BENCH_DURATION=$DURATION, BENCH_ROUNDS=$ROUNDS), $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Machine: $(nproc) cores ($CPU), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Node $(node -v), HAProxy $HAPROXY_VERSION ($HAPROXY_THREADS threads, its default here), wrk 1 thread, $CONNECTIONS connections, \`--latency\`, all on the same machine (load generator, balancer and backends share the cores). Load average $LOAD_AT_START when the run started, CPU pressure (PSI \"some\", last 60 s) $PRESSURE % at its end: other work on the machine moves throughput a lot between runs and even rounds; CPU µs per request (the balancer process's user + system time divided by the requests it served) is the steadier comparison."
  echo
  echo "Both balancers: consistent source hash with a 1.25 load bound (\`balance source\`, \`hash-type consistent\`, \`hash-balance-factor 125\` / the gateway's defaults), \`GET /readyz\` checks every second, keep-alive to the backends, X-Forwarded-For/-Proto/-Host and an X-Request-Id added to every request. wrk comes from one address, so both spread its 64 connections by the load bound. HAProxy's configuration is the heredoc in \`bench/gateway/run.sh\`. \`node:http + Agent\` (\`bench/gateway/node-http-proxy.js\`, round-robin, the same headers added) is the transport the gateway was first written with."
  echo
  cat "$WORK/rows.md"
  echo
  while IFS='|' read -r label name ratio dp99 cpu cost dr d99; do
    case "$name" in
      HAProxy) echo "- $label: HAProxy median CPU per request $cpu µs. One backend alone under the same wrk: $dr req/s, p99 $d99 ms." ;;
      gateway)
        verdict=$(awk -v r="$ratio" -v d="$dp99" 'BEGIN { print (r >= 0.9 && d <= 1) ? "meets" : "is below" }')
        projected=$(awk -v r="$cost" 'BEGIN { print (r >= 0.9) ? "meets" : "is below" }')
        echo "- $label: gateway median throughput **$ratio** of HAProxy's and median p99 difference **$dp99 ms**, which $verdict the target (>= 0.90, <= +1 ms); median CPU per request $cpu µs. CPU-cost ratio **$cost** (all CPU per request with HAProxy / with the gateway: the throughput ratio to expect on a machine running nothing else), which $projected the 0.90 target." ;;
      'gateway (1 process)') echo "- $label: the gateway as one process (GATEWAY_WORKERS=1, same run) median throughput $ratio of HAProxy's, CPU-cost ratio $cost, p99 difference $dp99 ms, CPU per request $cpu µs." ;;
      'gateway (baseline)') echo "- $label: $name (the gateway built in BENCH_BASELINE, same run) median throughput $ratio of HAProxy's, CPU-cost ratio $cost, p99 difference $dp99 ms, CPU per request $cpu µs." ;;
      *) echo "- $label: $name (the gateway's first transport) median throughput $ratio of HAProxy's, CPU-cost ratio $cost, p99 difference $dp99 ms, CPU per request $cpu µs." ;;
    esac
  done <"$WORK/summary.txt"
  echo "- $APP_NOTE"
  echo "- \`gateway\` is the gateway with its default of one worker per core ($(nproc) workers and the primary; CPU and memory are those of all its processes)."
  echo "- Memory: a freshly started gateway: RSS $((rss_before / 1024)) MiB, then $((rss_after / 1024)) MiB with $opened idle keep-alive client connections open (each served one request; $failed failed), i.e. about $(( (rss_after - rss_before) * 1024 / (opened > 0 ? opened : 1) )) bytes of process memory per connection (the kernel's socket buffers are not in RSS)."
)
echo
echo "$SECTION"

if [ "$WRITE" = 1 ]; then
  bench_write_section gateway-bench Gateway <<<"$SECTION"
fi
