"""NCCI medically unlikely edits (MUE), practitioner services table.

Two layouts are read:

* the official CMS CSV (``MCR_MUE_PractitionerServices_Eff_07-01-2026.csv``), Latin-1: one record
  with the AMA notice, a header record whose quoted cells contain line breaks ("HCPCS/⏎CPT Code",
  "Practitioner Services MUE Values", "MUE Adjudication Indicator", "MUE Rationale"), then one
  record per code; the indicator is text such as "3 Date of Service Edit: Clinical".
* the reshaped CSV extract (``…_Eff_07-01-2024_therapy_rows.csv``) with columns
  ``code,mue_value,mai,rationale`` and the indicator as a bare digit.

The effective date is taken from ``_Eff_MM-DD-YYYY`` in the file name, as CMS names the files.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

from therabill.reference.importers.common import DataFileError, read_bytes
from therabill.reference.records import MueRecord, MueRelease, SourceInfo

OFFICIAL_COLUMNS = (
    "HCPCS/CPT Code", "Practitioner Services MUE Values", "MUE Adjudication Indicator",
    "MUE Rationale",
)
EXTRACT_COLUMNS = ("code", "mue_value", "mai", "rationale")
# What CMS writes after the indicator digit; a different label means a shifted or edited column.
MAI_LABELS = {
    1: "Line Edit",
    2: "Date of Service Edit: Policy",
    3: "Date of Service Edit: Clinical",
}

_CODE = re.compile(r"[0-9A-Z]{5}")
_VALUE = re.compile(r"[0-9]+")
_NAME = re.compile(r"MCR_MUE_PractitionerServices_Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)
# Records allowed before the header (the AMA notice is one); more means a different file.
_MAX_PREAMBLE_RECORDS = 5

EXTRACT_CAVEAT = (
    "Reshaped by a third party from the CMS file, not a byte copy of it; the values are those"
    " published for that quarter only."
)


def _effective_from_name(path: Path) -> date:
    match = _NAME.search(path.name)
    if match is not None:
        month, day, year = (int(group) for group in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise DataFileError(
        path, "cannot tell the effective date from the file name; keep the official CMS name,"
        " e.g. 'MCR_MUE_PractitionerServices_Eff_07-01-2026.csv'")


def _squash(text: str) -> str:
    # Header cells carry line breaks inside quotes ("HCPCS/\nCPT Code").
    return "".join(text.split()).lower()


def _check_official_header(path: Path, record: list[str], line: int) -> None:
    # Column names vary a little by year ("HCPCS/ CPT Code"); the key words do not.
    keys = ("hcpcs", "muevalues", "adjudicationindicator", "rationale")
    cells = [_squash(cell) for cell in record[:4]]
    if len(cells) < 4 or not all(key in cell for key, cell in zip(keys, cells, strict=True)):
        raise DataFileError(path, f"header {record!r} does not name the columns"
                            f" {list(OFFICIAL_COLUMNS)!r}", line)


def _mai(text: str, path: Path, line: int, column: str) -> int:
    text = text.strip()
    digit, label = text[:1], text[1:].strip()
    if digit not in ("1", "2", "3"):
        raise DataFileError(path, f"{text!r} is not an adjudication indicator 1, 2 or 3", line,
                            column)
    mai = int(digit)
    if label and label.lower() != MAI_LABELS[mai].lower():
        raise DataFileError(path, f"indicator {mai} should read {MAI_LABELS[mai]!r}, not"
                            f" {label!r}", line, column)
    return mai


def read_mue_file(path: Path, *, min_rows: int = 1) -> MueRelease:
    """Read the official practitioner MUE CSV (or a reshaped extract of it) as a release.

    Raises :class:`DataFileError` at the first record that does not fit the layout, on a code
    listed twice, and when fewer than ``min_rows`` codes are found.
    """
    path = Path(path)
    effective = _effective_from_name(path)
    records: dict[str, MueRecord] = {}
    first_line: dict[str, int] = {}
    # Latin-1 reads every byte; the official file is Latin-1 and the extract is ASCII.
    data, digest = read_bytes(path)
    with io.StringIO(data.decode("latin-1"), newline="") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None:
            raise DataFileError(path, "empty file")
        extract = tuple(cell.strip() for cell in first) == EXTRACT_COLUMNS
        columns = EXTRACT_COLUMNS if extract else OFFICIAL_COLUMNS
        if not extract:
            # Skip the AMA notice record(s) up to the header, recognised by its first cell.
            record: list[str] | None = first
            for _ in range(_MAX_PREAMBLE_RECORDS):
                if record is None or (record and _squash(record[0]).startswith("hcpcs")):
                    break
                record = next(reader, None)
            if record is None or not record or not _squash(record[0]).startswith("hcpcs"):
                raise DataFileError(path, "no 'HCPCS/CPT Code' header record near the top;"
                                    " not the CMS practitioner MUE file?")
            _check_official_header(path, record, reader.line_num)
        rationales: dict[str, str] = {}
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) < 4:
                raise DataFileError(path, f"record has {len(cells)} of 4 columns (truncated?)",
                                    line, columns[len(cells)])
            if any(cell.strip() for cell in cells[4:]):
                raise DataFileError(path, f"record has {len(cells)} columns, expected 4", line)
            code = cells[0].strip()
            if not _CODE.fullmatch(code):
                raise DataFileError(path, f"{cells[0]!r} is not a 5-character HCPCS/CPT code",
                                    line, columns[0])
            value_text = cells[1].strip()
            if not _VALUE.fullmatch(value_text):
                raise DataFileError(path, f"{cells[1]!r} is not a whole number of units", line,
                                    columns[1])
            mai = _mai(cells[2], path, line, columns[2])
            rationale = cells[3].strip()
            if not rationale:
                raise DataFileError(path, "empty rationale", line, columns[3])
            if code in records:
                raise DataFileError(path, f"code {code} listed twice (first on line"
                                    f" {first_line[code]})", line, columns[0])
            rationale = rationales.setdefault(rationale, rationale)
            records[code] = MueRecord(code, int(value_text), mai, rationale)
            first_line[code] = line
    if len(records) < min_rows:
        raise DataFileError(path, f"{len(records)} MUE rows, expected at least {min_rows}"
                            " (truncated or not the official file?)")
    return MueRelease(
        release_id=f"MUE-{effective.isoformat()}",
        effective_from=effective,
        title=f"Medicare NCCI MUE values, practitioner services, effective {effective.isoformat()}",
        source=SourceInfo(path.name, digest, len(records),
                          "reshaped CSV extract" if extract else "CMS CSV"),
        records=records,
        caveat=EXTRACT_CAVEAT if extract else "",
    )
