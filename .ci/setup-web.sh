#!/usr/bin/env bash
# System packages the web tests need: Debian's Chromium and its WebDriver (the browser tests
# drive /usr/bin/chromium through /usr/bin/chromedriver). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
