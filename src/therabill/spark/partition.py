"""What the Spark executors run: plain functions over Arrow record batches, no pyspark here.

Two passes, both reusing the batch command's own pieces so a cluster run and a laptop run give
the same rows:

``add_keys`` (a ``mapInArrow`` over the input) reads each service line's cells the way the batch
Parquet reader does (``_cell_text``) and adds the key that groups lines into a visit (the
``visit_id``, else the patient and date, else the row alone) with the patient and the calendar
year the row names. Spark then gives every line its visit's patient and year (those of the visit's
first row that names one), so all lines of a visit travel together even when they disagree.

``check_partition`` (a ``mapInArrow`` after ``repartition`` by patient-year and a sort by group,
file and row) walks the sorted rows, cuts them into patient-year groups, and hands each group to
the batch command: its row grouping (``_tabular``), its day merging and date order
(``build_groups``), and its check with the patient-year accrual (``check_slice``, one ``Engine``
per Python worker process, built on first use from the bundled data or ``THERABILL_DATA_DIR``).
Only one patient-year's rows are held at a time, so a large partition streams through.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from therabill.batch.accrual import visit_year
from therabill.batch.pipeline import SLICE_VISITS, Group, SliceJob, build_groups, check_slice
from therabill.batch.readers import COLUMNS, Counts, _cell_text, _tabular
from therabill.batch.records import Reject
from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS, REJECT_COLUMNS, Row

# Bookkeeping columns added to the input (names no claims file uses).
FILE = "_tb_file"  # the input file's name, for positions ("visits.parquet rows 4-6")
ROW = "_tb_row"  # the row's number in its file, from 1
VISIT = "_tb_visit"  # the key that groups rows into one visit
PATIENT = "_tb_patient"  # the row's patient id (None when empty)
YEAR = "_tb_year"  # the calendar year of the row's date (None when empty or unreadable)
DATED = "_tb_dated"  # whether the row has a date at all
GROUP = "_tb_group"  # the patient-year the row's visit belongs to (or the visit alone)
TABLE = "_tb_table"  # in the combined output: lines, findings or rejects

# What a Spark task asks of the batch code: the table rows themselves, nothing encoded.
ROWS_ONLY = SliceJob(results=False, tables=None, rows=True)

# The combined output: which table a row is for, then the union of the three tables' columns.
KINDS = {"str": pa.string(), "int": pa.int64(), "money": pa.decimal128(14, 2)}


def _combined() -> tuple[tuple[str, str], ...]:
    seen: dict[str, str] = {TABLE: "str"}
    for name, kind in (*LINE_COLUMNS, *FINDING_COLUMNS, *REJECT_COLUMNS):
        if seen.setdefault(name, kind) != kind:
            raise TypeError(f"column {name} has two types in the batch tables")
    return tuple(seen.items())


OUTPUT_COLUMNS: tuple[tuple[str, str], ...] = _combined()
OUTPUT_SCHEMA = pa.schema([(name, KINDS[kind]) for name, kind in OUTPUT_COLUMNS])
_AT = {name: index for index, (name, _) in enumerate(OUTPUT_COLUMNS)}
_PLACES = {
    "lines": [_AT[name] for name, _ in LINE_COLUMNS],
    "findings": [_AT[name] for name, _ in FINDING_COLUMNS],
    "rejects": [_AT[name] for name, _ in REJECT_COLUMNS],
}


def _texts(batch: pa.RecordBatch, name: str) -> list[str | None]:
    """A column's cells as the batch reader sees them: text, None when missing or empty."""
    if name not in batch.schema.names:
        return [None] * batch.num_rows
    out: list[str | None] = []
    for value in batch.column(name).to_pylist():
        text = None if value is None else _cell_text(value)
        out.append(text or None)
    return out


def visit_key(file: str, row: int, visit_id: str | None, patient: str | None,
              day: str | None) -> str:
    """The key of the visit a row belongs to, as the batch reader forms it within one file:
    the visit id, else the patient and date; a row with neither is a group of its own (and is
    rejected by the reader)."""
    if visit_id:
        return f"{file}\x1fid\x1f{visit_id}"
    if patient and day:
        return f"{file}\x1fday\x1f{patient}\x1f{day}"
    return f"{file}\x1frow\x1f{row}"


def add_keys(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """First pass: each row with its visit key, patient, year and whether it is dated."""
    for batch in batches:
        files = batch.column(FILE).to_pylist()
        rows = batch.column(ROW).to_pylist()
        visits = _texts(batch, "visit_id")
        patients = _texts(batch, "patient_id")
        days = _texts(batch, "date_of_service")
        keys = [visit_key(file, row, visit, patient, day) for file, row, visit, patient, day
                in zip(files, rows, visits, patients, days, strict=True)]
        years = [visit_year({"date_of_service": day}) if day else None for day in days]
        dated = [day is not None for day in days]
        yield (batch.append_column(VISIT, pa.array(keys, pa.string()))
               .append_column(PATIENT, pa.array(patients, pa.string()))
               .append_column(YEAR, pa.array(years, pa.int64()))
               .append_column(DATED, pa.array(dated, pa.bool_())))


class _Output:
    """Rows of the three tables collected into combined record batches."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, Row]] = []

    def add(self, table: str, rows: Sequence[Row]) -> None:
        self.rows.extend((table, row) for row in rows)

    def batch(self) -> pa.RecordBatch:
        width = len(OUTPUT_COLUMNS)
        columns: list[list[Any]] = [[None] * len(self.rows) for _ in range(width)]
        for number, (table, row) in enumerate(self.rows):
            columns[0][number] = table
            for place, value in zip(_PLACES[table], row, strict=True):
                columns[place][number] = value
        self.rows = []
        return pa.RecordBatch.from_arrays(
            [pa.array(values, OUTPUT_SCHEMA.field(index).type)
             for index, values in enumerate(columns)], schema=OUTPUT_SCHEMA)


Cells = tuple[str, int, dict[str, str]]  # file, row number, non-empty cells by column


def _visits(rows: list[Cells], out: _Output) -> list[Group]:
    """One patient-year's rows (sorted by file and row) into checked-ready groups, the batch
    reader's way: rows into visits per file, then same-day merging and date order."""
    held = []
    for file, members in itertools.groupby(rows, key=lambda item: item[0]):
        records = _tabular(Path(file), ((row, cells) for _, row, cells in members), Counts())
        for record in records:
            if isinstance(record, Reject):
                out.add("rejects", [(record.position, record.reason)])
            else:
                held.append(record)
    groups, _ = build_groups(held)
    return groups


def check_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Second pass: rows sorted by patient-year group, file and row; out come the lines,
    findings and rejects rows of every group, checked in date order with the year's accrual."""
    out = _Output()
    waiting: list[Group] = []
    count = 0
    current: Any = None
    rows: list[Cells] = []

    def check() -> None:
        nonlocal count
        done = check_slice(waiting, ROWS_ONLY)
        out.add("lines", done.lines)
        out.add("findings", done.findings)
        out.add("rejects", done.rejects)
        waiting.clear()
        count = 0

    def close_group() -> None:
        nonlocal count
        if rows:
            for group in _visits(rows, out):
                waiting.append(group)
                count += len(group)
            rows.clear()
        if count >= SLICE_VISITS:
            check()

    for batch in batches:
        names = [name for name in COLUMNS if name in batch.schema.names]
        values = [batch.column(name).to_pylist() for name in names]
        groups = batch.column(GROUP).to_pylist()
        files = batch.column(FILE).to_pylist()
        numbers = batch.column(ROW).to_pylist()
        for index in range(batch.num_rows):
            if groups[index] != current:
                close_group()
                current = groups[index]
            cells: dict[str, str] = {}
            for name, column in zip(names, values, strict=True):
                value = column[index]
                if value is not None:
                    text = _cell_text(value)
                    if text:
                        cells[name] = text
            if cells:
                rows.append((files[index], numbers[index], cells))
        if len(out.rows) >= 8_192:
            yield out.batch()
    close_group()
    if waiting:
        check()
    if out.rows:
        yield out.batch()
