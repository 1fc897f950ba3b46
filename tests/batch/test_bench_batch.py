"""The batch benchmark runs end to end on a small generated file (its figures are taken by
running it by hand, see bench/README.md), and the generator makes what it says."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_bench_batch_runs_and_reports_every_configuration(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_batch.py"), "--visits", "600", "--workdir",
         str(tmp_path)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    for label in ("polars floor", "1 worker(s)", "2 worker(s)"):
        assert re.search(rf"{re.escape(label)}: 600 visits \([\d,]+ lines\) in [\d.]+ s = "
                         r"[\d,]+ visits/s; peak \d+ MiB", done.stdout), (label, done.stdout)
    assert re.search(r"^2 worker\(s\): [\d,]+x the floor's time, [\d,]+x its CPU time$",
                     done.stdout, re.MULTILINE)
    assert (tmp_path / "out-2" / "lines.parquet").exists()


def test_generated_visits_look_like_the_benchmark_says(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from claims_gen import write
    finally:
        sys.path.remove(str(BENCH))
    rows = write(tmp_path / "v.csv", 3000, seed=5)
    with (tmp_path / "v.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == rows
    visits = {row["visit_id"] for row in table}
    assert len(visits) == 3000
    assert 2.4 < rows / len(visits) < 2.8  # about 2.6 lines a visit
    years = {row["date_of_service"][:4] for row in table}
    assert years == {"2024", "2025"}
    assert {row["payer"] for row in table} == {"medicare", "commercial-cpt", "commercial-mppr"}
    assert len({row["locality"] for row in table}) >= 5
    assert any(row["assistant_minutes"] for row in table)
    assert any(row["code"] in ("97161", "97162", "97163") for row in table)


def test_plain_visits_are_the_common_visit(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from claims_gen import write
    finally:
        sys.path.remove(str(BENCH))
    write(tmp_path / "p.csv", 2000, seed=5, plain=True)
    with (tmp_path / "p.csv").open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert {row["payer"] for row in table} == {"medicare"}
    assert not any(row["assistant_minutes"] or row["modifiers"] for row in table)
    assert "97150" not in {row["code"] for row in table}
    assert "05441-99" not in {row["locality"] for row in table}
