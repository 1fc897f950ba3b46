"""The API benchmark runs end to end against a real server (its speed is judged by running
``bench/bench_api.py`` itself, not here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_api.py"


def test_api_benchmark_runs_and_reports() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "300", "--repeat", "1", "--connections", "4",
         "--target-rate", "0", "--target-p99", "1e9"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^run 1: 300 requests in [\d.]+ s = [\d,]+/s; latency p50 [\d.]+ ms, "
                     r"p90 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms$", done.stdout, re.M), \
        done.stdout
    assert re.search(r"^best: [\d,]+ requests/s with p99 [\d.]+ ms .*2 workers", done.stdout,
                     re.M)


def test_api_benchmark_fails_below_target() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "100", "--repeat", "1", "--workers", "1",
         "--target-rate", "1e9"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert "below target" in done.stderr
