"""The executor side without Spark: keys, and a patient-year cut across Arrow batches (as
Spark may hand it) checked as one year, equal to the batch command's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from therabill.batch.pipeline import plan_outputs, run
from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS, REJECT_COLUMNS
from therabill.spark.partition import (
    FILE,
    GROUP,
    OUTPUT_SCHEMA,
    ROW,
    TABLE,
    add_keys,
    check_partition,
    visit_key,
)

# One Medicare patient's year from a ledger figure near the threshold, so the later visits
# depend on the earlier ones (KX advice), plus a second patient; rows out of date order.
ROWS: list[dict[str, Any]] = [
    {"visit_id": "a3", "patient_id": "P1", "date_of_service": "2025-05-20",
     "payer": "medicare", "code": "97110", "minutes": "45"},
    {"visit_id": "a1", "patient_id": "P1", "date_of_service": "2025-05-06",
     "payer": "medicare", "code": "97110", "minutes": "45", "ytd_threshold_pt_slp": "2350.00"},
    {"visit_id": "a2", "patient_id": "P1", "date_of_service": "2025-05-13",
     "payer": "medicare", "code": "97140", "minutes": "40"},
    {"visit_id": "a2", "patient_id": "P1", "date_of_service": "2025-05-13",
     "payer": "medicare", "code": "97110", "minutes": "30"},
    {"visit_id": "b1", "patient_id": "P2", "date_of_service": "2025-05-13",
     "payer": "medicare", "code": "97530", "minutes": "25"},
]
COLUMNS = ("visit_id", "patient_id", "date_of_service", "payer", "ytd_threshold_pt_slp",
           "code", "minutes")


def _table(name: str) -> pa.Table:
    data = {column: [row.get(column) for row in ROWS] for column in COLUMNS}
    data[FILE] = [name] * len(ROWS)
    data[ROW] = list(range(1, len(ROWS) + 1))
    return pa.table(data)


def test_visit_keys_follow_the_batch_reader() -> None:
    assert visit_key("f", 3, "v1", "p", "2025-01-02") == "f\x1fid\x1fv1"
    assert visit_key("f", 3, None, "p", "2025-01-02") == "f\x1fday\x1fp\x1f2025-01-02"
    assert visit_key("f", 3, None, None, "2025-01-02") == "f\x1frow\x1f3"
    keyed = next(add_keys(iter(_table("claims.parquet").to_batches())))
    assert keyed.column("_tb_year").to_pylist() == [2025] * 5
    assert keyed.column("_tb_patient").to_pylist() == ["P1", "P1", "P1", "P1", "P2"]


def _sorted(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(row.values()) for row in rows),
                  key=lambda row: tuple((value is None, str(value)) for value in row))


def _checked(batches: list[pa.RecordBatch]) -> dict[str, list[tuple[Any, ...]]]:
    out = pa.Table.from_batches(list(check_partition(iter(batches))), schema=OUTPUT_SCHEMA)
    columns = {"lines": LINE_COLUMNS, "findings": FINDING_COLUMNS, "rejects": REJECT_COLUMNS}
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in columns}
    for row in out.to_pylist():
        tables[row[TABLE]].append({name: row[name] for name, _ in columns[row[TABLE]]})
    return {name: _sorted(rows) for name, rows in tables.items()}


def test_a_patient_year_split_over_batches_is_one_year_as_in_batch(tmp_path: Path) -> None:
    name = "claims.parquet"
    table = _table(name)
    # what Spark hands the second pass: rows with their group, sorted by group, file and row
    groups = ["py\x1fP1\x1f2025"] * 4 + ["py\x1fP2\x1f2025"]
    ordered = table.append_column(GROUP, pa.array(groups)).sort_by(
        [(GROUP, "ascending"), (FILE, "ascending"), (ROW, "ascending")])
    whole = _checked(ordered.to_batches())
    split = _checked([*ordered.slice(0, 2).to_batches(), *ordered.slice(2).to_batches()])
    assert whole == split

    path = tmp_path / name
    pq.write_table(table.select(list(COLUMNS)), path)
    run([path], plan_outputs(tmp_path / "out", "parquet", "compact"))
    for kind in ("lines", "findings"):
        expected = pq.read_table(tmp_path / "out" / f"{kind}.parquet").to_pylist()
        assert whole[kind] == _sorted(expected), kind
    assert whole["rejects"] == []
    kx = [row for row in whole["findings"] if row[5] == "threshold.kx"]
    assert kx and {row[0] for row in kx} <= {"a1", "a2", "a3"}
