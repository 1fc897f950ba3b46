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
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from therabill.batch.accrual import visit_year
from therabill.batch.columnar.check import Plan, _finding_table, _line_table
from therabill.batch.columnar.read import FIRST_NUMBER, ROW, Cells, rows_in
from therabill.batch.pipeline import Group, Seed, SliceOut, Summary
from therabill.batch.readers import Counts, _tabular, kind_of
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


_BATCH = 16_384  # rows of a part written, and read back, at a time
MAX_ROUNDS = 6  # stretches the engine checks between covered ones, per patient-year


def _cents_seed(cents: tuple[int, int, int]) -> Seed:
    return (Decimal(cents[0]).scaleb(-2), Decimal(cents[1]).scaleb(-2),
            Decimal(cents[2]).scaleb(-2))


def _seed_cents(seed: Seed) -> tuple[int, int, int]:
    return (int(seed[0] * 100), int(seed[1] * 100), int(seed[2] * 100))


@dataclass
class _PartDone:
    """What one part left: its tables' files, the rows checked, where its patient-years'
    tails start, and its counts (added to the run's summary in the part's order)."""

    lines: list[tuple[Path, int | None]] = field(default_factory=list)
    findings: list[tuple[Path, int | None]] = field(default_factory=list)
    taken: list[pl.Series] = field(default_factory=list)
    tails: dict[tuple[str, int], tuple[int, int, int]] = field(default_factory=dict)
    columnar: int = 0
    visits: int = 0
    visits_read: int = 0
    records: int = 0
    merged: int = 0
    island_visits: int = 0
    rejects: list[tuple[str, str]] = field(default_factory=list)


class _Run:
    """One columnar run's bookkeeping: the summary, the tables' parts, where each
    patient-year's tail starts and from what figures."""

    def __init__(self, path: Path, plan: Plan, summary: Summary, rejects: TableWriter,
                 workers: int, pool: Executor | None, slice_visits: int,
                 spill: Path) -> None:
        self.path, self.plan, self.summary, self.rejects = path, plan, summary, rejects
        self.workers, self.pool, self.slice_visits = workers, pool, slice_visits
        # parts, each in (rank, pos, sub) order, on disk, with their first rank
        self.lines: list[tuple[Path, int | None]] = []
        self.findings: list[tuple[Path, int | None]] = []
        self.spill = spill
        self.taken: list[pl.Series] = []  # frame rows checked before the last pass
        self.tails: dict[tuple[str, int], tuple[int, int, int]] = {}  # figures a tail starts
        self.island_visits = 0
        self.first = FIRST_NUMBER[kind_of(path)]  # how the file numbers its first record

    def add(self, done: _PartDone) -> None:
        """A part's files, rows and counts, in the run's."""
        summary = self.summary
        self.lines.extend(done.lines)
        self.findings.extend(done.findings)
        self.taken.extend(done.taken)
        self.tails.update(done.tails)
        self.island_visits += done.island_visits
        summary.columnar += done.columnar
        summary.visits += done.visits
        summary.visits_read += done.visits_read
        summary.records += done.records
        summary.merged += done.merged
        if done.rejects:
            self.rejects.write(done.rejects)
            summary.rejects += len(done.rejects)
            summary.failed += len(done.rejects)

    def part(self, part: int) -> _PartDone:
        """One part: covered stretches and the engine's islands between them, in rounds.
        Parts share nothing but the plan (read only) and its facts (locked), so two can be
        worked at once."""
        plan = self.plan
        done = _PartDone()
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
                done.taken.append(rows.get_column(ROW))
                done.columnar += seqs.len()
                done.visits += seqs.len()
                done.visits_read += seqs.len()
                done.records += rows.height
            island, tail = plan.handover(visits, ends, round_ == MAX_ROUNDS - 1)
            for patient, year, pt_slp, ot, ded in tail.unique("pyear").join(
                    ends, on="pyear").join(visits.select("pyear", "year", "patient_id")
                                           .unique("pyear"), on="pyear").select(
                    "patient_id", "year", "pt_slp", "ot", "ded").iter_rows():
                if plan.facts.deductible_cents(year) is not None:  # else the engine's own
                    done.tails[(patient, year)] = (pt_slp, ot, ded)
            if island.height == 0:
                break
            after, engine_tables = self._islands(island, ends, done)
            islands.extend(engine_tables)
            state = after  # the patient-years that go on (the others are done or tails)
            visits = visits.join(state, on="pyear", how="semi").filter(
                pl.col("visit_pos") >= pl.col("visit_pos").min().over("pyear"))
            lines = lines.join(visits.select("seq"), on="seq", how="semi")
        # the path's rows and the engine's islands, each a part in (rank, place, row) order,
        # kept on disk until they are merged into the tables
        for kind, made in (("path", tables), ("engine", islands)):
            if made:
                done.lines.append(self._spill(pl.concat([t for t, _ in made]).sort(KEYS),
                                              f"{part}-{kind}-lines"))
                done.findings.append(self._spill(pl.concat([f for _, f in made]).sort(KEYS),
                                                 f"{part}-{kind}-findings"))
        return done

    def _spill(self, rows: pl.DataFrame, name: str) -> tuple[Path, int | None]:
        path = self.spill / f"part-{name}.parquet"
        rows.write_parquet(path, compression="lz4", row_group_size=_BATCH)
        return path, int(rows.get_column(RANK)[0]) if rows.height else None

    def _islands(self, island: pl.DataFrame, ends: pl.DataFrame, done: _PartDone
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
        done.taken.append(rows.get_column(ROW))
        counts = Counts("rows")
        held: list[pipeline.HeldRecord] = []
        pyears = dict(island.select("seq", "pyear").iter_rows())
        order = sorted(pyears)  # the reader hands visits on in the order of their first rows
        records = _tabular(self.path, rows_in(plan.cells, rows.get_column(ROW), self.first),
                           counts)
        for record, seq in zip(records, order, strict=True):
            assert not isinstance(record, Reject)  # an island's visits are whole and readable
            held.append(pipeline.HeldRecord(pipeline.pack(record.visit), record.position,
                                            record.notes, seeds[pyears[seq]]))
        done.records += counts.records
        done.visits_read += len(held)
        done.island_visits += len(held)
        groups, merged, firsts = pipeline.build_groups_firsts(held)
        done.merged += merged
        keys = [(int(plan.ranks[order[index]]), int(plan.places[order[index]]),
                 pyears[order[index]]) for index in firsts]
        job = pipeline.SliceJob(results=False, tables="parquet", rows=False)
        states: dict[str, tuple[int, int, int]] = {}
        line_parts: list[pl.DataFrame] = []
        finding_parts: list[pl.DataFrame] = []
        at = 0
        for out in pipeline._checked(pipeline.slices(groups, self.slice_visits), self.workers,
                                     job, self.pool):
            done.visits += out.visits
            done.rejects.extend(out.rejects)
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


def run_columnar(path: Path, cells: Cells, summary: object, rejects: TableWriter,
                 lines_out: TableWriter, findings_out: TableWriter, workers: int, auto: bool,
                 pool: Executor | None, progress: object, slice_visits: int) -> None:
    """Check ``path``'s cells into the writers, filling ``summary`` (a pipeline
    ``Summary``). ``auto``: the workers were not asked for, so few visits left to the engine
    stay in this process."""
    from therabill.batch import pipeline
    from therabill.engine import default_engine

    assert isinstance(summary, pipeline.Summary)
    report = progress if callable(progress) else pipeline._no_progress
    plan = Plan(cells, default_engine())
    summary.workers = workers if pool is not None else 1
    # the parts wait on disk, beside the outputs, until they are merged into the tables
    with tempfile.TemporaryDirectory(prefix=".therabill-columnar-",
                                     dir=lines_out.file.path.parent) as spill:
        _run(path, plan, summary, rejects, lines_out, findings_out, auto, pool, report,
             slice_visits, Path(spill))


def _run(path: Path, plan: Plan, summary: Summary,
         rejects: TableWriter, lines_out: TableWriter, findings_out: TableWriter, auto: bool,
         pool: Executor | None, report: Any, slice_visits: int, spill: Path
         ) -> None:
    from therabill.batch import pipeline

    done = _Run(path, plan, summary, rejects, summary.workers, pool, slice_visits, spill)
    # Parts are worked a few at a time, one per core asked for (polars lets go of the
    # interpreter while it works), and added to the run in their order.
    at_once = max(1, min(summary.workers, plan.parts))
    with ThreadPoolExecutor(at_once, thread_name_prefix="columnar-part") as parts:
        for part in (parts.map(done.part, range(plan.parts)) if at_once > 1
                     else map(done.part, range(plan.parts))):
            done.add(part)
            report("checking", summary.columnar + done.island_visits, None)
    checked = pl.concat(done.taken) if done.taken else pl.Series(ROW, [], dtype=pl.UInt32)
    cells, rest = plan.rest(checked)
    del checked
    counts = Counts("rows")
    # The reader's rejects first, as it writes them: rows without a visit key, in the file's
    # order, then the visits whose rows disagree.
    refused = rest.filter(pl.col("seq").is_null() | pl.col("conflict")).get_column(ROW)
    for record in _tabular(path, rows_in(cells, refused, done.first), counts):
        assert isinstance(record, Reject)  # a visit's rows that agree make a visit
        rejects.write([(record.position, record.reason)])
        summary.rejects += 1
    rest = rest.filter(pl.col("seq").is_not_null() & ~pl.col("conflict"))
    keys: deque[tuple[int, int]] = deque()  # each group's (rank, place), as they are read
    groups = _rest_groups(path, cells, rest, done, summary, counts, keys)
    del cells
    total = summary.visits_read + rest.get_column("seq").n_unique() - summary.merged
    del rest
    job = pipeline.SliceJob(results=False, tables="parquet", rows=False)
    if auto and total - summary.visits < pipeline.AUTO_WORKERS_FROM:
        summary.workers = 1
    lines = _Merge(done.lines, LINE_COLUMNS, lines_out, summary)
    findings = _Merge(done.findings, FINDING_COLUMNS, findings_out, None)
    for out in pipeline._checked(pipeline.slices(groups, slice_visits), summary.workers, job,
                                 pool):
        done._tally(out)
        slice_keys = [keys.popleft() for _ in out.group_rows]
        lines.add(out.lines_chunk, slice_keys, [n for n, _ in out.group_rows])
        findings.add(out.findings_chunk, slice_keys, [n for _, n in out.group_rows])
        report("checking", summary.visits, total)
    # the two tables' last rows, each from its own files into its own writer: at once on
    # two cores (the Parquet writer lets go of the interpreter while it encodes)
    with ThreadPoolExecutor(min(2, at_once), thread_name_prefix="columnar-merge") as both:
        for finished in [both.submit(lines.finish), both.submit(findings.finish)]:
            finished.result()
    summary.lines, summary.findings = lines.rows, findings.rows
    summary.records += counts.records
    summary.rejected_records = counts.rejected
    report("checking", summary.visits, summary.visits_read - summary.merged)


_REST_VISITS = 25_000  # visits left to the engine read at a time (whole patient-years)


def _rest_groups(path: Path, cells: Cells, rest: pl.DataFrame, done: _Run, summary: Summary,
                 counts: Counts, keys: deque[tuple[int, int]]) -> Iterator[Group]:
    """The patient-years left to the engine, in rank order, read a run of them at a time
    (``rest``: their rows, in the file's order, with ``seq`` and ``rank``), so that only a
    run's visits are held as records; each group's (rank, place) goes to ``keys``."""
    from therabill.batch import pipeline

    plan = done.plan
    # runs of whole ranks (a patient-year, or a visit without one) of about _REST_VISITS
    per_rank = rest.group_by("rank").agg(pl.col("seq").n_unique().alias("visits")).sort("rank")
    runs = per_rank.select(
        "rank", ((pl.col("visits").cum_sum() - pl.col("visits")) // _REST_VISITS).alias("run"))
    parts = rest.join(runs, on="rank", how="left", maintain_order="left") \
        .partition_by("run", as_dict=True, include_key=False)
    for run in sorted(parts):
        rows = parts.pop(run)
        seqs = rows.get_column("seq").unique().sort().to_list()  # the reader's order
        held: list[pipeline.HeldRecord] = []
        records = _tabular(path, rows_in(cells, rows.get_column(ROW), done.first), counts)
        for record, _ in zip(records, seqs, strict=True):  # a visit each, in seq order
            assert not isinstance(record, Reject)  # a visit's rows that agree make a visit
            year = visit_year(record.visit)
            patient = record.visit.get("patient_id")
            cents = done.tails.get((patient, year)) \
                if year is not None and isinstance(patient, str) else None
            held.append(pipeline.HeldRecord(pipeline.pack(record.visit), record.position,
                                            record.notes,
                                            None if cents is None else _cents_seed(cents)))
        summary.visits_read += len(held)
        groups, merged, firsts = pipeline.build_groups_firsts(held)
        summary.merged += merged
        del held
        # the engine's patient-years in the order of the whole file's: one whose covered
        # visits come first in the file ranks by them, not by its first visit left here
        found = [(int(plan.ranks[seqs[index]]), int(plan.places[seqs[index]]))
                 for index in firsts]
        for index in sorted(range(len(groups)), key=found.__getitem__):
            keys.append(found[index])
            yield groups[index]


class _Part:
    """One part on disk, read a row group at a time, in (rank, place, row) order."""

    def __init__(self, spilled: tuple[Path, int | None]) -> None:
        import pyarrow.parquet as pq

        path, self.first = spilled
        self.file = pq.ParquetFile(path)  # row groups of _BATCH rows, read one at a time
        self.group = 0
        self.buffer: pl.DataFrame | None = None  # rows read and not yet taken

    def next_rank(self) -> int | None:
        """The rank of the part's next row, None when none is left; a part not begun is not
        read (its first rank is known)."""
        if self.group == 0:
            return self.first
        if self.buffer is None or self.buffer.height == 0:
            self._read()
        return None if self.buffer is None else int(self.buffer.get_column(RANK)[0])

    def settled(self) -> int:
        """A rank up to which all the part's rows have been read (the part's next row must
        have been asked for): the rank before the last read, or the last when the part has
        been read to its end."""
        while True:
            if self.buffer is None or self.buffer.height == 0:
                self._read()
            assert self.buffer is not None
            ranks = self.buffer.get_column(RANK)
            if self.group == self.file.num_row_groups:
                return int(ranks[-1])
            if ranks[0] != ranks[-1]:
                return int(ranks[-1]) - 1
            self._read()  # a patient-year longer than the rows read: read on

    def take(self, rank: int) -> pl.DataFrame | None:
        """The rows read with a rank up to ``rank``, taken off the buffer."""
        import numpy as np

        if self.buffer is None:
            return None
        ranks = self.buffer.get_column(RANK).to_numpy()
        end = int(np.searchsorted(ranks, rank, "right"))
        taken, self.buffer = self.buffer.slice(0, end), self.buffer.slice(end)
        return taken if taken.height else None

    def _read(self) -> None:
        """The next row group, after the rows not yet taken (None: none left)."""
        if self.group == self.file.num_row_groups:
            if self.buffer is not None and self.buffer.height == 0:
                self.buffer = None
            return
        found = pl.from_arrow(self.file.read_row_group(self.group, use_threads=False))
        self.group += 1
        assert isinstance(found, pl.DataFrame)
        self.buffer = found if self.buffer is None or self.buffer.height == 0 \
            else pl.concat([self.buffer, found])


class _Merge:
    """One output table: the parts (covered rows, and the engine's islands) and the engine's
    last slices (arriving in rank order) written in one order, a row group of a part at a
    time, so memory holds about one row group of each part in reach."""

    def __init__(self, parts: list[tuple[Path, int | None]],
                 columns: tuple[tuple[str, str], ...], out: TableWriter,
                 summary: object) -> None:
        self.columns = columns
        self.schema = _schema(columns)
        self.money = any(kind == "money" for _, kind in columns)
        # kept as the path made them (cents, categories), each piece typed as it is written
        self.parts = [_Part(spilled) for spilled in parts]
        self.out = out
        self.summary = summary  # the lines table adds up statuses and money
        self.rows = 0

    def add(self, chunk: bytes, keys: list[tuple[int, int]], counts: list[int]) -> None:
        """An engine slice: its groups' (rank, place) and row counts, in rank order."""
        engine = _keyed(chunk, self.columns, keys, counts)
        self._through(keys[-1][0] if keys else -1, engine)

    def finish(self) -> None:
        self._through(None, None)

    def _through(self, rank: int | None, engine: pl.DataFrame | None) -> None:
        """Every row up to ``rank`` (all for None), the parts' and ``engine``'s, written in
        order: each time, up to the nearest end of a row group read (or ``rank``)."""
        while True:
            bound = rank
            for part in self.parts:
                start = part.next_rank()
                if start is not None and (bound is None or start <= bound):
                    settled = part.settled()
                    bound = settled if bound is None else min(bound, settled)
            pieces = [] if bound is None else [part.take(bound) for part in self.parts]
            typed = [self._typed(piece) for piece in pieces if piece is not None]
            in_order = len(typed) == 1  # one part's rows: its file is in order already
            if engine is not None:
                ranks = engine.get_column(RANK)
                ready = engine if bound is None else engine.filter(ranks <= bound)
                engine = None if bound is None else engine.filter(ranks > bound)
                if ready.height:
                    typed.append(ready)
                    in_order = False
            if typed:
                self._write(typed[0] if in_order else pl.concat(typed).sort(KEYS))
            if bound is None or bound == rank:
                return

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
