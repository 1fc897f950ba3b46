#!/usr/bin/env bash
# System packages the web tests need: Debian's Chromium and its WebDriver (the browser tests
# drive /usr/bin/chromium through /usr/bin/chromedriver), and curl (the README's API examples
# are run against a live server). Idempotent.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -x /usr/bin/curl ]; then
  exit 0
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver curl
