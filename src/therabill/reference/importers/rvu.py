"""National Physician Fee Schedule relative value file (PPRRVU), CSV and fixed-width TXT layouts.

CSV layout: about nine title rows (release title, AMA/ADA notices, ``RELEASED mm/dd/yyyy``), then
column titles spread over up to five rows, the last of which starts ``HCPCS,MOD,DESCRIPTION``.
A column's name is its title cells joined top to bottom ("WORK" + "RVU" -> ``WORK RVU``), and
columns are found by that name, never by position: 2017-2025 files have 31 columns, the 2026
layout 32 (``PRIC IND`` before ``ENDO BASE``). The 2017-2025 files end with a row holding the
DOS end-of-file byte 0x1A. The DESCRIPTION column (AMA-copyrighted CPT short descriptors) is
never read into any record.

TXT layout (the fixed-width twin in the same CMS bundle): ``HDR`` notice lines, then one
171-character line per row; see ``_TXT_COLUMNS``. Its HDR lines carry no release title, so the
release comes from the file name (``PPRRVU2025_Oct.txt`` -> RVU25D) unless an HDR line has one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from therabill.reference.importers.common import (
    MONTH_NAMES,
    DataFileError,
    RowBounds,
    clean_label,
    parse_decimal,
    read_source,
    rvu_release_id,
)
from therabill.reference.records import RvuRecord, RvuRelease, SourceInfo

HCPCS = "HCPCS"
MOD = "MOD"
DESCRIPTION = "DESCRIPTION"
STATUS = "STATUS CODE"
NOT_USED = "NOT USED FOR MEDICARE PAYMENT"
WORK = "WORK RVU"
PE_NONFACILITY = "NON-FAC PE RVU"
PE_FACILITY = "FACILITY PE RVU"
MP = "MP RVU"
TOTAL_NONFACILITY = "NON-FACILITY TOTAL"
TOTAL_FACILITY = "FACILITY TOTAL"
PCTC = "PCTC IND"
GLOBAL_DAYS = "GLOB DAYS"
MULT_PROC = "MULT PROC"
PRICING_INDICATOR = "PRIC IND"
CONVERSION_FACTOR = "CONV FACTOR"

# The columns a record is built from, in the order _build_records unpacks them (PRIC IND is
# read as "" where the layout lacks it).
_USED = (HCPCS, MOD, STATUS, NOT_USED, WORK, PE_NONFACILITY, PE_FACILITY, MP, TOTAL_NONFACILITY,
         TOTAL_FACILITY, PCTC, GLOBAL_DAYS, MULT_PROC, CONVERSION_FACTOR)
_NAMED = (*_USED, PRICING_INDICATOR)
_RVU_COLUMNS = (WORK, PE_NONFACILITY, PE_FACILITY, MP, TOTAL_NONFACILITY, TOTAL_FACILITY)
_WIDTH_WITHOUT_PRIC = 31  # CY2017-CY2025
_WIDTH_WITH_PRIC = 32  # CY2026 on

# Fixed-width TXT layout of CY2017-CY2025 (0-based, end exclusive), worked out by lining up every
# row of PPRRVU2025_Oct.txt with the same row of PPRRVU2025_Oct.csv (all 31 columns agree):
#   HCPCS 0-5, MOD 5-7, DESCRIPTION 7-57 (skipped), STATUS 57, NOT USED 58, WORK 59-65,
#   NON-FAC PE 65-72, NON-FAC NA 72-74, FACILITY PE 74-81, FACILITY NA 81-83, MP 83-89,
#   NON-FAC TOTAL 89-96, FACILITY TOTAL 96-102, PCTC 102, GLOB DAYS 103-106,
#   PRE/INTRA/POST OP 106-109/109-112/112-115 (printed ".10" for 0.10), MULT PROC 115,
#   BILAT/ASST/CO-/TEAM SURG 116/117/118/119, blank 120-127, ENDO BASE 127-132,
#   CONV FACTOR 132-140, PHYS SUPERVISION 141-143, CALC FLAG 143, DIAG IMAGING FAMILY 145-147,
#   OPPS NON-FAC PE 147-157, OPPS FACILITY PE 157-164, OPPS MP 164-171.
# No 2026 TXT was available, so only this 171-character layout is accepted.
_TXT_COLUMNS: dict[str, tuple[int, int]] = {
    HCPCS: (0, 5), MOD: (5, 7), STATUS: (57, 58), NOT_USED: (58, 59), WORK: (59, 65),
    PE_NONFACILITY: (65, 72), PE_FACILITY: (74, 81), MP: (83, 89), TOTAL_NONFACILITY: (89, 96),
    TOTAL_FACILITY: (96, 102), PCTC: (102, 103), GLOBAL_DAYS: (103, 106), MULT_PROC: (115, 116),
    CONVERSION_FACTOR: (132, 140),
}
_TXT_WIDTH = 171

_TITLE = re.compile(
    r"(?P<year>\d{4}) National Physician Fee Schedule Relative Value File (?P<month>[A-Za-z]+)"
    r" Release", re.IGNORECASE)
_RELEASED = re.compile(r"RELEASED\s+\d{1,2}/\d{1,2}/\d{4}", re.IGNORECASE)
_FILE_NAME = re.compile(r"PPRRVU(?P<year>\d{4}|\d{2})_(?P<month>[A-Za-z]{3})", re.IGNORECASE)
_MONTH_PREFIX = {name[:3]: month for name, month in MONTH_NAMES.items()}

_CODE = re.compile(r"[0-9A-Z]{5}")
_MODIFIER = re.compile(r"(?:[0-9A-Z]{2})?")
# The status codes CMS defines for the PFS RVU file (each letter's meaning is in the file's
# documentation); any other letter is a damaged or foreign row, never a code paid by default.
_STATUS = re.compile(r"[ABCDEFGHIJMNPQRTX]")
_ONE_DIGIT = re.compile(r"[0-9]")
_GLOBAL = re.compile(r"[0-9A-Z]{3}")
_PRICING = re.compile(r"[0-9A-Z]?")
_NOT_USED = {"": False, "+": True}
_RVU_MAX = Decimal(1000)
_CENT = Decimal("0.01")
# Title rows come first; a column-name row further down means this is not a PPRRVU file.
_MAX_TITLE_ROWS = 30
_END_OF_FILE = "\x1a"
_MAX_ROWS = 40_000

# (1-based line, the cells of _NAMED in that order; PRIC IND "" where the layout lacks it)
Rows = Iterator[tuple[int, Sequence[str]]]


def read_rvu_file(path: Path, *, min_rows: int = 10_000) -> RvuRelease:
    """Read a national PPRRVU file (CSV or fixed-width TXT) into an :class:`RvuRelease`.

    ``min_rows`` guards against truncated files; pass a small value for a deliberate extract.
    Raises :class:`DataFileError` at the first row that does not fit the official layout.
    """
    text, digest = read_source(path)
    note = ""
    if path.suffix.lower() == ".txt":
        title, released, rows, has_pricing = _read_txt(path, text)
        if not title:
            note = "fixed-width TXT without a title line: release taken from the file name"
    else:
        title, released, rows, has_pricing = _read_csv(path, text)
    match = _TITLE.search(title)
    if match is not None:
        year, month = int(match["year"]), _month(path, match["month"])
    else:
        year, month = _release_from_name(path)
    records = _build_records(path, rows, has_pricing)
    RowBounds(min_rows, _MAX_ROWS).check(len(records), path, "RVU")
    return RvuRelease(
        release_id=rvu_release_id(year, month),
        effective_from=date(year, month, 1),
        title=title,
        released=released,
        source=SourceInfo(file_name=path.name, sha256=digest, rows=len(records),
                          note=note),
        records=records,
    )


def _month(path: Path, name: str) -> int:
    month = MONTH_NAMES.get(name.lower()) or _MONTH_PREFIX.get(name[:3].lower())
    if month is None:
        raise DataFileError(path, f"release month {name!r} is not January, April, July or October")
    return month


def _release_from_name(path: Path) -> tuple[int, int]:
    match = _FILE_NAME.search(path.name)
    if match is None:
        raise DataFileError(path, "no release title in the file and none in its name; keep the"
                            " CMS file name, e.g. 'PPRRVU2025_Oct.txt'")
    year = int(match["year"])
    return (year if year >= 100 else 2000 + year), _month(path, match["month"])


def _read_csv(path: Path, text: str) -> tuple[str, str, Rows, bool]:
    reader = csv.reader(io.StringIO(text, newline=""))
    above: list[list[str]] = []
    for row in reader:
        if len(row) >= 2 and row[0].strip().upper() == HCPCS and row[1].strip().upper() == MOD:
            break
        above.append(row)
        if len(above) > _MAX_TITLE_ROWS:
            raise DataFileError(path, "no column-name row starting 'HCPCS,MOD' near the top;"
                                " not a PPRRVU file")
    else:
        raise DataFileError(path, "no column-name row starting 'HCPCS,MOD'; not a PPRRVU file")
    header_line = reader.line_num
    names = _column_names(above, row)
    title = next((clean_label(cell) for r in above for cell in r if _TITLE.search(cell)), "")
    if not title:
        raise DataFileError(path, "no release title such as '2025 National Physician Fee Schedule"
                            " Relative Value File January Release' above the column names")
    released = next((clean_label(m[0]) for r in above for cell in r
                     if (m := _RELEASED.search(cell))), "")
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in index and name in _NAMED:
            raise DataFileError(path, "column title appears twice", header_line, name)
        index.setdefault(name, position)
    for name in _USED:
        if name not in index:
            raise DataFileError(path, "column missing from the column titles", header_line, name)
    has_pricing = PRICING_INDICATOR in index
    width = _WIDTH_WITH_PRIC if has_pricing else _WIDTH_WITHOUT_PRIC
    if len(names) != width:
        raise DataFileError(
            path, f"{len(names)} columns, expected {_WIDTH_WITHOUT_PRIC} (CY2017-2025 layout) or"
            f" {_WIDTH_WITH_PRIC} (CY2026 layout with {PRICING_INDICATOR!r})", header_line)
    positions = [index.get(name) for name in _NAMED]

    def rows() -> Rows:
        for row in reader:
            rest = "".join(row[1:]).strip()
            first = row[0].strip() if row else ""
            if not rest and first in ("", _END_OF_FILE):
                if first:
                    break  # DOS end-of-file mark closing the 2017-2025 CSVs
                continue
            if len(row) != width:
                raise DataFileError(path, f"{len(row)} fields, expected {width}", reader.line_num)
            yield reader.line_num, [row[j] if j is not None else "" for j in positions]

    return title, released, rows(), has_pricing


def _column_names(above: list[list[str]], name_row: list[str]) -> list[str]:
    """Join each column's title cells top to bottom ("NON-FAC" / "PE RVU" -> "NON-FAC PE RVU").

    The title block is the run of rows right above the column-name row that have text outside
    the DESCRIPTION column; the rows above it (release title, notices) only use that column.
    """
    upper = [cell.strip().upper() for cell in name_row]
    text_column = upper.index(DESCRIPTION) if DESCRIPTION in upper else -1
    block: list[list[str]] = []
    for row in reversed(above):
        if not any(cell.strip() for j, cell in enumerate(row) if j != text_column):
            break
        block.insert(0, row)
    names = []
    for j, cell in enumerate(name_row):
        parts = [r[j] for r in block if j < len(r) and j != text_column] + [cell]
        names.append(clean_label(" ".join(parts)).upper())
    return names


def _read_txt(path: Path, text: str) -> tuple[str, str, Rows, bool]:
    lines = text.split("\n")
    notices = [line.rstrip("\r")[3:] for line in lines if line.startswith("HDR")]
    joined = clean_label(" ".join(notices))
    title_match = _TITLE.search(joined)
    title = clean_label(title_match[0]) if title_match else ""
    released_match = _RELEASED.search(joined)
    released = clean_label(released_match[0]) if released_match else ""

    cuts = [_TXT_COLUMNS.get(name, (0, 0)) for name in _NAMED]  # (0, 0): no PRIC IND

    def rows() -> Rows:
        for number, raw in enumerate(lines, start=1):
            line = raw.rstrip("\r")
            if line.startswith("HDR") or not line.strip():
                continue
            if line.strip() == _END_OF_FILE:
                break
            if len(line) != _TXT_WIDTH:
                raise DataFileError(
                    path, f"{len(line)} characters, expected {_TXT_WIDTH} (the CY2017-2025"
                    " fixed-width layout; for other years read the CSV twin)", number)
            yield number, [line[start:end] for start, end in cuts]

    return title, released, rows(), False


def _build_records(path: Path, rows: Rows, has_pricing: bool) -> dict[tuple[str, str], RvuRecord]:
    records: dict[tuple[str, str], RvuRecord] = {}
    numbers: dict[str, Decimal] = {}  # RVU texts repeat a lot; each is validated once
    indicators: dict[tuple[str, ...], tuple[str, bool, str, str, str, str]] = {}  # same idea
    conversion_factor: Decimal | None = None
    factor_text = ""
    for line, cells in rows:
        (code, modifier, status, not_used, work, pe_nonfacility, pe_facility, mp, total_nonfacility,
         total_facility, pctc, global_days, mult_proc, factor, pricing) = (
            cell.strip() for cell in cells)
        if code.isdigit() and len(code) < 5:
            code = code.zfill(5)  # the 2017 CSV lost leading zeros: "100" is code 00100
        _check(path, line, HCPCS, code, _CODE, "a 5-character HCPCS code")
        _check(path, line, MOD, modifier, _MODIFIER, "a 2-character modifier or blank")
        flags = (status, not_used, pctc, global_days, mult_proc, pricing)
        checked = indicators.get(flags)
        if checked is None:
            checked = indicators[flags] = _indicators(path, line, flags, has_pricing)
        values = []
        for column, text in zip(_RVU_COLUMNS, (work, pe_nonfacility, pe_facility, mp,
                                               total_nonfacility, total_facility), strict=True):
            value = numbers.get(text)
            if value is None:
                value = numbers[text] = _rvu(path, line, column, text)
            values.append(value)
        if conversion_factor is None:
            conversion_factor = parse_decimal(factor, path, line, CONVERSION_FACTOR)
            factor_text = factor
            if conversion_factor <= 0:
                raise DataFileError(path, f"conversion factor {factor!r} is not positive", line,
                                    CONVERSION_FACTOR)
        elif factor != factor_text and parse_decimal(
                factor, path, line, CONVERSION_FACTOR) != conversion_factor:
            raise DataFileError(path, f"conversion factor {factor!r} differs from"
                                f" {factor_text!r} on the first row", line, CONVERSION_FACTOR)
        key = (code, modifier)
        if key in records:
            raise DataFileError(path, f"second row for {code} modifier {modifier or '(none)'!r}",
                                line, HCPCS)
        status, not_used_flag, pctc, global_days, mult_proc, pricing = checked
        records[key] = RvuRecord(
            code=code,
            modifier=modifier,
            status=status,
            not_used_for_medicare=not_used_flag,
            work=values[0],
            pe_nonfacility=values[1],
            pe_facility=values[2],
            mp=values[3],
            pctc=pctc,
            global_days=global_days,
            mult_proc=mult_proc,
            conversion_factor=conversion_factor,
            pricing_indicator=pricing,
        )
    return records


def _rvu(path: Path, line: int, column: str, text: str) -> Decimal:
    value = parse_decimal(text, path, line, column)
    if not 0 <= value <= _RVU_MAX:
        raise DataFileError(path, f"RVU {text!r} is outside 0..{_RVU_MAX}", line, column)
    if value == value.quantize(_CENT):
        value = value.quantize(_CENT)  # 2017 prints 0.6 and 0 for 0.60 and 0.00
    return value


def _indicators(path: Path, line: int, flags: tuple[str, ...], has_pricing: bool,
                ) -> tuple[str, bool, str, str, str, str]:
    status, not_used, pctc, global_days, mult_proc, pricing = flags
    _check(path, line, STATUS, status, _STATUS,
           "a one-letter status code CMS defines (A-J, M, N, P, Q, R, T, X)")
    if not_used not in _NOT_USED:
        raise DataFileError(path, f"{not_used!r} is not '+' or blank", line, NOT_USED)
    _check(path, line, PCTC, pctc, _ONE_DIGIT, "a one-digit indicator")
    if global_days.isdigit() and len(global_days) < 3:
        global_days = global_days.zfill(3)  # the 2017 CSV lost leading zeros: "90" is 090
    _check(path, line, GLOBAL_DAYS, global_days, _GLOBAL, "a 3-character global period")
    _check(path, line, MULT_PROC, mult_proc, _ONE_DIGIT, "a one-digit indicator")
    if has_pricing:
        _check(path, line, PRICING_INDICATOR, pricing, _PRICING, "a one-character indicator")
    return status, _NOT_USED[not_used], pctc, global_days, mult_proc, pricing


def _check(path: Path, line: int, column: str, value: str, pattern: re.Pattern[str],
           what: str) -> None:
    if not pattern.fullmatch(value):
        raise DataFileError(path, f"{value!r} is not {what}", line, column)
