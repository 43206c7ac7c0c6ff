# evshare: `make run` brings the platform up on this machine; `make test` runs every test.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json

.PHONY: run test test-unit test-node24 build typecheck bench fuzz e2e e2e-local e2e-node k8s-tools k8s-images browser lint format format-check clean

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

build: $(NPM_STAMP)
	npx tsc -b
	npm run build --silent -w @evshare/web

## Start everything (embedded backends unless REDIS_URL / NATS_URL / DATABASE_URL are set).
run: build
	node services/stack/dist/main.js

## Type checks, lint (ESLint, Prettier), then unit, contract, integration and control-plane tests (needs Redis, NATS, PostgreSQL running; see README).
test: build k8s-tools browser
	npx tsc -p tsconfig.test.json
	npx tsc -p services/web/ui
	npx eslint --max-warnings=0 .
	npx prettier --check --log-level=warn .
	npx jest --ci

test-unit: $(NPM_STAMP)
	npx jest --selectProjects unit

## The unit suite again on Node.js 24 LTS, the images' runtime (fetched once from the npm registry).
test-node24: $(NPM_STAMP)
	PATH="$$(dirname "$$(bash test/support/node24.sh)"):$$PATH" npx jest --ci --selectProjects unit

typecheck: build
	npx tsc -p tsconfig.test.json
	npx tsc -p services/web/ui

## ESLint (eslint.config.mjs: typescript-eslint's type-aware rules, import cycles, React hooks).
lint: $(NPM_STAMP)
	npx eslint --max-warnings=0 .

## Prettier over the tree (.prettierrc.json); format-check only reports.
format: $(NPM_STAMP)
	npx prettier --write .

format-check: $(NPM_STAMP)
	npx prettier --check .

## Builds helm, the control plane, etcd, kwok, and the node's kubelet, kube-proxy, kubectl, CoreDNS and crictl from Go modules (cached outside the repo).
k8s-tools:
	bash test/k8s/tools.sh >/dev/null

## The container images, built here without a registry (Debian packages + Node 24); cached by content hash.
k8s-images: build
	bash test/k8s/images.sh >/dev/null

## Debian's Chromium for the browser tests (installed when missing).
browser:
	bash test/support/chromium.sh

## Benchmarks; results go to docs/BENCHMARKS.md.
bench: build
	bash bench/run.sh

## The adversarial suites as a soak: every property runs for FUZZ_SECONDS (default 60) each; the cases are summed at the end.
FUZZ_SECONDS ?= 60
fuzz: build
	set -o pipefail; FUZZ_SECONDS=$(FUZZ_SECONDS) npx jest --ci test/adversarial test/backbone/nats-permissions.test.ts 2>&1 | tee .fuzz.log; \
	status=$$?; awk '/^fuzz: / { for (i = 1; i <= NF; i++) if ($$i == "cases,") n += $$(i - 1) } END { print "fuzz: " n " cases in all" }' .fuzz.log; exit $$status

## End-to-end on a kind cluster (needs Docker and kind).
e2e:
	bash test/e2e/kind/run.sh

## The same end-to-end suite against the chart on a real one-node cluster started here (root; images from k8s-images).
e2e-node: build k8s-tools k8s-images
	npx jest --ci -c test/e2e/node/jest.config.js

## The same end-to-end suite against the local stack.
e2e-local: build
	npx jest test/e2e

clean:
	rm -rf services/*/dist operator/dist sims/*/dist
