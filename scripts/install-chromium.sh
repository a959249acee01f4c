#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (test/browser/), once: a machine that has it
# already is left alone. CI runs as root on Debian with only the npm registry and the Debian
# archive reachable, which is why this is a Debian package and not Playwright's own download.
set -euo pipefail
# CHROMIUM_PATH: a Chromium or Chrome the machine already has (e.g. GitHub's runner image).
if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: /usr/bin/chromium is missing; run this as root (or: sudo apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt run (unattended upgrades, a parallel job) instead of failing on its lock.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_get update -qq
apt_get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
