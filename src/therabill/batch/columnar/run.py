"""A batch run over one plain CSV/TSV file with the columnar path: the covered patient-years as
columns, every other record through the streaming reader and ``Engine.check`` (on the workers),
and the two merged into the order the engine alone would write.

Output order is the batch's (patient-years by first appearance, visits by date): each row
carries its patient-year's rank (the place of its first visit in the file) and its place within
it, so the tables are one sort away from the engine-only run's, row for row.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import polars as pl

from therabill.batch.accrual import visit_year
from therabill.batch.columnar.check import Covered, check
from therabill.batch.columnar.read import ROW, rows_of
from therabill.batch.readers import Counts, Row, _tabular
from therabill.batch.records import Reject
from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS
from therabill.batch.writers import TableWriter

RANK, SUB = "__rank", "__sub"
AFTER = 1 << 40  # the engine's rows of a patient-year sort after the columnar ones
_KINDS = {"str": pl.String, "int": pl.Int64, "money": pl.Decimal(14, 2)}


def _schema(columns: tuple[tuple[str, str], ...]) -> dict[str, pl.DataType]:
    return {name: _KINDS[kind] for name, kind in columns}  # type: ignore[misc]


def _as_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Whole cents (integers, never negative) as decimal(14, 2) money."""
    money = [name for name, kind in LINE_COLUMNS if kind == "money"]
    return frame.with_columns(
        ((pl.col(name) // 100).cast(pl.String) + "."
         + (pl.col(name) % 100).cast(pl.String).str.zfill(2)).cast(pl.Decimal(14, 2))
        .alias(name) for name in money)


class _Rows:
    """The fallback rows, counting those that name no visit (rejected as they are read) and
    saying when the last row has been handed on."""

    def __init__(self, rows: Iterator[Row]) -> None:
        self.rows = rows
        self.done = False

    def __iter__(self) -> Iterator[Row]:
        yield from self.rows
        self.done = True


def run_columnar(path: Path, frame: pl.DataFrame, summary: object, rejects: TableWriter,
                 lines_out: TableWriter, findings_out: TableWriter, workers: int,
                 pool: ProcessPoolExecutor | None, progress: object, slice_visits: int) -> None:
    """Check ``frame`` (``path``'s rows) into the writers, filling ``summary`` (a pipeline
    ``Summary``)."""
    from therabill.batch import pipeline
    from therabill.engine import default_engine

    assert isinstance(summary, pipeline.Summary)
    report = progress if callable(progress) else pipeline._no_progress
    covered = check(frame, default_engine())
    summary.columnar = covered.visits
    report("checking", covered.visits, None)
    taken = frame.get_column(ROW).is_in(covered.rows.implode())
    fallback = frame.filter(~taken)
    fallback_visits = _fallback_seqs(covered)
    counts = Counts("rows")
    rows = _Rows(rows_of(fallback))
    held: list[pipeline.HeldRecord] = []
    held_seqs: list[int] = []
    pending = iter(fallback_visits)
    for record in _tabular(path, iter(rows), counts):
        seq = next(pending) if rows.done else None
        if isinstance(record, Reject):
            rejects.write([(record.position, record.reason)])
            summary.rejects += 1
            continue
        assert seq is not None
        year = visit_year(record.visit)
        patient = record.visit.get("patient_id")
        cents = covered.seeds.get((patient, year)) \
            if year is not None and isinstance(patient, str) else None
        seed = None if cents is None else tuple(Decimal(c).scaleb(-2) for c in cents)
        held.append(pipeline.HeldRecord(pipeline.pack(record.visit), record.position,
                                        record.notes, seed))  # type: ignore[arg-type]
        held_seqs.append(seq)
    summary.records = counts.records + covered.rows.len()
    summary.rejected_records = counts.rejected
    summary.visits_read = len(held) + covered.visits
    groups, summary.merged, firsts = pipeline.build_groups_firsts(held)
    del held
    ranks = iter([covered.ranks[held_seqs[index]] for index in firsts])
    total = summary.visits_read - summary.merged
    summary.visits = covered.visits
    job = pipeline.SliceJob(results=False, tables=None, rows=True)
    line_rows: list[Row] = []
    finding_rows: list[Row] = []
    line_keys: list[tuple[int, int]] = []
    finding_keys: list[tuple[int, int]] = []
    if len(groups) < pipeline.AUTO_WORKERS_FROM // pipeline.SLICE_VISITS:
        workers = 1
    summary.workers = workers if pool is not None else 1
    for out in pipeline._checked(pipeline.slices(groups, slice_visits), summary.workers, job,
                                 pool):
        summary.visits += out.visits
        if out.rejects:
            rejects.write(out.rejects)
            summary.rejects += len(out.rejects)
            summary.failed += len(out.rejects)
        for lines_of, findings_of in out.group_rows:
            rank = next(ranks)
            # after the patient-year's covered visits, which are earlier in its year
            line_keys.extend((rank, AFTER + sub) for sub in range(lines_of))
            finding_keys.extend((rank, AFTER + sub) for sub in range(findings_of))
        line_rows.extend(out.lines)
        finding_rows.extend(out.findings)
        report("checking", summary.visits, total)
    lines = _merged(covered.lines, line_rows, line_keys, LINE_COLUMNS, money=True)
    findings = _merged(covered.findings, finding_rows, finding_keys, FINDING_COLUMNS,
                       money=False)
    lines_out.write_arrow(lines.to_arrow())
    findings_out.write_arrow(findings.to_arrow())
    summary.lines, summary.findings = lines.height, findings.height
    for status, count in lines.group_by("status").len().iter_rows():
        summary.status[status] = count
    sums = lines.select(pl.col("allowed", "payer_paid", "patient_owes", "reductions")
                        .cast(pl.Decimal(20, 2)).sum()).row(0)
    summary.allowed, summary.payer_paid, summary.patient_owes, summary.reductions = (
        Decimal(value or 0).quantize(Decimal("0.01")) for value in sums)


def _fallback_seqs(covered: Covered) -> list[int]:
    """The visits left to the engine, in the order of their first row."""
    taken = set(covered.seqs.to_list())
    return [seq for seq in range(covered.all_visits) if seq not in taken]


def _merged(columnar: pl.DataFrame, rows: list[Row], keys: list[tuple[int, int]],
            columns: tuple[tuple[str, str], ...], money: bool) -> pl.DataFrame:
    schema = _schema(columns)
    engine = pl.DataFrame(rows, schema=schema, orient="row")
    engine = engine.with_columns(
        pl.Series(RANK, [rank for rank, _ in keys], dtype=pl.Int64),
        pl.Series(SUB, [sub for _, sub in keys], dtype=pl.Int64))
    if money:
        columnar = _as_money(columnar)
    columnar = columnar.select([pl.col(name).cast(kind) for name, kind in schema.items()]
                               + [pl.col(RANK).cast(pl.Int64), pl.col(SUB).cast(pl.Int64)])
    return pl.concat([columnar, engine]).sort(RANK, SUB).drop(RANK, SUB)
