#!/usr/bin/env bash
# System packages the batch tests need: Chromium opens the audit report headless.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update
    apt-get install -y chromium
fi
