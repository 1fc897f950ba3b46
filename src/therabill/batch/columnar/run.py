"""A batch run over one plain CSV, TSV or Parquet file with the columnar path: the covered visits as
columns, every other visit through ``Engine.check`` (on the workers), in the order the engine
alone would write them.

Output order is the batch's (patient-years by first appearance, visits by date). Each row
carries its patient-year's rank (the place of its first visit in the file) and its place within
it. Parts are runs of whole ranks, and every visit of a part is checked within it (by the path,
or by the engine on the stretches the path leaves), so the tables are the parts written one
after the other, as they are done.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from therabill.batch.columnar.check import Plan, _finding_table, _line_table
from therabill.batch.columnar.read import FIRST_NUMBER, ROW, Cells, rows_in
from therabill.batch.pipeline import Seed, Summary, in_order
from therabill.batch.readers import Counts, _tabular, kind_of
from therabill.batch.records import Reject
from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS
from therabill.batch.writers import TableWriter

RANK, POS, SUB = "__rank", "__pos", "__sub"  # patient-year, visit's place in it, row
KEYS = [RANK, POS, SUB]
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
    """A decimal with two places holds the cents as its whole number: the cents' eight-byte
    integers are read as eight-byte decimals of scale 2 (no arithmetic, no text)."""
    import pyarrow as pa

    whole = cents.cast(pl.Int64).to_arrow()
    scaled = pa.Array.from_buffers(pa.decimal64(14, 2), len(whole), whole.buffers(),
                                   null_count=whole.null_count, offset=whole.offset)
    found = pl.from_arrow(scaled)
    assert isinstance(found, pl.Series)
    return found.cast(pl.Decimal(14, 2)).alias(cents.name)


def _typed(table: pl.DataFrame, columns: tuple[tuple[str, str], ...]) -> pl.DataFrame:
    """A table as the path made it (money in cents) or as the engine did, in the output's
    types, with its keys."""
    if any(kind == "money" for _, kind in columns):
        table = _as_money(table)
    return table.select([pl.col(name).cast(kind) for name, kind in _schema(columns).items()]
                        + [pl.col(key).cast(pl.Int64) for key in KEYS])


def _one_table(tables: list[pl.DataFrame]) -> pl.DataFrame | None:
    """One table of a part's pieces, in (rank, place, row) order (a piece is in order)."""
    if not tables:
        return None
    return tables[0] if len(tables) == 1 else pl.concat(tables).sort(KEYS)


MAX_ROUNDS = 6  # stretches the engine checks between covered ones, per patient-year


def _cents_seed(cents: tuple[int, int, int]) -> Seed:
    return (Decimal(cents[0]).scaleb(-2), Decimal(cents[1]).scaleb(-2),
            Decimal(cents[2]).scaleb(-2))


def _seed_cents(seed: Seed) -> tuple[int, int, int]:
    return (int(seed[0] * 100), int(seed[1] * 100), int(seed[2] * 100))


@dataclass
class _PartDone:
    """What one part left: its two tables (typed, in order), its counts and the sums of its
    lines (added to the run's summary in the part's order), and the engine's rejects."""

    lines: pl.DataFrame | None = None
    findings: pl.DataFrame | None = None
    status: dict[str, int] = field(default_factory=dict)
    sums: tuple[Decimal, ...] = ()
    columnar: int = 0
    visits: int = 0
    visits_read: int = 0
    records: int = 0
    merged: int = 0
    rejects: list[tuple[str, str]] = field(default_factory=list)


_SUMMED = ("allowed", "payer_paid", "patient_owes", "reductions")


class _Run:
    """One columnar run: works parts (from any thread) and writes them, in order."""

    def __init__(self, path: Path, plan: Plan, summary: Summary, rejects: TableWriter,
                 lines: TableWriter, findings: TableWriter, pool: Executor | None,
                 slice_visits: int) -> None:
        self.path, self.plan, self.summary = path, plan, summary
        self.rejects, self.lines, self.findings = rejects, lines, findings
        self.workers, self.pool, self.slice_visits = summary.workers, pool, slice_visits
        self.first = FIRST_NUMBER[kind_of(path)]  # how the file numbers its first record

    def refuse(self) -> None:
        """The reader's rejects, as it writes them before any visit is checked: rows without
        a visit key, in the file's order, then the visits whose rows disagree."""
        counts = Counts("rows")
        refused = self.plan.refused()
        for record in _tabular(self.path, rows_in(self.plan.cells, refused, self.first),
                               counts):
            assert isinstance(record, Reject)  # a visit's rows that agree make a visit
            self.rejects.write([(record.position, record.reason)])
            self.summary.rejects += 1
        self.summary.records += counts.records
        self.summary.rejected_records = counts.rejected

    def add(self, done: _PartDone) -> None:
        """A part's tables written, and its counts added to the run's (in the parts' order)."""
        summary = self.summary
        if done.lines is not None:
            _write(self.lines, done.lines)
            summary.lines += done.lines.height
            for status, count in done.status.items():
                summary.status[status] = summary.status.get(status, 0) + count
            summary.allowed += done.sums[0]
            summary.payer_paid += done.sums[1]
            summary.patient_owes += done.sums[2]
            summary.reductions += done.sums[3]
        if done.findings is not None:
            _write(self.findings, done.findings)
            summary.findings += done.findings.height
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
        """One part: covered stretches and the engine's islands between them, in rounds, then
        its visits without a patient-year. Parts share nothing but the plan (read only) and
        its facts (locked), so two can be worked at once."""
        plan = self.plan
        done = _PartDone()
        lines, visits = plan.part_lines(part)
        state = plan.start(visits)
        covered_tables: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        engine_tables: list[tuple[pl.DataFrame, pl.DataFrame]] = []
        for round_ in range(MAX_ROUNDS):
            covered, ends = plan.covered(lines, visits, state)
            if covered.height:
                covered_tables.append((_line_table(covered),
                                       _finding_table(covered, plan.facts)))
                seqs = covered.get_column("seq").unique()
                done.columnar += seqs.len()
                done.visits += seqs.len()
                done.visits_read += seqs.len()
                done.records += int(plan.rows_per_visit[seqs.to_numpy()].sum())
            island = plan.handover(visits, ends, round_ == MAX_ROUNDS - 1)
            if island.height == 0:
                break
            after, checked = self._engine(part, island, ends, done)
            engine_tables.append(checked)
            # the patient-years that go on (the others are done)
            state = after.filter(pl.col("start_pos").is_not_null())
            if state.height == 0:
                break
            visits = visits.join(state, on="pyear", how="semi").filter(
                pl.col("visit_pos") >= pl.col("visit_pos").min().over("pyear"))
            lines = lines.join(visits.select("seq"), on="seq", how="semi")
        loose = plan.loose(part)
        if loose.height:
            engine_tables.append(self._engine(part, loose, None, done)[1])
        tables = [(_typed(t, LINE_COLUMNS), _typed(f, FINDING_COLUMNS))
                  for t, f in covered_tables] + engine_tables
        done.lines = _one_table([t for t, _ in tables])
        done.findings = _one_table([f for _, f in tables])
        if done.lines is not None:
            done.status = dict(done.lines.group_by("status").len().iter_rows())
            sums = done.lines.select(pl.col(*_SUMMED).cast(pl.Decimal(20, 2)).sum()).row(0)
            done.sums = tuple(_money(value) for value in sums)
        return done

    def _engine(self, part: int, island: pl.DataFrame, ends: pl.DataFrame | None,
                done: _PartDone) -> tuple[pl.DataFrame, tuple[pl.DataFrame, pl.DataFrame]]:
        """The engine on each patient-year's island, from the figures its covered stretch left
        (``ends``); returns where each year stands after (its next start, null when the
        island runs to the year's end) and the island's two tables (typed, in order)."""
        from therabill.batch import pipeline

        plan = self.plan
        # a year without a Part B deductible loaded: the engine starts the year itself
        seeds = {} if ends is None else {
            pyear: _cents_seed((pt, ot, ded))
            if plan.facts.deductible_cents(year) is not None else None
            for pyear, year, pt, ot, ded in
            ends.join(island.select("pyear", "year").unique("pyear"), on="pyear")
            .select("pyear", "year", "pt_slp", "ot", "ded").iter_rows()}
        rows = plan.rows_of(part, island.get_column("seq"))
        counts = Counts("rows")
        held: list[pipeline.HeldRecord] = []
        pyears = dict(island.select("seq", "pyear").iter_rows())
        order = sorted(pyears)  # the reader hands visits on in the order of their first rows
        records = _tabular(self.path, rows_in(plan.cells, rows.get_column(ROW), self.first),
                           counts)
        for record, seq in zip(records, order, strict=True):
            assert not isinstance(record, Reject)  # an island's visits are whole and readable
            held.append(pipeline.HeldRecord(pipeline.pack(record.visit), record.position,
                                            record.notes, seeds.get(pyears[seq])))
        done.records += counts.records
        done.visits_read += len(held)
        groups, merged, firsts = pipeline.build_groups_firsts(held)
        done.merged += merged
        keys = [(int(plan.ranks[order[index]]), int(plan.places[order[index]]),
                 pyears[order[index]]) for index in firsts]
        job = pipeline.SliceJob(results=False, tables="parquet", rows=False)
        states: dict[int, tuple[int, int, int]] = {}
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
            schema={"pyear": pl.Int64, "pt_slp": pl.Int64, "ot": pl.Int64, "ded": pl.Int64},
            orient="row").join(resume, on="pyear").select(
            "pyear", pl.col("resume").alias("start_pos"), "pt_slp", "ot", "ded")
        tables = (_typed(pl.concat(line_parts), LINE_COLUMNS).sort(KEYS),
                  _typed(pl.concat(finding_parts), FINDING_COLUMNS).sort(KEYS))
        return after, tables


_WRITTEN = 16_384  # rows handed to a writer at a time (each is copied on the way)


def _write(out: TableWriter, table: pl.DataFrame) -> None:
    for start in range(0, table.height, _WRITTEN):
        out.write_arrow(table.slice(start, _WRITTEN).drop(KEYS).to_arrow())


def _money(value: object) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


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
                 lines_out: TableWriter, findings_out: TableWriter, workers: int,
                 pool: Executor | None, progress: object, slice_visits: int) -> None:
    """Check ``path``'s cells into the writers, filling ``summary`` (a pipeline
    ``Summary``). The engine's visits go to ``pool`` (its worker processes start when the
    engine first has more than a slice of visits at once)."""
    from therabill.batch import pipeline
    from therabill.engine import default_engine

    assert isinstance(summary, pipeline.Summary)
    report: Any = progress if callable(progress) else pipeline._no_progress
    plan = Plan(cells, default_engine())
    summary.workers = workers if pool is not None else 1
    done = _Run(path, plan, summary, rejects, lines_out, findings_out, pool, slice_visits)
    done.refuse()
    total = plan.visits.filter(~pl.col("conflict")).height
    # Parts are worked a few at a time, one per core asked for (polars lets go of the
    # interpreter while it works), and written in their order as each is done.
    at_once = max(1, min(summary.workers, plan.parts))
    with ThreadPoolExecutor(at_once, thread_name_prefix="columnar-part") as parts:
        for part in in_order(done.part, range(plan.parts), parts if at_once > 1 else None,
                             at_once):
            done.add(part)
            report("checking", summary.visits_read - summary.merged, total)
    report("checking", summary.visits_read - summary.merged, summary.visits_read - summary.merged)
