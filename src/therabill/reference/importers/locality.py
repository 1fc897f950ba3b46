"""Locality-to-county crosswalk (``25LOCCO.csv`` …), CSV and fixed-width TXT layouts.

Quirks of the CMS files, all years 2017-2026:

* a title row, a blank row, the column titles ("Carrier Number" until 2020, then "Medicare
  Adminstrative Contractor", CMS's spelling), then one row per locality with blank rows between
  states; a footnote ("*  Payment locality is serviced by two carriers.") ends the table;
* the State cell is filled only on a state's first row; the rows after it leave it blank;
* some years (2019, 2023-2025) lost the leading zeros of MAC and locality numbers ("2102", "1");
* the title's year is not always the file's: 18LOCCO says "2017 localities", 20LOCCO "2019",
  22LOCCO "2021", so the year comes from the file name;
* Missouri's rest-of-state locality is listed twice (once per former carrier); identical rows
  are kept once. Fee schedule areas lose their footnote asterisk ("REST OF STATE*").
* The TXT twin (2025) has columns whose titles do not line up with the values; positions below.
  It truncates the counties to 58 characters and spells the Los Angeles row differently from
  the CSV, so prefer the CSV.

A row without MAC and locality number but with counties continues the counties of the row above
(a wrapped cell); no current file has one, but the layout allows it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from therabill.reference.importers.common import (
    DataFileError,
    RowBounds,
    clean_label,
    column_positions,
    pad_digits,
    read_source,
)
from therabill.reference.records import LocalityCounties, LocalityCrosswalk, SourceInfo

MAC = "MAC"
LOCALITY = "Locality Number"
STATE = "State"
AREA = "Fee Schedule Area"
COUNTIES = "Counties"
_COLUMNS = (MAC, LOCALITY, STATE, AREA, COUNTIES)

# TXT layout (0-based, end exclusive), found by lining up 25LOCCO.txt with 25LOCCO.csv:
# MAC 0-12 (right-aligned at 4-9), locality 12-22 (at 16-18), state 22-45, fee schedule area
# 45-143, counties 143 to the end of the line (at most 58 characters).
_TXT_CUTS = ((0, 12), (12, 22), (22, 45), (45, 143), (143, None))
_TXT_TITLES = re.compile(
    r"(?:Carrier|Medicare Adm)\w*.*?Locality.*?State.*?Fee Schedule Area.*?Counties",
    re.IGNORECASE)
_FILE_NAME = re.compile(r"(\d{2})LOCCO", re.IGNORECASE)
_TITLE_YEAR = re.compile(r"\b(20\d{2})\b")
_LOCALITIES = RowBounds(80, 130)
_MAX_TITLE_ROWS = 10
_TXT_NOTE = "TXT twin: counties cut to 58 characters by CMS; the CSV holds them in full"


def read_locality_file(path: Path) -> LocalityCrosswalk:
    """Read one year's locality-to-county crosswalk into a :class:`LocalityCrosswalk`."""
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise DataFileError(path, "cannot tell the year from the file name; keep the CMS name,"
                            " e.g. '25LOCCO.csv'")
    year = 2000 + int(match[1])
    text, digest = read_source(path)
    is_txt = path.suffix.lower() == ".txt"
    title, rows = _read_txt(path, text) if is_txt else _read_csv(path, text)
    notes = [_TXT_NOTE] if is_txt else []
    title_year = _TITLE_YEAR.search(title)
    if title_year is not None and int(title_year[1]) != year:
        notes.append(f"title says {title_year[1]} localities; year taken from the file name")
    localities, unnamed = _localities(path, rows)
    if unnamed:
        # 25LOCCO.txt leaves California's name out of its whole block; the localities and
        # counties are still right, so keep them and say which lines lack the state.
        notes.append(f"state not printed for the block starting on line {unnamed[0]} "
                     f"({len(unnamed)} block(s)); left blank — the CSV twin names it")
    _LOCALITIES.check(len(localities), path, "locality")
    return LocalityCrosswalk(
        release_id=f"LOCCO{year}",
        year=year,
        source=SourceInfo(file_name=path.name, sha256=digest, rows=len(localities),
                          note="; ".join(notes)),
        rows=localities,
    )


Rows = Iterator[tuple[int, Sequence[str], bool]]  # line, the five cells, follows a blank row


def _localities(path: Path, rows: Rows) -> tuple[tuple[LocalityCounties, ...], list[int]]:
    """The localities, and the lines where a state's block starts without naming the state."""
    built: list[list[str]] = []  # mac, locality, state, area, counties
    state = ""
    unnamed: list[int] = []
    for line, row, after_blank in rows:
        mac, locality, row_state, area, counties = (clean_label(cell) for cell in row)
        if not mac and not locality:
            if not built:
                raise DataFileError(path, "counties before the first locality", line, COUNTIES)
            if area or row_state:
                raise DataFileError(path, "row without MAC and locality number", line, MAC)
            built[-1][4] = f"{built[-1][4]} {counties}".strip()  # wrapped counties cell
            continue
        if not row_state and (after_blank or not state):
            # Each state's block starts after a blank row and names the state on its first
            # row (true of every CSV); 25LOCCO.txt leaves California's name out.
            unnamed.append(line)
            state = ""
        state = row_state or state  # CMS prints the state on its first row only
        if not area:
            raise DataFileError(path, "empty fee schedule area", line, AREA)
        built.append([pad_digits(mac, 5, path, line, MAC),
                      pad_digits(locality, 2, path, line, LOCALITY),
                      state, area.rstrip("*").rstrip(), counties])
    unique = dict.fromkeys(LocalityCounties(*fields) for fields in built)
    return tuple(unique), unnamed


def _data_rows(numbered: Iterator[tuple[int, Sequence[str]]]) -> Rows:
    """Rows of the table, each flagged if a blank (state separator) row precedes it."""
    after_blank = True
    for line, row in numbered:
        if not any(cell.strip() for cell in row):
            after_blank = True
            continue
        first = row[0].strip()
        if first.startswith("*") or (
                first and not first.isdigit() and not any(cell.strip() for cell in row[1:])):
            return  # the footnote ("*  Payment locality is serviced by two carriers.")
        yield line, row, after_blank
        after_blank = False


def _read_csv(path: Path, text: str) -> tuple[str, Rows]:
    reader = csv.reader(io.StringIO(text, newline=""))
    numbered = ((reader.line_num, row) for row in reader)
    title = ""
    header: tuple[int, list[str | None], int] | None = None  # line, column keys, row width
    for line, row in numbered:
        cells = [clean_label(cell) for cell in row]
        title = title or next((cell for cell in cells if cell), "")
        keys = [_column_key(cell) for cell in cells]
        if LOCALITY in keys:
            header = line, keys, len(row)
            break
        if line >= _MAX_TITLE_ROWS:
            break
    if header is None:
        raise DataFileError(path, f"no column titles with {LOCALITY!r} near the top; not a"
                            " locality crosswalk")
    header_line, keys, width = header
    positions = column_positions(path, header_line, keys, _COLUMNS)

    def rows() -> Rows:
        for line, row, after_blank in _data_rows(numbered):
            if len(row) != width:
                raise DataFileError(path, f"{len(row)} fields, expected {width}", line)
            yield line, [row[positions[name]] for name in _COLUMNS], after_blank

    return title, rows()


def _column_key(title: str) -> str | None:
    lower = title.lower()
    if lower.startswith(("carrier", "medicare adm")):
        return MAC
    for name in (LOCALITY, STATE, AREA, COUNTIES):
        if lower == name.lower():
            return name
    return None


def _read_txt(path: Path, text: str) -> tuple[str, Rows]:
    lines = [line.rstrip("\r") for line in text.split("\n")]
    title = next((clean_label(line) for line in lines if line.strip()), "")
    header_line = next((number for number, line in enumerate(lines[:_MAX_TITLE_ROWS], start=1)
                        if _TXT_TITLES.search(line)), 0)
    if not header_line:
        raise DataFileError(path, "no column titles MAC, Locality, State, Fee Schedule Area,"
                            " Counties near the top; not a locality crosswalk")
    numbered = ((number, [line[start:end] for start, end in _TXT_CUTS])
                for number, line in enumerate(lines[header_line:], start=header_line + 1))
    return title, _data_rows(numbered)
