"""Geographic practice cost indices (Addendum E, ``GPCI2025.csv`` …), CSV and TXT layouts.

CMS changes this file's layout nearly every year, so columns are found by their titles:

* 2017-2019: the column titles span two rows ("2017" above "PW GPCI (with 1.0 Floor)"); the MAC
  column is "Carrier" in 2017; no State column.
* 2020: one title row ("2020 PW GPCI"), still no State column.
* 2021 on: a State column (two-letter code) between MAC and locality number.
* 2022: the CSV lost the leading zeros of MAC and locality numbers ("2102", "1").
* 2026: two work columns, "(without 1.0 Floor)" and "(with 1.0 Floor)".
* 2018: the work GPCIs have no 1.0 floor (the floor had lapsed when the file was issued).
* TXT twin (2024, 2025): one title line, then blank-padded columns whose titles do not line up
  with the values; a row is split on blanks (the name is everything between the leading code
  fields and the trailing GPCI numbers) and mapped to the title order.

Locality names carry footnote asterisks ("ALASKA*"), which are dropped. The table ends at the first
blank or footnote row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from therabill.reference.importers.common import (
    DataFileError,
    RowBounds,
    clean_label,
    column_positions,
    pad_digits,
    parse_decimal,
    read_source,
)
from therabill.reference.records import GpciRecord, GpciRelease, SourceInfo

MAC = "MAC"
STATE = "State"
LOCALITY = "Locality Number"
NAME = "Locality Name"
WORK = "PW GPCI"
WORK_UNFLOORED = "PW GPCI (without 1.0 Floor)"
PE = "PE GPCI"
MP = "MP GPCI"

_REQUIRED = (MAC, LOCALITY, NAME, WORK, PE, MP)
_GPCI_RANGE = (Decimal("0.3"), Decimal("3.0"))
# Malpractice GPCIs go lower: Nebraska's was 0.235 in 2021 and 2022, 0.277 in 2020.
_MP_RANGE = (Decimal("0.2"), Decimal("3.0"))
_LOCALITIES = RowBounds(80, 130)
_THOUSANDTH = Decimal("0.001")
_YEAR = re.compile(r"\b(20\d{2})\b")
_STATE_CODE = re.compile(r"[A-Z]{2}")
# Column titles in the TXT header line, which runs titles together ("2024 PW GPCI2024 PE GPCI").
_TXT_TITLE = re.compile(
    r"Medicare Admi\w*(?: Contractor)?(?: \(MAC\))?|Carrier(?: Number)?|State|Locality Name"
    r"|Locality(?: Number)?|(?:\d{4} )?(?:PW|PE|MP) GPCI(?: ?\(with(?:out)? 1\.0 Floor\))?",
    re.IGNORECASE)
_MAX_TITLE_ROWS = 10


@dataclass(frozen=True, slots=True)
class _Table:
    title: str
    columns: dict[str, int]  # our column name -> position in a row
    width: int  # fields per data row
    rows: Iterator[tuple[int, Sequence[str]]]  # (1-based line, fields) up to the footnotes


def read_gpci_file(path: Path) -> GpciRelease:
    """Read one year's GPCI file (CSV, or the fixed-width TXT twin) into a :class:`GpciRelease`."""
    text, digest = read_source(path)
    table = _read_txt(path, text) if path.suffix.lower() == ".txt" else _read_csv(path, text)
    match = _YEAR.search(table.title)
    if match is None:
        raise DataFileError(path, f"no year in the title {table.title!r}", 1)
    year = int(match[1])
    columns = table.columns
    records: dict[str, GpciRecord] = {}
    for line, row in table.rows:
        if len(row) != table.width:
            raise DataFileError(path, f"{len(row)} fields, expected {table.width}", line)
        name = clean_label(row[columns[NAME]]).rstrip("*").rstrip()
        if not name:
            raise DataFileError(path, "empty locality name", line, NAME)
        record = GpciRecord(
            mac=pad_digits(row[columns[MAC]], 5, path, line, MAC),
            locality=pad_digits(row[columns[LOCALITY]], 2, path, line, LOCALITY),
            state=_state(path, line, row, columns),
            name=name,
            work=_gpci(path, line, row, columns, WORK),
            pe=_gpci(path, line, row, columns, PE),
            mp=_gpci(path, line, row, columns, MP),
            work_unfloored=(_gpci(path, line, row, columns, WORK_UNFLOORED)
                            if WORK_UNFLOORED in columns else None),
        )
        if record.locality_id in records:
            raise DataFileError(path, f"second row for locality {record.locality_id}", line,
                                LOCALITY)
        records[record.locality_id] = record
    _LOCALITIES.check(len(records), path, "locality")
    return GpciRelease(
        release_id=f"GPCI{year}",
        year=year,
        title=table.title,
        source=SourceInfo(file_name=path.name, sha256=digest, rows=len(records)),
        records=records,
    )


def _column_key(title: str) -> str | None:
    """Which of our columns a CMS column title names (titles differ by year)."""
    lower = title.lower()
    if "pw gpci" in lower:
        return WORK_UNFLOORED if "without" in lower else WORK
    if "pe gpci" in lower:
        return PE
    if "mp gpci" in lower:
        return MP
    if lower.startswith(("carrier", "medicare admi")):
        return MAC
    if lower == "state":
        return STATE
    if lower.startswith("locality name"):
        return NAME
    if lower.startswith("locality"):
        return LOCALITY
    return None


def _read_csv(path: Path, text: str) -> _Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    numbered = ((reader.line_num, row) for row in reader)
    title = ""
    header: list[str] | None = None
    header_line = 0
    for line, row in numbered:
        if not title and any(cell.strip() for cell in row):
            title = clean_label(next(cell for cell in row if cell.strip()))
        if any(clean_label(cell).lower() == NAME.lower() for cell in row):
            header, header_line = row, line
            break
        if line > _MAX_TITLE_ROWS:
            break
    if header is None:
        raise DataFileError(path, f"no column titles with {NAME!r} near the top; not a GPCI file")
    titles = [clean_label(cell) for cell in header]
    first = next(numbered, None)
    if first is not None and not first[1][0].strip() and any(
            "gpci" in cell.lower() for cell in first[1]):
        # 2017-2019: the year sits in the row above "PW GPCI", "PE GPCI", "MP GPCI"
        below = first[1] + [""] * (len(titles) - len(first[1]))
        titles = [clean_label(f"{top} {bottom}") for top, bottom in zip(titles, below,
                                                                         strict=False)]
        first = next(numbered, None)
    columns = column_positions(path, header_line, [_column_key(t) for t in titles],
                               _REQUIRED)

    def rows() -> Iterator[tuple[int, Sequence[str]]]:
        pending = [first] if first is not None else []
        started = False
        for line, row in (*pending, *numbered):
            blank_rest = not any(cell.strip() for cell in row[1:])
            if blank_rest and not started and not row[0].strip():
                continue  # blank rows before the table
            if blank_rest:
                return  # a blank row or a footnote ends the table
            started = True
            yield line, row

    return _Table(title=title, columns=columns, width=len(titles), rows=rows())


def _read_txt(path: Path, text: str) -> _Table:
    lines = [line.rstrip("\r") for line in text.split("\n")]
    title = next((clean_label(line) for line in lines if line.strip()), "")
    header_line = next((number for number, line in enumerate(lines[:_MAX_TITLE_ROWS], start=1)
                        if NAME.lower() in line.lower()), 0)
    if not header_line:
        raise DataFileError(path, f"no column titles with {NAME!r} near the top; not a GPCI file")
    header = lines[header_line - 1]
    titles = [clean_label(match[0]) for match in _TXT_TITLE.finditer(header)]
    leftover = _TXT_TITLE.sub("", header).strip()
    if leftover:
        raise DataFileError(path, f"unknown column title {leftover!r}", header_line)
    columns = column_positions(path, header_line, [_column_key(t) for t in titles],
                               _REQUIRED)
    name_at = columns[NAME]
    after_name = len(titles) - name_at - 1

    def rows() -> Iterator[tuple[int, Sequence[str]]]:
        started = False
        for number, line in enumerate(lines[header_line:], start=header_line + 1):
            tokens = line.split()
            if not tokens and not started:
                continue
            if not tokens or not tokens[0].isdigit():
                return  # a blank line or a footnote ends the table
            started = True
            if len(tokens) < len(titles):
                raise DataFileError(path, f"{len(tokens)} fields, expected {len(titles)}", number)
            # the name may hold blanks: it is whatever lies between the code fields and the GPCIs
            end = len(tokens) - after_name
            yield number, [*tokens[:name_at], " ".join(tokens[name_at:end]), *tokens[end:]]

    return _Table(title=title, columns=columns, width=len(titles), rows=rows())


def _state(path: Path, line: int, row: Sequence[str], columns: dict[str, int]) -> str:
    if STATE not in columns:
        return ""  # 2017-2020 files have no State column
    state = row[columns[STATE]].strip()
    if not _STATE_CODE.fullmatch(state):
        raise DataFileError(path, f"{state!r} is not a two-letter state code", line, STATE)
    return state


def _gpci(path: Path, line: int, row: Sequence[str], columns: dict[str, int],
          column: str) -> Decimal:
    text = row[columns[column]].strip()
    low, high = _MP_RANGE if column == MP else _GPCI_RANGE
    value = parse_decimal(text, path, line, column) if text else None
    if value is None or not low <= value <= high:
        raise DataFileError(path, f"GPCI {text!r} is outside {low}..{high}", line, column)
    if value == value.quantize(_THOUSANDTH):
        value = value.quantize(_THOUSANDTH)  # some years print 1 and 0.86 for 1.000 and 0.860
    return value
