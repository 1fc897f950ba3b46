"""A batch run over one plain CSV, TSV or Parquet file with the columnar path: the covered visits as
columns, every other record through the streaming reader and ``Engine.check`` (on the workers),
and the two merged into the order the engine alone would write.

Output order is the batch's (patient-years by first appearance, visits by date). Each row
carries its patient-year's rank (the place of its first visit in the file) and its place within
it; the engine's patient-years are checked in rank order, and as each slice comes back it is
written together with the covered rows ranked up to it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from therabill.batch.accrual import visit_year
from therabill.batch.columnar.check import Plan, _finding_table, _line_table
from therabill.batch.columnar.read import FIRST_NUMBER, ROW, rows_of
from therabill.batch.pipeline import Seed, SliceOut, Summary
from therabill.batch.readers import Counts, Row, _tabular, kind_of
from therabill.batch.records import Reject
from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS
from therabill.batch.writers import TableWriter

RANK, POS, SUB = "__rank", "__pos", "__sub"  # patient-year, visit's place in it, row
_KINDS = {"str": pl.String, "int": pl.Int64, "money": pl.Decimal(14, 2)}


def _schema(columns: tuple[tuple[str, str], ...]) -> dict[str, pl.DataType]:
    return {name: _KINDS[kind] for name, kind in columns}  # type: ignore[misc]


def _as_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Whole cents (integers, never negative) as decimal(14, 2) money; money already typed is
    left as it is."""
    money = [name for name, kind in LINE_COLUMNS
             if kind == "money" and frame.schema[name].is_integer()]
    return frame.with_columns(_cents_as_money(frame.get_column(name)) for name in money)


def _cents_as_money(cents: pl.Series) -> pl.Series:
    """A decimal with two places holds the cents as its whole number: the cents, made
    decimals of scale 0, are read again with scale 2 (no arithmetic, no text)."""
    import pyarrow as pa

    whole = cents.to_arrow().cast(pa.decimal128(19, 0))
    scaled = pa.Array.from_buffers(pa.decimal128(19, 2), len(whole), whole.buffers(),
                                   null_count=whole.null_count)
    found = pl.from_arrow(scaled)
    assert isinstance(found, pl.Series)
    return found.cast(pl.Decimal(14, 2)).alias(cents.name)


class _Rows:
    """The rows left to the engine, saying when the last has been handed on: the reader then
    hands on its visits (the records before that are rows it rejected as it read them)."""

    def __init__(self, rows: Iterator[Row]) -> None:
        self.rows = rows
        self.done = False

    def __iter__(self) -> Iterator[Row]:
        yield from self.rows
        self.done = True


_BATCH = 16_384  # rows of a part written, and read back, at a time
MAX_ROUNDS = 6  # stretches the engine checks between covered ones, per patient-year


def _cents_seed(cents: tuple[int, int, int]) -> Seed:
    return (Decimal(cents[0]).scaleb(-2), Decimal(cents[1]).scaleb(-2),
            Decimal(cents[2]).scaleb(-2))


def _seed_cents(seed: Seed) -> tuple[int, int, int]:
    return (int(seed[0] * 100), int(seed[1] * 100), int(seed[2] * 100))


class _Run:
    """One columnar run's bookkeeping: the summary, the tables' parts, where each
    patient-year's tail starts and from what figures."""

    def __init__(self, path: Path, plan: Plan, summary: Summary, rejects: TableWriter,
                 workers: int, pool: ProcessPoolExecutor | None, slice_visits: int,
                 spill: Path) -> None:
        self.path, self.plan, self.summary, self.rejects = path, plan, summary, rejects
        self.workers, self.pool, self.slice_visits = workers, pool, slice_visits
        self.lines: list[Path] = []  # parts, each in (rank, pos, sub) order, on disk
        self.findings: list[Path] = []
        self.spill = spill
        self.taken: list[pl.Series] = []  # frame rows checked before the last pass
        self.tails: dict[tuple[str, int], tuple[int, int, int]] = {}  # figures a tail starts
        self.island_visits = 0
        self.first = FIRST_NUMBER[kind_of(path)]  # how the file numbers its first record

    def part(self, part: int) -> None:
        """One part: covered stretches and the engine's islands between them, in rounds."""
        plan = self.plan
        lines, visits = plan.part_lines(part)
        state = plan.start(visits)
        tables: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        islands: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        for round_ in range(MAX_ROUNDS):
            covered, ends = plan.covered(lines, visits, state)
            if covered.height:
                tables.append((_line_table(covered), _finding_table(covered, plan.facts)))
                seqs = covered.get_column("seq").unique()
                rows = plan.row_visits.filter(pl.col("seq").is_in(seqs.implode()))
                self.taken.append(rows.get_column(ROW))
                self.summary.columnar += seqs.len()
                self.summary.visits += seqs.len()
                self.summary.visits_read += seqs.len()
                self.summary.records += rows.height
            island, tail = plan.handover(visits, ends, round_ == MAX_ROUNDS - 1)
            for patient, year, pt_slp, ot, ded in tail.unique("pyear").join(
                    ends, on="pyear").join(visits.select("pyear", "year", "patient_id")
                                           .unique("pyear"), on="pyear").select(
                    "patient_id", "year", "pt_slp", "ot", "ded").iter_rows():
                if plan.facts.deductible_cents(year) is not None:  # else the engine's own
                    self.tails[(patient, year)] = (pt_slp, ot, ded)
            if island.height == 0:
                break
            after, engine_tables = self._islands(island, ends)
            islands.extend(engine_tables)
            state = after  # the patient-years that go on (the others are done or tails)
            visits = visits.join(state, on="pyear", how="semi").filter(
                pl.col("visit_pos") >= pl.col("visit_pos").min().over("pyear"))
            lines = lines.join(visits.select("seq"), on="seq", how="semi")
        # the path's rows and the engine's islands, each a part in (rank, place, row) order,
        # kept on disk until they are merged into the tables
        for made in (tables, islands):
            if made:
                self.lines.append(self._spill(pl.concat([t for t, _ in made]).sort(KEYS)))
                self.findings.append(self._spill(pl.concat([f for _, f in made]).sort(KEYS)))

    def _spill(self, part: pl.DataFrame) -> Path:
        path = self.spill / f"part-{len(self.lines) + len(self.findings)}.parquet"
        part.write_parquet(path, compression="lz4", row_group_size=_BATCH)
        return path

    def _islands(self, island: pl.DataFrame, ends: pl.DataFrame
                 ) -> tuple[pl.DataFrame, list[tuple[pl.DataFrame, pl.DataFrame]]]:
        """The engine on each patient-year's island, from the figures its covered stretch left;
        returns where each year stands after (its next start) and the island's rows."""
        from therabill.batch import pipeline

        plan = self.plan
        # a year without a Part B deductible loaded: the engine starts the year itself
        seeds = {pyear: _cents_seed((pt, ot, ded)) if plan.facts.deductible_cents(year)
                 is not None else None for pyear, year, pt, ot, ded in
                 ends.join(island.select("pyear", "year").unique("pyear"), on="pyear")
                 .select("pyear", "year", "pt_slp", "ot", "ded").iter_rows()}
        rows = plan.row_visits.join(island.select("seq", "pyear"), on="seq").sort(ROW)
        self.taken.append(rows.get_column(ROW))
        frame = plan.frame[rows.get_column(ROW)]
        counts = Counts("rows")
        held: list[pipeline.HeldRecord] = []
        pyears = dict(island.select("seq", "pyear").iter_rows())
        order = sorted(pyears)  # the reader hands visits on in the order of their first rows
        records = _tabular(self.path, rows_of(frame, self.first), counts)
        for record, seq in zip(records, order, strict=True):
            assert not isinstance(record, Reject)  # an island's visits are whole and readable
            held.append(pipeline.HeldRecord(pipeline.pack(record.visit), record.position,
                                            record.notes, seeds[pyears[seq]]))
        self.summary.records += counts.records
        self.summary.visits_read += len(held)
        self.island_visits += len(held)
        groups, merged, firsts = pipeline.build_groups_firsts(held)
        self.summary.merged += merged
        keys = [(plan.ranks[order[index]], plan.places[order[index]],
                 pyears[order[index]]) for index in firsts]
        job = pipeline.SliceJob(results=False, tables="parquet", rows=False)
        states: dict[str, tuple[int, int, int]] = {}
        line_parts: list[pl.DataFrame] = []
        finding_parts: list[pl.DataFrame] = []
        at = 0
        for out in pipeline._checked(pipeline.slices(groups, self.slice_visits), self.workers,
                                     job, self.pool):
            self._tally(out)
            mine = keys[at:at + len(out.group_rows)]
            at += len(out.group_rows)
            line_parts.append(_keyed(out.lines_chunk, LINE_COLUMNS, mine,
                                     [n for n, _ in out.group_rows]))
            finding_parts.append(_keyed(out.findings_chunk, FINDING_COLUMNS, mine,
                                        [n for _, n in out.group_rows]))
            for (_, _, pyear), state in zip(mine, out.group_states, strict=True):
                if state is not None:
                    states[pyear] = _seed_cents(state)
        resume = island.unique("pyear").select("pyear", "resume")
        after = pl.DataFrame(
            [(pyear, *figures) for pyear, figures in states.items()],
            schema={"pyear": pl.String, "pt_slp": pl.Int64, "ot": pl.Int64, "ded": pl.Int64},
            orient="row").join(resume, on="pyear").select(
            "pyear", pl.col("resume").alias("start_pos"), "pt_slp", "ot", "ded")
        return after, [(pl.concat(line_parts), pl.concat(finding_parts))]

    def _tally(self, out: SliceOut) -> None:
        self.summary.visits += out.visits
        if out.rejects:
            self.rejects.write(out.rejects)
            self.summary.rejects += len(out.rejects)
            self.summary.failed += len(out.rejects)


KEYS = [RANK, POS, SUB]


def _keyed(chunk: bytes, columns: tuple[tuple[str, str], ...],
           keys: list[tuple[int, int]] | list[tuple[int, int, str]], counts: list[int]
           ) -> pl.DataFrame:
    """An engine slice's rows (an Arrow chunk) typed, with each group's rank and place, and
    each row's place within its group."""
    import numpy as np
    import pyarrow as pa

    found = pl.from_arrow(pa.ipc.open_stream(chunk).read_all())
    assert isinstance(found, pl.DataFrame)
    found = found.cast(_schema(columns))  # type: ignore[arg-type]
    group = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    found = found.with_columns(
        pl.Series(RANK, np.asarray([k[0] for k in keys], dtype=np.int64)[group]),
        pl.Series(POS, np.asarray([k[1] for k in keys], dtype=np.int64)[group]),
        pl.Series("__group", group))
    return found.with_columns(pl.int_range(pl.len()).over("__group").alias(SUB)) \
        .drop("__group")


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
    plan = Plan(frames[0], default_engine())
    summary.workers = workers if pool is not None else 1
    # the parts wait on disk, beside the outputs, until they are merged into the tables
    with tempfile.TemporaryDirectory(prefix=".therabill-columnar-",
                                     dir=lines_out.file.path.parent) as spill:
        _run(path, frames, plan, summary, rejects, lines_out, findings_out, auto, pool, report,
             slice_visits, Path(spill))


def _run(path: Path, frames: list[pl.DataFrame], plan: Plan, summary: Summary,
         rejects: TableWriter, lines_out: TableWriter, findings_out: TableWriter, auto: bool,
         pool: ProcessPoolExecutor | None, report: Any, slice_visits: int, spill: Path
         ) -> None:
    from therabill.batch import pipeline

    frame = frames.pop()
    done = _Run(path, plan, summary, rejects, summary.workers, pool, slice_visits, spill)
    for part in range(plan.parts):
        done.part(part)
        report("checking", summary.columnar + done.island_visits, None)
    checked = pl.concat(done.taken) if done.taken else pl.Series(ROW, [], dtype=pl.UInt32)
    fallback = frame.filter(~pl.col(ROW).is_in(checked.implode()))
    del frame
    plan.frame = fallback  # the rows still to read (the whole file's are let go)
    taken_seqs = set(plan.row_visits.filter(pl.col(ROW).is_in(checked.implode()))
                     .get_column("seq").unique().to_list())
    fallback_visits = [seq for seq in range(len(plan.ranks)) if seq not in taken_seqs]
    counts = Counts("rows")
    rows = _Rows(rows_of(fallback, done.first))
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
        cents = done.tails.get((patient, year)) \
            if year is not None and isinstance(patient, str) else None
        held.append(pipeline.HeldRecord(pipeline.pack(record.visit), record.position,
                                        record.notes,
                                        None if cents is None else _cents_seed(cents)))
        held_seqs.append(seq)
    summary.records += counts.records
    summary.rejected_records = counts.rejected
    summary.visits_read += len(held)
    groups, merged, firsts = pipeline.build_groups_firsts(held)
    summary.merged += merged
    del held
    # The engine's patient-years in the order of the whole file's: one whose covered visits
    # come first in the file ranks by them, not by its first visit left to the engine.
    keys = [(plan.ranks[held_seqs[index]], plan.places[held_seqs[index]]) for index in firsts]
    order = sorted(range(len(groups)), key=keys.__getitem__)
    groups = [groups[index] for index in order]
    ranks = iter([keys[index] for index in order])
    total = summary.visits_read - summary.merged
    job = pipeline.SliceJob(results=False, tables="parquet", rows=False)
    if auto and total - summary.visits < pipeline.AUTO_WORKERS_FROM:
        summary.workers = 1
    lines = _Merge(done.lines, LINE_COLUMNS, lines_out, summary)
    findings = _Merge(done.findings, FINDING_COLUMNS, findings_out, None)
    for out in pipeline._checked(pipeline.slices(groups, slice_visits), summary.workers, job,
                                 pool):
        done._tally(out)
        slice_keys = [next(ranks) for _ in out.group_rows]
        lines.add(out.lines_chunk, slice_keys, [n for n, _ in out.group_rows])
        findings.add(out.findings_chunk, slice_keys, [n for _, n in out.group_rows])
        report("checking", summary.visits, total)
    if not groups:  # the path took every visit: the count is final all the same
        report("checking", summary.visits, total)
    lines.finish()
    findings.finish()
    summary.lines, summary.findings = lines.rows, findings.rows


class _Part:
    """One part on disk, read a batch at a time: its rows up to a rank, in order."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)  # row groups of _BATCH rows, read one at a time
        self.group = 0
        self.buffer: pl.DataFrame | None = None
        self.done = False

    def last_rank(self) -> int | None:
        """The rank of the last row read so far and not yet taken (None: none are left)."""
        if self.buffer is None or self.buffer.height == 0:
            if self.group == self.file.num_row_groups:
                self.done = True
                return None
            found = pl.from_arrow(self.file.read_row_group(self.group, use_threads=False))
            self.group += 1
            assert isinstance(found, pl.DataFrame)
            self.buffer = found
        return int(self.buffer.get_column(RANK)[-1])

    def upto(self, rank: int | None) -> pl.DataFrame | None:
        """The rows not yet taken with a rank up to ``rank`` (all for None)."""
        import numpy as np

        pieces: list[pl.DataFrame] = []
        while True:
            if self.buffer is None or self.buffer.height == 0:
                if self.done:
                    break
                if self.group == self.file.num_row_groups:
                    self.done = True
                    break
                found = pl.from_arrow(self.file.read_row_group(self.group, use_threads=False))
                self.group += 1
                assert isinstance(found, pl.DataFrame)
                self.buffer = found
            ranks = self.buffer.get_column(RANK).to_numpy()
            end = len(ranks) if rank is None else int(np.searchsorted(ranks, rank, "right"))
            pieces.append(self.buffer.slice(0, end))
            self.buffer = self.buffer.slice(end)
            if self.buffer.height:  # the next row is past the rank: the rest can wait
                break
        pieces = [piece for piece in pieces if piece.height]
        return pl.concat(pieces) if pieces else None


class _Merge:
    """One output table: the parts (covered rows, and the engine's islands) and the engine's
    last slices (arriving in rank order) written in one order, a slice at a time, so memory
    holds a slice and a batch of each part."""

    def __init__(self, parts: list[Path], columns: tuple[tuple[str, str], ...],
                 out: TableWriter, summary: object) -> None:
        self.columns = columns
        self.schema = _schema(columns)
        self.money = any(kind == "money" for _, kind in columns)
        # kept as the path made them (cents, categories), each piece typed as it is written
        self.parts = [_Part(path) for path in parts]
        self.out = out
        self.summary = summary  # the lines table adds up statuses and money
        self.rows = 0

    def add(self, chunk: bytes, keys: list[tuple[int, int]], counts: list[int]) -> None:
        """An engine slice: its groups' (rank, place) and row counts, in rank order."""
        engine = _keyed(chunk, self.columns, keys, counts)
        self._write(pl.concat([*self._upto(keys[-1][0] if keys else -1), engine]).sort(KEYS))

    def finish(self) -> None:
        """The parts' rows left, a window of ranks at a time: up to the lowest rank among
        the parts' last rows read, which every part has reached (so memory holds about a
        batch of each part)."""
        while True:
            reached = [rank for rank in (part.last_rank() for part in self.parts)
                       if rank is not None]
            if not reached:
                break
            pieces = self._upto(min(reached))
            if pieces:
                self._write(pl.concat(pieces).sort(KEYS))

    def _upto(self, rank: int | None) -> list[pl.DataFrame]:
        """The parts' rows not yet written up to ``rank`` (all of them for None), typed."""
        pieces = [part.upto(rank) for part in self.parts]
        return [self._typed(piece) for piece in pieces if piece is not None]

    def _typed(self, part: pl.DataFrame) -> pl.DataFrame:
        if self.money:
            part = _as_money(part)
        return part.select([pl.col(name).cast(kind) for name, kind in self.schema.items()]
                           + [pl.col(key).cast(pl.Int64) for key in KEYS])

    def _write(self, part: pl.DataFrame) -> None:
        part = part.drop(KEYS)
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
