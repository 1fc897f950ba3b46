"""Readers for claims files: CSV/TSV and Parquet (one row per service line), JSON and JSON Lines
(one visit per record, the shape ``therabill check`` reads), and X12 837P (dispatched to
``therabill.batch.x12``).

Every reader yields ``VisitRecord`` or ``Reject`` and counts what it read, so a run can show that
every input record ended in a result or in the rejects file. Tabular rows are grouped into visits
by ``visit_id`` (rows of a visit need not be next to each other), or by ``patient_id`` and
``date_of_service`` when the file has no ``visit_id`` column or the cell is empty.

Cell values are handed to the engine as text (empty cells left out): the engine's own input
validation turns a bad value (``minutes`` of ``abc``, a date of ``2025-13-01``) into an ``input``
finding naming the field, while the other lines of the visit are still checked.
"""

from __future__ import annotations

import csv
import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from sys import intern
from typing import Any

from therabill.batch.records import Record, Reject, VisitRecord

# Columns of a tabular claims file. Visit fields repeat on every row of the visit and must agree;
# line fields describe that row's service. ``line_discipline`` is the line's own ``discipline``
# (the visit's is ``discipline``); the year-to-date threshold amounts are two flat columns.
VISIT_COLUMNS: tuple[str, ...] = (
    "visit_id", "patient_id", "date_of_service", "payer", "locality", "claim_type",
    "provider_type", "discipline", "qualifying_apm", "deductible_remaining",
    "ytd_threshold_pt_slp", "ytd_threshold_ot",
)
LINE_COLUMNS: tuple[str, ...] = (
    "code", "minutes", "assistant_minutes", "line_discipline", "modifiers", "charge",
    "performed_by",
)
COLUMNS: tuple[str, ...] = VISIT_COLUMNS + LINE_COLUMNS
_LINE_FIELD = {"line_discipline": "discipline"}
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
IGNORE = "-"  # ``--map notes=-`` drops a column the file carries but therabill does not use

X12_SUFFIXES = (".837", ".x12", ".edi")


class InputError(ValueError):
    """A file that cannot be read at all (missing, unknown columns, wrong format): one line."""


@dataclass
class Counts:
    """What a reader has read so far, in its own records (rows, JSON records, claims)."""

    unit: str = "records"
    records: int = 0
    rejected: int = 0  # records that ended in the rejects file


@dataclass
class Source:
    """One input file opened for reading: its records, and the counts as they are read."""

    path: Path
    kind: str  # csv, tsv, parquet, json, x12
    counts: Counts
    records: Iterator[Record] = field(default_factory=lambda: iter(()))


def parse_mapping(items: Iterable[str]) -> dict[str, str]:
    """``--map old=new`` options into a renaming; ``new`` of ``-`` drops the column."""
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise InputError(f"--map {item!r}: write it as OLD=NEW (NEW of - drops the column)")
        if new != IGNORE and new not in COLUMNS:
            raise InputError(f"--map {item!r}: {new!r} is not a column therabill reads; "
                             f"columns: {', '.join(COLUMNS)}")
        mapping[old] = new
    return mapping


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".tsv":
        return "tsv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix in X12_SUFFIXES:
        return "x12"
    raise InputError(f"{path}: cannot tell the format from {suffix or 'no extension'!r}; use "
                     ".csv, .tsv, .parquet, .json, .jsonl or .837/.x12/.edi")


def open_source(path: Path, mapping: Mapping[str, str] | None = None, *,
                x12_map: bool = True) -> Source:
    """Open one input for reading; problems with the file as a whole raise ``InputError``.
    ``x12_map``: an 837P's segments are checked against the X222A1 map (else its envelope
    only: for a file a clearinghouse has accepted already)."""
    kind = kind_of(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    mapping = dict(mapping or {})
    if kind in ("csv", "tsv"):
        counts = Counts("rows")
        return Source(path, kind, counts, _tabular(path, _csv_rows(path, kind, mapping), counts))
    if kind == "parquet":
        counts = Counts("rows")
        return Source(path, kind, counts, _tabular(path, _parquet_rows(path, mapping), counts))
    if kind == "json":
        counts = Counts("records")
        return Source(path, kind, counts, _json_records(path, counts))
    counts = Counts("records")
    return Source(path, kind, counts, _x12_records(path, counts, x12_map))


# --- tabular: CSV, TSV, Parquet -------------------------------------------------------------

def _header(path: Path, names: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """The file's column names in therabill's terms; an unknown one is an error for the file."""
    columns = []
    unknown = []
    for raw in names:
        name = raw.strip()
        name = mapping.get(name, name)
        if name != IGNORE and name not in COLUMNS:
            unknown.append(raw)
        columns.append(name)
    if unknown:
        raise InputError(f"{path.name}: unknown column(s) {', '.join(map(repr, unknown))}; "
                         f"rename with --map OLD=NEW (or OLD=- to drop); columns: "
                         f"{', '.join(COLUMNS)}")
    repeated = sorted({c for c in columns if c != IGNORE and columns.count(c) > 1})
    if repeated:
        raise InputError(f"{path.name}: column(s) {', '.join(repeated)} appear more than once")
    if "code" not in columns:
        raise InputError(f"{path.name}: no 'code' column (one row per service line)")
    if "visit_id" not in columns and not {"patient_id", "date_of_service"} <= set(columns):
        raise InputError(f"{path.name}: needs a 'visit_id' column, or 'patient_id' and "
                         "'date_of_service' to group rows into visits")
    return columns


# A tabular row as the readers hand it on: its row number and its non-empty cells by column.
Row = tuple[int, dict[str, str]]


def _csv_rows(path: Path, kind: str, mapping: Mapping[str, str]) -> Iterator[Row | Reject]:
    delimiter = "\t" if kind == "tsv" else ","
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            names = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path.name}: cannot read the header ({exc})") from None
        if not names:
            raise InputError(f"{path.name}: the file is empty (a header row is needed)")
        columns = _header(path, names, mapping)
        width = len(columns)
        while True:
            number = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise InputError(f"{path.name}: not UTF-8 text after line {number - 1}") from None
            except csv.Error as exc:
                yield Reject(f"{path.name} line {number}", f"unreadable row: {exc}")
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank line: not a record
            if len(cells) != width:
                yield Reject(f"{path.name} line {number}",
                             f"{len(cells)} fields where the header has {width}")
                continue
            yield number, {name: cell.strip() for name, cell in zip(columns, cells, strict=True)
                           if name != IGNORE and cell.strip()}


def _cell_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


def _parquet_rows(path: Path, mapping: Mapping[str, str]) -> Iterator[Row | Reject]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path.name}: not a readable Parquet file ({exc})") from None
    names = parquet.schema_arrow.names
    columns = _header(path, names, mapping)
    number = 0
    for batch in parquet.iter_batches(batch_size=65_536):
        values = [batch.column(i).to_pylist() if columns[i] != IGNORE else None
                  for i in range(len(columns))]
        for index in range(batch.num_rows):
            number += 1
            cells: dict[str, str] = {}
            for name, column in zip(columns, values, strict=True):
                if column is None:
                    continue
                value = column[index]
                if value is None:
                    continue
                text = _cell_text(value)
                if text:
                    cells[name] = text
            if cells:
                yield number, cells


def _positions(path: Path, rows: list[int], word: str) -> str:
    if len(rows) == 1:
        return f"{path.name} {word} {rows[0]}"
    if rows == list(range(rows[0], rows[-1] + 1)):
        return f"{path.name} {word}s {rows[0]}-{rows[-1]}"
    return f"{path.name} {word}s {', '.join(map(str, rows))}"


class _Pending:
    """A visit while its file is read: row numbers, visit-level cells (in ``VISIT_COLUMNS``
    order, None where no row gave one) and each row's line cells (in ``LINE_COLUMNS`` order),
    as lists and tuples of shared strings: a file's visits are all pending at the end."""

    __slots__ = ("cells", "conflict", "lines", "rows")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cells: list[str | None] = [None] * len(VISIT_COLUMNS)
        self.lines: list[tuple[str | None, ...]] = []
        self.conflict = ""


def _visit_fields(cells: Mapping[str, str]) -> dict[str, Any]:
    # Values repeat across a file (dates, payers, localities, patients, codes, minutes): one
    # shared string each keeps the held visits small (sys.intern; freed when unused).
    visit: dict[str, Any] = {}
    threshold: dict[str, str] = {}
    for name in VISIT_COLUMNS:
        value = cells.get(name)
        if value is None:
            continue
        if name != "visit_id":
            value = intern(value)
        if name == "ytd_threshold_pt_slp":
            threshold["pt_slp"] = value
        elif name == "ytd_threshold_ot":
            threshold["ot"] = value
        elif name == "qualifying_apm":
            lowered = value.lower()
            visit[name] = True if lowered in _TRUE else False if lowered in _FALSE else value
        else:
            visit[name] = value
    if threshold:
        visit["ytd_threshold_amount"] = threshold
    return visit


def _line_fields(cells: Mapping[str, str]) -> dict[str, Any]:
    line: dict[str, Any] = {}
    for name in LINE_COLUMNS:
        value = cells.get(name)
        if value is None:
            continue
        if name == "modifiers":
            line[name] = [intern(part) for part in
                          value.replace(",", " ").replace(";", " ").split()]
        else:
            line[_LINE_FIELD.get(name, name)] = intern(value)
    return line


def _tabular(path: Path, rows: Iterator[Row | Reject], counts: Counts) -> Iterator[Record]:
    """Group rows into visits. Rows of one visit can be anywhere in the file, so visits are
    handed on when the file has been read (the run holds them anyway, to order each patient's
    year by date)."""
    word = "line" if path.suffix.lower() in (".csv", ".tsv", ".txt") else "row"
    pending: dict[tuple[str, str], _Pending] = {}
    for item in rows:
        counts.records += 1
        if isinstance(item, Reject):
            counts.rejected += 1
            yield item
            continue
        number, cells = item
        visit_id = cells.get("visit_id", "")
        if visit_id:
            key = ("id", visit_id)
        elif cells.get("patient_id") and cells.get("date_of_service"):
            key = ("day", f"{cells['patient_id']}\x1f{cells['date_of_service']}")
        else:
            counts.rejected += 1
            yield Reject(f"{path.name} {word} {number}",
                         "no visit_id, and no patient_id with date_of_service to group it by")
            continue
        group = pending.get(key)
        if group is None:
            group = pending[key] = _Pending()
        if not group.conflict:
            for index, name in enumerate(VISIT_COLUMNS):
                value = cells.get(name)
                if value is None:
                    continue
                first = group.cells[index]
                if first is None:
                    group.cells[index] = value if name == "visit_id" else intern(value)
                elif first != value:
                    group.conflict = (f"rows of one visit disagree on {name}: {first!r} "
                                      f"(line {group.rows[0]}) and {value!r} (line {number})")
                    break
        group.rows.append(number)
        group.lines.append(tuple(None if (value := cells.get(name)) is None else intern(value)
                                 for name in LINE_COLUMNS))
    for group in pending.values():
        where = _positions(path, group.rows, word)
        count = len(group.rows)
        if group.conflict:
            counts.rejected += count
            yield Reject(where, group.conflict)
        else:
            fields = {name: value for name, value in zip(VISIT_COLUMNS, group.cells, strict=True)
                      if value is not None}
            visit = _visit_fields(fields)
            if "visit_id" not in visit:
                visit["visit_id"] = f"{fields['patient_id']}/{fields['date_of_service']}"
            visit["lines"] = [
                _line_fields({name: value for name, value in zip(LINE_COLUMNS, line, strict=True)
                              if value is not None}) for line in group.lines]
            yield VisitRecord(visit, where)
        group.rows, group.cells, group.lines = [], [], []  # freed as the visits are handed on


# --- JSON and JSON Lines ----------------------------------------------------------------------

def _json_records(path: Path, counts: Counts) -> Iterator[Record]:
    """A JSON array or object is read whole; JSON Lines are read a line at a time (a first line
    that is not JSON on its own means a single pretty-printed object, read whole)."""
    import orjson

    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with handle:
        start = handle.read(65_536).lstrip()
        if not start:
            raise InputError(f"{path.name}: the file is empty")
        handle.seek(0)
        lines = iter(handle) if not start.startswith(b"[") else iter(())
        number, first = 0, b""
        for raw in lines:
            number += 1
            if raw.strip():
                first = raw
                break
        whole: Any = None
        if start.startswith(b"[") or _not_json(first):
            after_first = handle.tell()
            handle.seek(0)
            try:
                whole = orjson.loads(handle.read())
            except orjson.JSONDecodeError as exc:
                if start.startswith(b"["):
                    raise InputError(f"{path.name}: not valid JSON ({exc})") from None
                handle.seek(after_first)  # JSON Lines after all, with a bad first line
        if whole is not None:
            yield from _json_whole(path, whole, counts)
            return
        yield from _json_line(path, number, first, counts)
        for raw in lines:
            number += 1
            if raw.strip():
                yield from _json_line(path, number, raw, counts)


def _not_json(raw: bytes) -> bool:
    import orjson

    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    return False


def _json_whole(path: Path, whole: Any, counts: Counts) -> Iterator[Record]:
    items = whole if isinstance(whole, list) else [whole]
    word = "item" if isinstance(whole, list) else "object"
    for index, item in enumerate(items):
        counts.records += 1
        where = f"{path.name} {word} {index}" if word == "item" else path.name
        if isinstance(item, dict):
            yield VisitRecord(item, where)
        else:
            counts.rejected += 1
            yield Reject(where, "a visit must be a JSON object")


def _json_line(path: Path, number: int, raw: bytes, counts: Counts) -> Iterator[Record]:
    import orjson

    counts.records += 1
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        counts.rejected += 1
        yield Reject(f"{path.name} line {number}", f"malformed JSON: {exc}")
        return
    if isinstance(value, dict):
        yield VisitRecord(value, f"{path.name} line {number}")
    else:
        counts.rejected += 1
        yield Reject(f"{path.name} line {number}", "a visit must be a JSON object")


# --- X12 837P ---------------------------------------------------------------------------------

def _x12_records(path: Path, counts: Counts, validate: bool) -> Iterator[Record]:
    try:  # the 837P reader is its own module (pyx12), loaded only for X12 input
        read_837p = importlib.import_module("therabill.batch.x12").read_837p
    except ImportError:
        raise InputError(f"{path.name}: the X12 837P reader is not installed in this "
                         "build") from None
    for record in read_837p(path, validate=validate):
        counts.records += 1
        if isinstance(record, Reject):
            counts.rejected += 1
        yield record
