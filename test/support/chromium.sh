#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (playwright cannot download browsers here). Installs it
# when missing, with a CJK font so the Chinese pages' screenshots are readable; CHROMIUM_PATH
# names another binary instead.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
fonts=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
[ -x "$browser" ] && { [ -n "${CHROMIUM_PATH:-}" ] || [ -f "$fonts" ]; } && exit 0
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "chromium: CHROMIUM_PATH=$browser is not an executable" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "chromium: installing Debian's chromium for the browser tests" >&2
packages=(chromium fonts-wqy-microhei)
$sudo apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null
}
[ -x "$browser" ]
