# Shared set-up of the benchmark scripts (bench/*/run.sh source it): the backends' addresses, a
# temporary directory, a database of the run's own, the cleanup of what a run left in PostgreSQL,
# Redis and NATS, and writing a results section of docs/BENCHMARKS.md.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379} NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}

# A temporary directory for the run: bench_workdir <name>
bench_workdir() { mktemp -d "/tmp/evshare-bench-$1.XXXXXX"; }

# The machine's load averages (1, 5, 15 min), for the results.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# An empty database of that name (dropped first if a previous run left it).
bench_fresh_db() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; }

# What a run left behind: its database, its Redis keys (<prefix>:*) and its NATS streams (<prefix>.).
# bench_drop_backends <database> <prefix>; either may be empty. Never fails (used in traps).
bench_drop_backends() {
  [ -n "$1" ] && { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || true; }
  if [ -n "$2" ]; then
    redis-cli --scan --pattern "$2:*" 2>/dev/null | xargs -r redis-cli del >/dev/null 2>&1 || true
    node "$BENCH_ROOT/bench/rental/common.js" delete-streams "$NATS_URL" "$2." >/dev/null 2>&1 || true
  fi
  return 0
}

# Replaces (or adds) the section <id> titled <title> of docs/BENCHMARKS.md with standard input.
bench_write_section() {
  node -e 'require(process.argv[1]).writeSection(process.argv[2], process.argv[3], process.argv[4], require("fs").readFileSync(0, "utf8"))' \
    "$BENCH_ROOT/bench/rental/common.js" "$BENCH_ROOT/docs/BENCHMARKS.md" "$1" "$2"
  echo "written to docs/BENCHMARKS.md"
}

# A free TCP port on 127.0.0.1.
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# Waits until <url> answers 2xx (tries every 0.1 s, <tries> times, default 100).
wait_http() {
  for _ in $(seq 1 "${2:-100}"); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  return 1
}
