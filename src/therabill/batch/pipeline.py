"""A batch run: read every input, order each patient's year, check the visits on every core,
write the tables, and account for every record.

1. Read. Each reader yields visits and rejects; rejects go straight to the rejects file, visits
   are held (compactly, as the reader made them) because a patient's visits can be anywhere in
   the file and must be checked in date order. Memory: about 0.7 KiB per visit held (as
   compact JSON bytes, decoded in the worker), 1 KiB at the peak while a CSV is read.
2. Order. Visits are grouped by patient and calendar year (in order of each group's first
   record) and sorted by date within a group; a visit without a patient id, or without a
   readable date, is a group of its own. Two records of one patient on one date with one payer
   and place are merged into one visit, checked as one day, with a finding saying so.
3. Check. Groups go, whole, in slices to worker processes (spawned); each slice comes back as
   finished rows, written in slice order, so the output is the same for any number of workers.
4. Write. Every file is written under a temporary name and renamed when the run completes.

Output order: patient-year groups in order of their first record, visits by date within each.

A plain CSV/TSV or Parquet file written with the compact detail takes the columnar path
(``therabill.batch.columnar``) for its common visits; the engine checks the rest here, and the
tables come out the same, row for row.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

from therabill.batch.accrual import PatientYear, visit_year
from therabill.batch.readers import InputError, Source, open_source
from therabill.batch.records import Reject, VisitRecord
from therabill.batch.tables import (
    FINDING_COLUMNS,
    LINE_COLUMNS,
    REJECT_COLUMNS,
    Row,
    finding_rows,
    line_rows,
)
from therabill.batch.writers import TABLE_FORMATS, BytesWriter, TableWriter, encode_rows
from therabill.decision import decide

BATCH_SOURCE = "therabill batch"
SLICE_VISITS = 512  # visits a worker takes at a time (whole patient-year groups)
DETAILS = ("full", "compact")
AUTO_WORKERS_FROM = 5_000  # visits; fewer are checked in the main process unless told otherwise
AUTO_POOL_BYTES = 512 * 1024  # inputs this size or more start the workers while being read


@dataclass(frozen=True)
class Outputs:
    lines: Path | None
    findings: Path | None
    results: Path | None
    rejects: Path
    table_format: str
    stale: tuple[Path, ...] = ()  # an earlier run's files this run replaces by leaving out
    fhir: Path | None = None  # ExplanationOfBenefit resources, NDJSON (with --fhir)


def plan_outputs(output: Path, to: str | None = None, detail: str = "full",
                 fhir: bool = False) -> Outputs:
    """Where a run writes (see ``_plan``); with ``fhir`` also an ``eob.ndjson`` of FHIR R4B
    ExplanationOfBenefit resources beside the rejects file."""
    planned = _plan(output, to, detail)
    if not fhir:
        return planned
    rejects = planned.rejects
    name = "eob.ndjson" if rejects.name == "rejects.csv" else \
        rejects.name.replace(".rejects.csv", ".eob.ndjson")
    eob = rejects.with_name(name)
    return replace(planned, fhir=eob, stale=tuple(p for p in planned.stale if p != eob))


def _plan(output: Path, to: str | None, detail: str) -> Outputs:
    """Where a run writes. A directory (created when missing) gets ``lines``, ``findings``
    (Parquet unless ``to`` says csv), ``results.jsonl`` (with ``detail`` full) and
    ``rejects.csv``. A ``.parquet``/``.csv`` file name is the lines table, the others beside it
    (``NAME.findings.parquet``…); a ``.jsonl`` name holds the results alone (and the rejects)."""
    if detail not in DETAILS:
        raise InputError(f"--detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    if to is not None and to not in TABLE_FORMATS:
        raise InputError(f"--to must be one of {', '.join(TABLE_FORMATS)}, not {to!r}")
    suffix = output.suffix.lower()
    if suffix in (".parquet", ".csv") and not output.is_dir():
        fmt = to or suffix[1:]
        if fmt != suffix[1:]:
            raise InputError(f"-o {output}: the name says {suffix[1:]}, --to says {to}")
        stem = output.with_suffix("")
        _parent_exists(output)
        return Outputs(output, stem.with_name(f"{stem.name}.findings.{fmt}"),
                       stem.with_name(f"{stem.name}.results.jsonl") if detail == "full" else None,
                       stem.with_name(f"{stem.name}.rejects.csv"), fmt)
    if suffix in (".jsonl", ".ndjson") and not output.is_dir():
        _parent_exists(output)
        stem = output.with_suffix("")
        return Outputs(None, None, output, stem.with_name(f"{stem.name}.rejects.csv"), "csv")
    if output.exists() and not output.is_dir():
        raise InputError(f"-o {output}: exists and is not a directory")
    if suffix:
        raise InputError(f"-o {output}: name a directory, or a .parquet, .csv or .jsonl file")
    output.mkdir(parents=True, exist_ok=True)
    fmt = to or "parquet"
    other = next(f for f in TABLE_FORMATS if f != fmt)
    stale = (output / f"lines.{other}", output / f"findings.{other}",
             *((output / "results.jsonl",) if detail != "full" else ()))
    return Outputs(output / f"lines.{fmt}", output / f"findings.{fmt}",
                   output / "results.jsonl" if detail == "full" else None,
                   output / "rejects.csv", fmt, stale)


def _parent_exists(path: Path) -> None:
    if path.parent.exists() and not path.parent.is_dir():
        raise InputError(f"-o {path}: {path.parent} is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)


# --- what goes to the workers ----------------------------------------------------------------

# The visit fields the ordering reads (patient-year groups, same-day merges), kept beside the
# encoded visit so it is decoded only in the worker that checks it.
FACT_KEYS = ("visit_id", "patient_id", "date_of_service", "payer", "locality", "claim_type",
             "provider_type", "qualifying_apm", "discipline", "lines")
_ABSENT = object()
_LIST: list[Any] = []  # stands for "lines is a list" (never changed)


class Packed:
    """A visit held for checking: its dict as compact JSON bytes (orjson), about a third of the
    dicts' memory and a plain string to send to a worker, with the few fields the ordering reads
    (``get``). Decoded again in the worker (``unpack``)."""

    __slots__ = ("data", "facts")

    def __init__(self, data: bytes, facts: tuple[Any, ...]) -> None:
        self.data = data
        self.facts = facts

    def get(self, key: str, default: Any = None) -> Any:
        value = self.facts[FACT_KEYS.index(key)]
        return default if value is _ABSENT else value

    def __reduce__(self) -> tuple[Any, ...]:
        # a worker decodes the visit and never reads the facts: only the JSON travels
        return (Packed, (self.data, ()))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def pack(visit: dict[str, Any]) -> dict[str, Any] | Packed:
    """A visit as held; a dict JSON cannot carry as it is (an integer over 64 bits, say) is
    kept as the dict."""
    import orjson

    try:
        data = orjson.dumps(visit, default=_json_default)
    except (TypeError, orjson.JSONEncodeError):
        return visit
    lines = visit.get("lines", _ABSENT)
    facts = tuple(visit.get(key, _ABSENT) for key in FACT_KEYS[:-1])
    # a copy of exact size: orjson's own bytes keep its whole working buffer (4 KiB)
    return Packed(memoryview(data).tobytes(), (*facts, _LIST if isinstance(lines, list)
                                                       else lines))


def unpack(visit: dict[str, Any] | Packed) -> dict[str, Any]:
    if isinstance(visit, Packed):
        import orjson

        decoded: dict[str, Any] = orjson.loads(visit.data)
        return decoded
    return visit


Held = dict[str, Any] | Packed


# Where a patient's year stands before the visits of a group (the columnar path checked the
# earlier ones): PT/SLP and OT threshold amounts and the deductible left.
Seed = tuple[Decimal, Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class Item:
    visit: Held
    notes: tuple[str, ...]
    position: str
    seed: Seed | None = None


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """A visit record as the run holds it until its patient's turn."""

    visit: Held
    position: str
    notes: tuple[str, ...] = ()
    seed: Seed | None = None


Group = list[Item]  # one patient-year, in date order


@dataclass(frozen=True)
class SliceJob:
    """What a worker is asked for besides the visits: which outputs, in which table format."""

    results: bool = True  # the JSON results (full detail)
    tables: str | None = "parquet"  # table format, or None when no tables are written
    rows: bool = False  # the rows themselves too (the report reads them)
    # With a date (one for the whole run, so every worker writes the same bytes): each result
    # as a FHIR ExplanationOfBenefit too.
    fhir_created: date | None = None


@dataclass(slots=True)
class SliceOut:
    """A slice's finished output, in order: encoded results and table chunks (ready to be
    copied into the files), the counts and money totals for the summary, and the rows when
    the job asks for them."""

    visits: int = 0
    results: list[bytes] = field(default_factory=list)
    eob: list[bytes] = field(default_factory=list)  # FHIR NDJSON lines (with --fhir)
    line_count: int = 0
    finding_count: int = 0
    lines_chunk: bytes = b""
    findings_chunk: bytes = b""
    status: dict[str, int] = field(default_factory=dict)
    allowed: Decimal = Decimal("0.00")
    payer_paid: Decimal = Decimal("0.00")
    patient_owes: Decimal = Decimal("0.00")
    reductions: Decimal = Decimal("0.00")
    rejects: list[Row] = field(default_factory=list)  # visits the engine failed on
    lines: list[Row] = field(default_factory=list)  # only when the job asks for rows
    findings: list[Row] = field(default_factory=list)
    group_rows: list[tuple[int, int]] = field(default_factory=list)  # lines, findings a group
    # where each group leaves its patient's year (threshold amounts, deductible left)
    group_states: list[Seed | None] = field(default_factory=list)


def _engine() -> Any:
    """The process's engine (each worker process builds its own, once, on first use)."""
    from therabill.engine import default_engine

    return default_engine()


def _kx_payers(engine: Any) -> frozenset[str]:
    return frozenset(name for name, policy in engine.policies.items() if policy.kx_threshold)


def check_slice(groups: Sequence[Group], job: SliceJob = SliceJob()) -> SliceOut:
    """Check whole patient-year groups in order; what a worker process runs."""
    from therabill.model import RESULT_ADAPTER

    engine = _engine()
    kx_payers = _kx_payers(engine)
    parameters = engine.reference.parameters
    out = SliceOut()
    lines: list[Row] = []
    findings: list[Row] = []
    for group in groups:
        counted = (len(lines), len(findings))
        visits = [unpack(item.visit) for item in group]
        year = visit_year(visits[0])
        accrual: PatientYear | None = None
        if year is not None and visits[0].get("patient_id"):
            found = parameters.at("part_b_deductible", date(year, 1, 1))
            accrual = PatientYear(year, found.value if found is not None else None, kx_payers)
            if group[0].seed is not None:
                accrual.pt_slp, accrual.ot, accrual.deductible_left = group[0].seed
        for item, visit in zip(group, visits, strict=True):
            if accrual is not None:
                visit = accrual.prepare(visit)
            try:
                result = engine.check(visit)
            except Exception as exc:  # an engine fault must not take the file down with it
                out.rejects.append((item.position, f"the engine failed on this visit "
                                                   f"({type(exc).__name__}: {exc})"))
                continue
            if accrual is not None:
                accrual.record(visit, result)
            for note in item.notes:
                result.findings.append(decide("input", note, BATCH_SOURCE, "warning"))
            out.visits += 1
            if job.results:
                out.results.append(RESULT_ADAPTER.dump_json(result))
            if job.fhir_created is not None:
                from therabill.batch.fhir import eob_json

                out.eob.append(eob_json(result, created=job.fhir_created,
                                        notes=item.notes).encode())
            lines.extend(line_rows(result))
            findings.extend(finding_rows(result))
        out.group_rows.append((len(lines) - counted[0], len(findings) - counted[1]))
        out.group_states.append(None if accrual is None or accrual.deductible_left is None
                                else (accrual.pt_slp, accrual.ot, accrual.deductible_left))
    _tally(out, lines)
    out.line_count, out.finding_count = len(lines), len(findings)
    if job.tables is not None:
        out.lines_chunk = encode_rows(lines, LINE_COLUMNS, job.tables)
        out.findings_chunk = encode_rows(findings, FINDING_COLUMNS, job.tables)
    if job.rows:
        out.lines, out.findings = lines, findings
    return out


def _init_worker() -> None:
    _engine()


# --- ordering --------------------------------------------------------------------------------

def _day(visit: Held) -> str:
    value = visit.get("date_of_service")
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return ""


_SAME_DAY = ("payer", "locality", "claim_type", "provider_type", "qualifying_apm")


def _day_key(day: str, visit: Held) -> tuple[Any, ...] | None:
    """Records of one patient with the same key are one day's visit: same date, payer,
    locality (billing place), claim and provider type. None: never merged (no readable date,
    or lines that are not a list)."""
    if not day or not isinstance(visit.get("lines", []), list):
        return None
    return (day, *(str(visit.get(name, "")) for name in _SAME_DAY))


def _with_discipline(visit: dict[str, Any]) -> list[Any]:
    """A visit's lines, each carrying the visit's discipline unless it names its own (so the
    lines of a PT visit stay PT when merged into an OT visit of the same day)."""
    discipline = visit.get("discipline", "PT")
    return [{**line, "discipline": discipline}
            if isinstance(line, dict) and "discipline" not in line else line
            for line in visit.get("lines", [])]


def build_groups(records: Iterable[VisitRecord | HeldRecord]) -> tuple[list[Group], int]:
    """Patient-year groups in order of first appearance, each in date order, with same-day
    records of one patient merged (see ``_day_key``). Returns the groups and how many records
    were merged into another."""
    groups, merged, _ = build_groups_firsts(records)
    return groups, merged


def build_groups_firsts(records: Iterable[VisitRecord | HeldRecord]
                        ) -> tuple[list[Group], int, list[int]]:
    """``build_groups``, and for each group the index of its first record."""
    keyed: dict[tuple[str, int] | int, list[tuple[str, int, VisitRecord | HeldRecord]]] = {}
    for seq, record in enumerate(records):
        patient = record.visit.get("patient_id")
        year = visit_year(record.visit)
        key: tuple[str, int] | int = (
            (patient, year) if isinstance(patient, str) and patient and year is not None
            else seq)
        keyed.setdefault(key, []).append((_day(record.visit), seq, record))
    groups: list[Group] = []
    firsts: list[int] = []
    merged = 0
    for members in keyed.values():
        firsts.append(members[0][1])
        members.sort(key=lambda member: (member[0], member[1]))
        group: Group = []
        days: dict[tuple[Any, ...], int] = {}  # a day's key -> its visit's index in the group
        for day, _, record in members:
            key_of_day = _day_key(day, record.visit)
            at = days.get(key_of_day) if key_of_day is not None else None
            if at is None:
                if key_of_day is not None:
                    days[key_of_day] = len(group)
                group.append(Item(record.visit, record.notes, record.position,
                                  getattr(record, "seed", None)))
                continue
            first = group[at]
            one, other = unpack(first.visit), unpack(record.visit)
            visit = dict(one)
            if one.get("discipline", "PT") != other.get("discipline", "PT"):
                visit["lines"] = [*_with_discipline(one), *_with_discipline(other)]
            else:
                visit["lines"] = [*one.get("lines", []), *other.get("lines", [])]
            note = (f"visit {other.get('visit_id', '?')} ({record.position}) is the "
                    f"same patient, date and payer as visit {one.get('visit_id')}: "
                    "checked as one day, units and edits counted across both")
            group[at] = Item(visit if isinstance(first.visit, dict) else pack(visit),
                             (*first.notes, *record.notes, note),
                             f"{first.position}; {record.position}", first.seed)
            merged += 1
        groups.append(group)
    return groups, merged, firsts


def slices(groups: Iterable[Group], size: int = SLICE_VISITS) -> Iterator[list[Group]]:
    current: list[Group] = []
    count = 0
    for group in groups:
        current.append(group)
        count += len(group)
        if count >= size:
            yield current
            current, count = [], 0
    if current:
        yield current


# --- the run ---------------------------------------------------------------------------------

@dataclass
class Summary:
    inputs: list[str] = field(default_factory=list)
    unit: str = "records"
    records: int = 0
    rejected_records: int = 0
    rejects: int = 0  # entries in the rejects file (a conflicting visit is one entry)
    visits_read: int = 0
    merged: int = 0
    visits: int = 0  # visits checked (results)
    failed: int = 0  # visits the engine failed on (in the rejects file)
    lines: int = 0
    findings: int = 0
    status: dict[str, int] = field(default_factory=dict)
    allowed: Decimal = Decimal("0.00")
    payer_paid: Decimal = Decimal("0.00")
    patient_owes: Decimal = Decimal("0.00")
    reductions: Decimal = Decimal("0.00")  # CQ/CO and sequestration (the lines' reductions)
    seconds: float = 0.0
    workers: int = 1
    columnar: int = 0  # visits checked by the columnar path (the rest by the engine)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def adds_up(self) -> bool:
        """Every record is in a visit or rejected, every visit is checked or merged into one
        that is, and every line has a status."""
        money = (self.allowed == self.payer_paid + self.patient_owes + self.reductions
                 if "reductions" in _LINE_INDEX else True)
        return (self.rejects - self.failed <= self.rejected_records <= self.records
                and self.visits_read == self.visits + self.merged + self.failed
                and sum(self.status.values()) == self.lines and money)

    def text(self) -> list[str]:
        rate = self.visits / self.seconds if self.seconds else 0.0
        statuses = ", ".join(f"{count:,} {name}" for name, count in sorted(
            self.status.items(), key=lambda item: (-item[1], item[0])))
        return [
            f"read {self.records:,} {self.unit} from {', '.join(self.inputs)}: "
            f"{self.records - self.rejected_records:,} in {self.visits_read:,} visits, "
            f"{self.rejected_records:,} rejected ({self.rejects:,} "
            f"entr{'y' if self.rejects == 1 else 'ies'} in the rejects file)",
            f"{self.visits_read:,} visits = {self.visits:,} checked + {self.merged:,} merged "
            "into a same-day visit of the same patient"
            + (f" + {self.failed:,} the engine failed on (in the rejects file)"
               if self.failed else ""),
            f"{self.lines:,} claim lines: {statuses or 'none'}; {self.findings:,} findings",
            f"allowed ${self.allowed:,.2f} = payer ${self.payer_paid:,.2f} + patient "
            f"${self.patient_owes:,.2f} + reductions ${self.reductions:,.2f}",
            f"{self.visits:,} visits in {self.seconds:.1f} s ({rate:,.0f} visits/s, "
            f"{self.workers} worker{'s' if self.workers != 1 else ''}): "
            f"{self.columnar:,} by the columnar path, {self.visits - self.columnar:,} by the "
            "engine",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs, "unit": self.unit, "records": self.records,
            "rejected_records": self.rejected_records, "rejects": self.rejects,
            "visits_read": self.visits_read, "merged": self.merged, "visits": self.visits,
            "failed": self.failed,
            "lines": self.lines, "findings": self.findings, "status": dict(self.status),
            "allowed": str(self.allowed), "payer_paid": str(self.payer_paid),
            "patient_owes": str(self.patient_owes), "reductions": str(self.reductions),
            "seconds": round(self.seconds, 3),
            "workers": self.workers, "columnar": self.columnar,
            "engine": self.visits - self.columnar, "outputs": self.outputs, "adds_up": self.adds_up,
        }


ProgressHook = Callable[[str, int, int | None], None]  # phase, done, total


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


_LINE_INDEX = {name: index for index, (name, _) in enumerate(LINE_COLUMNS)}


def _tally(summary: SliceOut, rows: Sequence[Row]) -> None:
    status_at, allowed_at = _LINE_INDEX["status"], _LINE_INDEX.get("allowed")
    paid_at, owes_at = _LINE_INDEX.get("payer_paid"), _LINE_INDEX.get("patient_owes")
    cut_at = _LINE_INDEX.get("reductions")
    for row in rows:
        status = row[status_at]
        summary.status[status] = summary.status.get(status, 0) + 1
        if allowed_at is not None and row[allowed_at] is not None:
            summary.allowed += row[allowed_at]
        if paid_at is not None and row[paid_at] is not None:
            summary.payer_paid += row[paid_at]
        if owes_at is not None and row[owes_at] is not None:
            summary.patient_owes += row[owes_at]
        if cut_at is not None and row[cut_at] is not None:
            summary.reductions += row[cut_at]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def run(inputs: Sequence[Path], outputs: Outputs, *, workers: int = 1,
        mapping: dict[str, str] | None = None, progress: ProgressHook = _no_progress,
        sink: Callable[[SliceOut], None] | None = None,
        slice_visits: int = SLICE_VISITS, columnar: bool = True, x12_map: bool = True
        ) -> Summary:
    """Read, check and write; returns the summary. ``InputError`` for an input that cannot be
    read at all (nothing is left behind then). ``sink`` sees every slice's rows (the report).
    ``workers`` of 0 or less: one per core for files of ``AUTO_WORKERS_FROM`` visits or more.
    ``columnar``: check the common visits of a plain CSV/TSV or Parquet file as columns (see
    ``therabill.batch.columnar``) when only the tables are written. ``x12_map``: check an
    837P's segments against the X222A1 map (else its envelope only)."""
    started = time.perf_counter()
    written = {path.resolve() for path in (outputs.lines, outputs.findings, outputs.results,
                                           outputs.rejects) if path is not None}
    for path in inputs:
        if path.resolve() in written:
            raise InputError(f"{path}: is also an output of this run; choose another -o")
    summary = Summary(inputs=[path.name for path in inputs], workers=max(1, workers))
    auto = workers <= 0
    writers: list[TableWriter | BytesWriter] = []
    with ExitStack() as stack:
        # Workers start (a fresh interpreter and the reference data each, about a second)
        # while the input is read, when they are likely to be used; for a file the columnar
        # path may take, only once the engine has visits to check.
        size = sum(path.stat().st_size for path in inputs if path.is_file())
        planned = default_workers() if auto and size >= AUTO_POOL_BYTES else workers
        tabular = (columnar and len(inputs) == 1 and sink is None and outputs.results is None
                   and outputs.fhir is None and outputs.lines is not None)
        pool = stack.enter_context(_pool(planned, eager=not tabular)) if planned > 1 else None
        plain = None
        if tabular:
            from therabill.batch.columnar.read import plain_cells
            from therabill.batch.readers import kind_of

            plain = plain_cells(inputs[0], kind_of(inputs[0]), mapping or {})
        if plain is None and isinstance(pool, _Workers):
            pool.start()  # the engine takes the whole file
        if plain is not None:
            return _run_columnar(inputs[0], plain, outputs, summary, auto, writers, pool,
                                 progress, slice_visits, started)
        return _run(inputs, outputs, summary, auto, writers, pool, mapping, progress, sink,
                    slice_visits, started, x12_map)


def _run_columnar(path: Path, cells: Any, outputs: Outputs, summary: Summary, auto: bool,
                  writers: list[TableWriter | BytesWriter], pool: Executor | None,
                  progress: ProgressHook, slice_visits: int, started: float) -> Summary:
    from therabill.batch.columnar.run import run_columnar

    assert outputs.lines is not None and outputs.findings is not None
    with _all_or_nothing(writers, outputs):
        rejects = TableWriter(outputs.rejects, REJECT_COLUMNS, "csv")
        lines = TableWriter(outputs.lines, LINE_COLUMNS, outputs.table_format)
        findings = TableWriter(outputs.findings, FINDING_COLUMNS, outputs.table_format)
        writers.extend((rejects, lines, findings))
        summary.unit = "rows"
        workers = default_workers() if auto else summary.workers
        run_columnar(path, cells, summary, rejects, lines, findings, workers, pool, progress,
                     slice_visits)
    return _finished(summary, outputs, started)


@contextmanager
def _all_or_nothing(writers: list[TableWriter | BytesWriter], outputs: Outputs
                    ) -> Iterator[None]:
    """Every output renamed into place when the block ends well, and an earlier run's other
    files removed (so the folder holds this run's files only); none left when it fails."""
    try:
        yield
        for writer in writers:
            writer.commit()
        for old in outputs.stale:
            old.unlink(missing_ok=True)
    except BaseException:
        for writer in writers:
            writer.discard()
        raise


def _finished(summary: Summary, outputs: Outputs, started: float) -> Summary:
    summary.outputs = {name: str(path) for name, path in (
        ("lines", outputs.lines), ("findings", outputs.findings), ("results", outputs.results),
        ("fhir", outputs.fhir), ("rejects", outputs.rejects)) if path is not None}
    summary.seconds = time.perf_counter() - started
    return summary


def _run(inputs: Sequence[Path], outputs: Outputs, summary: Summary, auto: bool,
         writers: list[TableWriter | BytesWriter], pool: Executor | None,
         mapping: dict[str, str] | None, progress: ProgressHook,
         sink: Callable[[SliceOut], None] | None, slice_visits: int, started: float,
         x12_map: bool) -> Summary:
    with _all_or_nothing(writers, outputs):
        rejects = TableWriter(outputs.rejects, REJECT_COLUMNS, "csv")
        writers.append(rejects)
        sources: list[Source] = [open_source(path, mapping, x12_map=x12_map)
                                 for path in inputs]
        units = {source.counts.unit for source in sources}
        summary.unit = units.pop() if len(units) == 1 else "records"
        held: list[HeldRecord] = []
        for source in sources:
            for record in source.records:
                if isinstance(record, Reject):
                    rejects.write([(record.position, record.reason)])
                    summary.rejects += 1
                else:
                    held.append(HeldRecord(pack(record.visit), record.position, record.notes))
                if (summary.rejects + len(held)) % 5_000 == 0:
                    progress("reading", sum(s.counts.records for s in sources), None)
        summary.records = sum(source.counts.records for source in sources)
        summary.rejected_records = sum(source.counts.rejected for source in sources)
        summary.visits_read = len(held)
        groups, summary.merged = build_groups(held)
        del held
        lines = findings = results = None
        if outputs.lines is not None and outputs.findings is not None:
            lines = TableWriter(outputs.lines, LINE_COLUMNS, outputs.table_format)
            findings = TableWriter(outputs.findings, FINDING_COLUMNS, outputs.table_format)
            writers.extend((lines, findings))
        if outputs.results is not None:
            results = BytesWriter(outputs.results)
            writers.append(results)
        eob = BytesWriter(outputs.fhir) if outputs.fhir is not None else None
        if eob is not None:
            writers.append(eob)
        total = summary.visits_read - summary.merged
        if auto:  # one per core, when the file is worth a worker's start (about a second)
            summary.workers = default_workers() if total >= AUTO_WORKERS_FROM else 1
        if pool is None:
            summary.workers = 1
        progress("checking", 0, total)
        job = SliceJob(results=results is not None,
                       tables=outputs.table_format if lines is not None else None,
                       rows=sink is not None,
                       fhir_created=date.today() if eob is not None else None)
        for out in _checked(slices(groups, slice_visits), summary.workers, job, pool):
            summary.visits += out.visits
            if out.rejects:
                rejects.write(out.rejects)
                summary.rejects += len(out.rejects)
                summary.failed += len(out.rejects)
            summary.lines += out.line_count
            summary.findings += out.finding_count
            for status, count in out.status.items():
                summary.status[status] = summary.status.get(status, 0) + count
            summary.allowed += out.allowed
            summary.payer_paid += out.payer_paid
            summary.patient_owes += out.patient_owes
            summary.reductions += out.reductions
            if lines is not None and findings is not None:
                lines.write_encoded(out.lines_chunk, out.line_count)
                findings.write_encoded(out.findings_chunk, out.finding_count)
            if results is not None:
                results.write(out.results)
            if eob is not None:
                eob.write(out.eob)
            if sink is not None:
                sink(out)
            progress("checking", summary.visits, total)
    return _finished(summary, outputs, started)


def _warm() -> None:
    _engine()


@contextmanager
def _pool(workers: int, eager: bool = True) -> Iterator[Executor]:
    """Worker processes, spawned (not forked: polars and pyarrow hold threads), each loading
    the engine: started at once (``eager``), or on the first slice handed to them."""
    pool = _Workers(workers)
    try:
        if eager:
            pool.start()
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Workers(Executor):
    """The worker processes, started when first asked for (from any thread)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None
        self.lock = threading.Lock()

    def start(self) -> ProcessPoolExecutor:
        with self.lock:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(max_workers=self.workers,
                                                mp_context=get_context("spawn"),
                                                initializer=_init_worker)
                for _ in range(self.workers):
                    self.pool.submit(_warm)
            return self.pool

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.start().submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


_In = TypeVar("_In")
_Out = TypeVar("_Out")


def _checked(parts: Iterator[list[Group]], workers: int, job: SliceJob,
             pool: Executor | None) -> Iterator[SliceOut]:
    """Slices checked in order: here, or in the pool's worker processes (a window of slices
    in flight, handed back in input order). A single slice is checked here."""
    first = list(islice(parts, 2))
    parts = chain(first, parts)
    many = pool is not None and workers > 1 and len(first) == 2
    yield from in_order(partial(check_slice, job=job), parts, pool if many else None,
                        4 * workers - 1)


def in_order(work: Callable[[_In], _Out], items: Iterable[_In], pool: Executor | None,
             ahead: int) -> Iterator[_Out]:
    """``work`` on each item, in the pool (at most ``ahead`` waiting beyond the one handed
    on, which bounds what is held), handed on in the items' order; here when no pool."""
    if pool is None:
        yield from map(work, items)
        return
    waiting: deque[Future[_Out]] = deque()
    for item in items:
        waiting.append(pool.submit(work, item))
        if len(waiting) > ahead:
            yield waiting.popleft().result()
    while waiting:
        yield waiting.popleft().result()
