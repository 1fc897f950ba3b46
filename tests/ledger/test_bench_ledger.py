"""The ledger's benchmark script runs end to end (its figures are for bench/README.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_ledger.py"


def test_ledger_benchmark_runs_and_reports(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--visits", "12", "--patients", "3", "--clients", "2"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^sqlite: 12 visits of 3 patients posted by 2 client\(s\) in [\d.]+ s: "
                     r"[\d,]+ posts/s$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^year of a patient \(4 visits\): median [\d.]+ ms, p99 [\d.]+ ms$",
                     done.stdout, re.MULTILINE), done.stdout
    bad = subprocess.run([sys.executable, str(BENCH), "--visits", "0"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")
