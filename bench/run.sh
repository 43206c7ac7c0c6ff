#!/usr/bin/env bash
# `make bench`: every benchmark (bench/*/run.sh) in turn, in name order. Each writes its own
# section of docs/BENCHMARKS.md. A failing benchmark does not stop the others; the exit status
# says whether all passed. Extra arguments are passed to each; BENCH_ONLY="rental billing"
# limits the run to those.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
failed=()
for script in "$ROOT"/bench/*/run.sh; do
  name=$(basename "$(dirname "$script")")
  if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then continue; fi
  echo "=== bench/$name ($(date -u '+%H:%M:%S UTC'))"
  if ! bash "$script" "$@"; then
    echo "=== bench/$name FAILED" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
echo "=== all benchmarks done"
