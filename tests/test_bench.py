"""The benchmark script runs end to end (its speed is judged by ``make bench``, not here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_engine.py"


def test_benchmark_runs_and_reports_rate_and_memory() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--visits", "400", "--repeat", "2", "--target", "0"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    runs = re.findall(r"^400 visits \(([\d,]+) claim lines\) in [\d.]+ s: ([\d,]+) visits/s "
                      r"on one core; peak memory (\d+) MiB$", done.stdout, re.MULTILINE)
    assert len(runs) == 2, done.stdout
    for lines, rate, peak in runs:
        assert int(lines.replace(",", "")) > 400  # visits have one to five lines
        assert int(rate.replace(",", "")) > 0 and int(peak) > 0
    assert re.search(r"^best [\d,]+ visits/s, median [\d,]+ over 2 run\(s\); target 0$",
                     done.stdout, re.MULTILINE)


def test_benchmark_fails_below_its_target() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--visits", "200", "--repeat", "1", "--target", "1e12"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert "below the target" in done.stderr
