#!/usr/bin/env bash
# System packages the ledger's tests need: a PostgreSQL 15 server (the tests start their own
# instance as the postgres user in a temporary directory). Idempotent.
set -euo pipefail
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  apt-get update
  apt-get install -y postgresql-15
fi
