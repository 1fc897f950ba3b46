"""A batch run over one plain CSV/TSV file with the columnar path: the covered visits as
columns, every other record through the streaming reader and ``Engine.check`` (on the workers),
and the two merged into the order the engine alone would write.

Output order is the batch's (patient-years by first appearance, visits by date). Each row
carries its patient-year's rank (the place of its first visit in the file) and its place within
it; the engine's patient-years are checked in rank order, and as each slice comes back it is
written together with the covered rows ranked up to it.
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
    """The rows left to the engine, saying when the last has been handed on: the reader then
    hands on its visits (the records before that are rows it rejected as it read them)."""

    def __init__(self, rows: Iterator[Row]) -> None:
        self.rows = rows
        self.done = False

    def __iter__(self) -> Iterator[Row]:
        yield from self.rows
        self.done = True


def run_columnar(path: Path, frames: list[pl.DataFrame], summary: object, rejects: TableWriter,
                 lines_out: TableWriter, findings_out: TableWriter, workers: int, auto: bool,
                 pool: ProcessPoolExecutor | None, progress: object, slice_visits: int) -> None:
    """Check the frame of ``path``'s rows (taken from ``frames``, so that it is freed once
    read) into the writers, filling ``summary`` (a pipeline ``Summary``). ``auto``: the
    workers were not asked for, so few visits left to the engine stay in this process."""
    from therabill.batch import pipeline
    from therabill.engine import default_engine

    assert isinstance(summary, pipeline.Summary)
    report = progress if callable(progress) else pipeline._no_progress
    frame = frames.pop()
    covered = check(frame, default_engine())
    summary.columnar = covered.visits
    report("checking", covered.visits, None)
    taken = frame.get_column(ROW).is_in(covered.rows.implode())
    fallback = frame.filter(~taken)
    del frame, taken
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
    # The engine's patient-years in the order of the whole file's: one whose covered visits
    # come first in the file ranks by them, not by its first visit left to the engine.
    group_ranks = [covered.ranks[held_seqs[index]] for index in firsts]
    order = sorted(range(len(groups)), key=group_ranks.__getitem__)
    groups = [groups[index] for index in order]
    ranks = iter([group_ranks[index] for index in order])
    total = summary.visits_read - summary.merged
    summary.visits = covered.visits
    # encoded Arrow chunks (whatever the output format): merged here with the covered rows
    job = pipeline.SliceJob(results=False, tables="parquet", rows=False)
    if auto and total - covered.visits < pipeline.AUTO_WORKERS_FROM:
        workers = 1
    summary.workers = workers if pool is not None else 1
    lines = _Merge(covered.lines, LINE_COLUMNS, lines_out, summary)
    findings = _Merge(covered.findings, FINDING_COLUMNS, findings_out, None)
    for out in pipeline._checked(pipeline.slices(groups, slice_visits), summary.workers, job,
                                 pool):
        summary.visits += out.visits
        if out.rejects:
            rejects.write(out.rejects)
            summary.rejects += len(out.rejects)
            summary.failed += len(out.rejects)
        slice_ranks = [next(ranks) for _ in out.group_rows]
        lines.add(out.lines_chunk, slice_ranks, [n for n, _ in out.group_rows])
        findings.add(out.findings_chunk, slice_ranks, [n for _, n in out.group_rows])
        report("checking", summary.visits, total)
    lines.finish()
    findings.finish()
    summary.lines, summary.findings = lines.rows, findings.rows


class _Merge:
    """One output table: the covered rows (sorted by rank) and the engine's slices (arriving
    in rank order) written in one order, a slice at a time, so memory holds one slice beside
    the covered rows."""

    def __init__(self, covered: list[pl.DataFrame], columns: tuple[tuple[str, str], ...],
                 out: TableWriter, summary: object) -> None:
        self.schema = _schema(columns)
        self.money = any(kind == "money" for _, kind in columns)
        # kept as the path made them (cents, categories), each piece typed as it is written;
        # the parts (whole patients each) are merged by rank as the engine's slices come
        self.covered = [part for part in covered if part.height]
        self.ranks = [part.get_column(RANK).to_numpy() for part in self.covered]
        self.at = [0] * len(self.covered)  # covered rows written so far, by part
        self.out = out
        self.summary = summary  # the lines table adds up statuses and money
        self.rows = 0

    def add(self, chunk: bytes, ranks: list[int], counts: list[int]) -> None:
        import numpy as np
        import pyarrow as pa

        table = pa.ipc.open_stream(chunk).read_all()
        engine = pl.from_arrow(table)
        assert isinstance(engine, pl.DataFrame)
        # a patient-year's engine rows come after its covered visits, which are earlier
        engine = engine.cast(self.schema).with_columns(  # type: ignore[arg-type]
            pl.Series(RANK, np.repeat(np.asarray(ranks, dtype=np.int64), counts)))
        engine = engine.with_columns((AFTER + pl.int_range(pl.len()).over(RANK)).alias(SUB))
        self._write(pl.concat([*self._upto(ranks[-1] if ranks else -1), engine])
                    .sort(RANK, SUB))

    def finish(self) -> None:
        rest = self._upto(None)
        if rest:
            self._write(pl.concat(rest).sort(RANK, SUB))

    def _upto(self, rank: int | None) -> list[pl.DataFrame]:
        """The covered rows not yet written up to ``rank`` (all of them for None), typed."""
        import numpy as np

        pieces = []
        for index, part in enumerate(self.covered):
            start = self.at[index]
            end = part.height if rank is None else \
                int(np.searchsorted(self.ranks[index], rank, side="right"))
            if end > start:
                pieces.append(self._typed(part.slice(start, end - start)))
                self.at[index] = end
        return pieces

    def _typed(self, part: pl.DataFrame) -> pl.DataFrame:
        if self.money:
            part = _as_money(part)
        return part.select([pl.col(name).cast(kind) for name, kind in self.schema.items()]
                           + [pl.col(RANK).cast(pl.Int64), pl.col(SUB).cast(pl.Int64)])

    def _write(self, part: pl.DataFrame) -> None:
        part = part.drop(RANK, SUB)
        if part.height == 0:
            return
        self.out.write_arrow(part.to_arrow())
        self.rows += part.height
        from therabill.batch.pipeline import Summary

        if isinstance(self.summary, Summary):
            for status, count in part.group_by("status").len().iter_rows():
                self.summary.status[status] = self.summary.status.get(status, 0) + count
            sums = part.select(pl.col("allowed", "payer_paid", "patient_owes", "reductions")
                               .cast(pl.Decimal(20, 2)).sum()).row(0)
            self.summary.allowed += _money(sums[0])
            self.summary.payer_paid += _money(sums[1])
            self.summary.patient_owes += _money(sums[2])
            self.summary.reductions += _money(sums[3])


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _fallback_seqs(covered: Covered) -> list[int]:
    """The visits left to the engine, in the order of their first row."""
    taken = set(covered.seqs.to_list())
    return [seq for seq in range(covered.all_visits) if seq not in taken]
