#!/usr/bin/env bash
# System packages the Spark tests need: a Java 17 runtime for pyspark's local mode.
set -euo pipefail
if ! command -v java >/dev/null 2>&1; then
    apt-get update
    apt-get install -y openjdk-17-jre-headless
fi
