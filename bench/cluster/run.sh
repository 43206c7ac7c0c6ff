#!/usr/bin/env bash
# The in-cluster entry points, HAProxy (the default, driven by the operator) and the evshare
# gateway, under the same load in the same run on the real one-node cluster of `make e2e-node`
# (test/e2e/node/entries.bench.ts). Needs what `make e2e-node` needs (.ci/run installs it) and
# writes the "Entry points on the cluster" section of docs/BENCHMARKS.md (BENCH_WRITE=0: print only).
# BENCH_DURATION (s per round and entry, default 10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/../.."
make --no-print-directory build k8s-tools k8s-images
npx jest --ci -c test/e2e/node/bench.config.js
