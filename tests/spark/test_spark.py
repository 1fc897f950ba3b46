"""Real Spark (local[2]) against the batch command on one generated claims file: the lines,
findings and rejects tables are equal row for row after sorting, the planted bad records
included, and the spark-submit entry writes the same tables."""

from __future__ import annotations

import csv
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest

from therabill.batch.pipeline import plan_outputs, run
from therabill.batch.readers import COLUMNS

pytestmark = pytest.mark.spark

BENCH = Path(__file__).resolve().parents[2] / "bench"
VISITS = 3000


def _generated(folder: Path) -> Path:
    """About 3,000 generated visits over many patients and two years, rows shuffled so a
    visit's lines and a patient's visits are scattered, plus planted records of every kind the
    reader has to settle: rows of one visit that disagree, a row with nothing to group it by,
    a second visit of a patient on the same day (merged), lines grouped by patient and date
    alone, an unknown code, an impossible date, an unknown payer."""
    sys.path.insert(0, str(BENCH))
    try:
        from claims_gen import HEADER, generate
    finally:
        sys.path.remove(str(BENCH))
    rows = [dict(zip(HEADER, row, strict=True)) for row in generate(VISITS, seed=29)]
    first = rows[0]
    planted = [
        {"visit_id": "BAD-1", "patient_id": "Q1", "date_of_service": "2025-03-04",
         "payer": "medicare", "code": "97110", "minutes": "30"},
        {"visit_id": "BAD-1", "patient_id": "Q1", "date_of_service": "2025-03-05",
         "payer": "medicare", "code": "97140", "minutes": "15"},
        {"visit_id": "", "patient_id": "", "date_of_service": "2025-03-04", "code": "97110",
         "minutes": "20"},
        {**{name: first[name] for name in ("patient_id", "date_of_service", "payer",
                                           "locality", "discipline")},
         "visit_id": "SAME-DAY", "code": "97530", "minutes": "16"},
        {"visit_id": "", "patient_id": "Q2", "date_of_service": "2025-06-02",
         "payer": "medicare", "code": "97110", "minutes": "25"},
        {"visit_id": "", "patient_id": "Q2", "date_of_service": "2025-06-02",
         "payer": "medicare", "code": "97112", "minutes": "25"},
        {"visit_id": "ODD-1", "patient_id": "Q3", "date_of_service": "2025-07-01",
         "payer": "medicare", "code": "99999", "minutes": "20"},
        {"visit_id": "ODD-2", "patient_id": "Q3", "date_of_service": "2025-02-30",
         "payer": "medicare", "code": "97110", "minutes": "20"},
        {"visit_id": "ODD-3", "patient_id": "Q4", "date_of_service": "2025-07-01",
         "payer": "nobody", "code": "97110", "minutes": "abc"},
    ]
    rows.extend(planted)
    random.Random(7).shuffle(rows)
    header = [name for name in COLUMNS if name in HEADER or any(name in r for r in planted)]
    text = folder / "claims.csv"
    with text.open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, header, restval="", lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    path = folder / "claims.parquet"
    # small row groups, so Spark reads the file in several splits
    pl.read_csv(text, infer_schema=False).write_parquet(path, row_group_size=2_000)
    return path


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generated(tmp_path_factory.mktemp("claims"))


@pytest.fixture(scope="module")
def batch(claims: Path) -> dict[str, list[dict[str, Any]]]:
    out = claims.parent / "batch"
    summary = run([claims], plan_outputs(out, "parquet", "compact"), workers=1)
    assert summary.adds_up
    with (out / "rejects.csv").open(newline="", encoding="utf-8") as handle:
        rejects = [{"position": row["position"], "reason": row["reason"]}
                   for row in csv.DictReader(handle)]
    return {"lines": pq.read_table(out / "lines.parquet").to_pylist(),
            "findings": pq.read_table(out / "findings.parquet").to_pylist(),
            "rejects": rejects}


def _sorted(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(row.values()) for row in rows),
                  key=lambda row: tuple((value is None, str(value)) for value in row))


def test_spark_equals_batch_row_for_row(spark: Any, claims: Path,
                                        batch: dict[str, list[dict[str, Any]]]) -> None:
    from therabill.spark import check_lines, read_claims

    spark.conf.set("spark.sql.files.maxPartitionBytes", "48k")
    try:
        frame, where = read_claims(spark, str(claims))
        assert frame.rdd.getNumPartitions() > 1
        tables = check_lines(frame, source=str(claims), partitions=3, **where)
        got = {name: getattr(tables, name).toArrow().to_pylist()
               for name in ("lines", "findings", "rejects")}
        tables.unpersist()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")

    expected = batch
    assert len({row["visit_id"] for row in expected["lines"]}) > VISITS * 0.99
    for name in ("lines", "findings", "rejects"):
        assert got[name] and list(got[name][0]) == list(expected[name][0]), name  # columns
        assert _sorted(got[name]) == _sorted(expected[name]), name

    # the run exercised what equality is meant to prove: the year's accrual, the merge of a
    # same-day visit, and the rejects of the reader
    rules = {row["rule"] for row in got["findings"]}
    assert {"threshold.kx", "input"} <= rules
    assert any(row["rule"] == "threshold.kx" and row["severity"] != "info"
               for row in got["findings"])
    assert any("SAME-DAY" in row["message"] and "checked as one day" in row["message"]
               for row in got["findings"])
    reasons = " | ".join(row["reason"] for row in got["rejects"])
    assert "disagree on date_of_service" in reasons
    assert "no visit_id" in reasons
    assert any(row["deductible"] and row["deductible"] > Decimal(0) for row in got["lines"])
    assert "Q2/2025-06-02" in {row["visit_id"] for row in got["lines"]}


def test_spark_entry_writes_the_three_tables(spark: Any, claims: Path,
                                             batch: dict[str, list[dict[str, Any]]],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from therabill.spark.__main__ import main

    out = claims.parent / "spark-out"
    assert main([str(claims), str(out), "--partitions", "2"]) == 0
    for name in ("lines", "findings", "rejects"):
        written = pq.read_table(out / name).to_pylist()
        assert _sorted(written) == _sorted(batch[name]), name
    said = capsys.readouterr().err
    assert f"{len(batch['lines']):,} claim lines" in said
    # an existing output is not overwritten without --overwrite, in one line
    assert main([str(claims), str(out)]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "lines exists; give --overwrite" in message

    # the benchmark's measurement, on this session: it overwrites and counts what it wrote
    sys.path.insert(0, str(BENCH))
    try:
        from bench_spark import measure_spark
    finally:
        sys.path.remove(str(BENCH))
    figures = measure_spark(spark, claims, out, VISITS, partitions=2)
    assert figures["lines"] == len(batch["lines"])
    assert figures["findings"] == len(batch["findings"])
    assert figures["rate"] == VISITS / figures["seconds"] > 0


def test_spark_bad_input_is_one_line(spark: Any, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from therabill.spark.__main__ import main

    odd = tmp_path / "odd.parquet"
    pl.DataFrame({"visit_id": ["a"], "cpt": ["97110"]}).write_parquet(odd)
    assert main([str(odd), str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and "unknown column(s) 'cpt'" in message
    assert main([str(odd), str(tmp_path / "out"), "--map", "cpt=code"]) == 0
    found = pq.read_table(tmp_path / "out" / "findings").to_pylist()
    assert [(row["visit_id"], row["rule"]) for row in found] == [("a", "input")]
    assert "date_of_service" in found[0]["message"]  # the engine names the missing field
    assert main([str(tmp_path / "missing.parquet"), str(tmp_path / "out2")]) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "missing.parquet" in message
