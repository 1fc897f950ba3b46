"""NCCI procedure-to-procedure (PTP) edits, practitioner table.

Two layouts are read:

* the official CMS text file (``ccipra-v322r0-f1.txt`` …): tab-delimited, a few title lines (AMA
  notice, "Column1/Column2 Edits", column titles spread over several lines), then seven columns:
  column 1, column 2, ``*`` = in existence before 1996, effective date, deletion date (``*`` =
  none), modifier indicator, rationale. CMS splits one version into parts ``-f1`` … ``-f4``;
  read each part with :func:`read_ptp_file` and join them with :func:`merge_ptp_parts`.
* the reshaped CSV extract (``ccipra_v302r0_eff_2024-07-01_therapy_rows.csv``): same seven columns
  with snake_case names, but the effective date is empty in every row.

The whole table is about 2.5 million rows, so rows are parsed in one streaming pass and every
repeated string (codes, dates, rationales) is looked up in a cache instead of re-validated.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from therabill.reference.importers.common import DataFileError, parse_yyyymmdd, read_bytes
from therabill.reference.records import PtpEdit, PtpRelease, SourceInfo

OFFICIAL_COLUMNS = (
    "Column 1", "Column 2", "*=in existence prior to 1996", "Effective Date", "Deletion Date",
    "Modifier", "PTP Edit Rationale",
)
EXTRACT_COLUMNS = (
    "column_1", "column_2", "prior_1996_flag", "effective_date", "deletion_date",
    "modifier_indicator", "ptp_edit_rationale",
)

_CODE = re.compile(r"[0-9A-Z]{5}")
_MODIFIER = {"0": 0, "1": 1, "9": 9}
_PRIOR_1996 = {"": False, "*": True}
# The third digit of the version is the quarter: v30.1 = 2024-04-01, v32.2 = 2026-07-01.
_QUARTER_MONTH = {0: 1, 1: 4, 2: 7, 3: 10}
_VERSION_YEAR_OFFSET = 1994  # v30 = 2024
_NAME = re.compile(
    r"ccipra[-_](?P<version>v(?P<major>\d{2})(?P<quarter>\d)r(?P<revision>\d+))"
    r"(?:[-_]f(?P<part>\d+))?(?:[-_]eff[-_](?P<eff>\d{4}-\d{2}-\d{2}))?",
    re.IGNORECASE,
)
# Title lines come before the data; more than this means the file is not the PTP table.
_MAX_HEADER_LINES = 20

EXTRACT_CAVEAT = (
    "Reshaped by a third party from the CMS file, not a byte copy of it."
)
NO_EFFECTIVE_CAVEAT = (
    "It has no effective dates, so whether an edit had already started on a date of service"
    " before this release cannot be told from it."
)


@dataclass(frozen=True, slots=True)
class _NameInfo:
    version: str  # v322r0
    effective_from: date
    part: int | None


def _parse_name(path: Path) -> _NameInfo:
    match = _NAME.match(path.name)
    if match is None:
        raise DataFileError(
            path, "cannot tell the NCCI version from the file name; keep the official CMS name,"
            " e.g. 'ccipra-v322r0-f1.txt' (practitioner PTP edits v32.2, part 1)")
    quarter = int(match["quarter"])
    if quarter not in _QUARTER_MONTH:
        raise DataFileError(path, f"version {match['version']!r} has quarter digit {quarter};"
                            " CMS uses 0-3 (January, April, July, October)")
    effective = date(_VERSION_YEAR_OFFSET + int(match["major"]), _QUARTER_MONTH[quarter], 1)
    if match["eff"] is not None and match["eff"] != effective.isoformat():
        raise DataFileError(path, f"the name says effective {match['eff']} but version"
                            f" {match['version']} is effective {effective.isoformat()}")
    part = int(match["part"]) if match["part"] is not None else None
    return _NameInfo(match["version"].lower(), effective, part)


class _RowParser:
    """Validates and builds edits; caches make repeated values cost one dict lookup."""

    def __init__(self, path: Path, columns: tuple[str, ...], *, effective_required: bool) -> None:
        self.path = path
        self.columns = columns
        self.effective_required = effective_required
        self.codes: dict[str, str] = {}
        self.dates: dict[str, date | None] = {}
        self.rationales: dict[str, str] = {}

    def row(self, cells: list[str], line: int) -> PtpEdit:
        if len(cells) != 7:
            self._check_width(cells, line)
        c1, c2, flag, eff, dele, mod, rat = cells[:7]
        codes = self.codes
        column_1 = codes.get(c1) or self._code(c1, line, 0)
        column_2 = codes.get(c2) or self._code(c2, line, 1)
        prior = _PRIOR_1996.get(flag)
        if prior is None:
            prior = self._flag(flag, line)
        try:
            effective = self.dates[eff]
        except KeyError:
            effective = self._date(eff, line, 3)
        if effective is None and self.effective_required:
            raise DataFileError(self.path, f"{eff!r} is not an effective date", line,
                                self.columns[3])
        try:
            deletion = self.dates[dele]
        except KeyError:
            deletion = self._date(dele, line, 4)
        if deletion is None and dele != "*" and not dele.strip():
            raise DataFileError(self.path, "empty deletion date (CMS writes '*' for none)", line,
                                self.columns[4])
        # CMS deletes an edit retroactively by setting deletion = effective (indicator 9).
        if effective is not None and deletion is not None and deletion < effective:
            raise DataFileError(self.path, f"deletion date {deletion} is before the effective"
                                f" date {effective}", line, self.columns[4])
        modifier = _MODIFIER.get(mod)
        if modifier is None:
            modifier = self._modifier(mod, line)
        rationale = self.rationales.get(rat) or self._rationale(rat, line)
        return PtpEdit(column_1, column_2, prior, effective, deletion, modifier, rationale)

    def _check_width(self, cells: list[str], line: int) -> None:
        if len(cells) < 7:
            raise DataFileError(self.path, f"row has {len(cells)} of 7 columns (truncated?)", line,
                                self.columns[len(cells)])
        if any(cell.strip() for cell in cells[7:]):
            raise DataFileError(self.path, f"row has {len(cells)} columns, expected 7", line)

    def _code(self, text: str, line: int, index: int) -> str:
        code = text.strip()
        if not _CODE.fullmatch(code):
            raise DataFileError(self.path, f"{text!r} is not a 5-character HCPCS/CPT code", line,
                                self.columns[index])
        self.codes[text] = code
        return code

    def _flag(self, text: str, line: int) -> bool:
        flag = _PRIOR_1996.get(text.strip())
        if flag is None:
            raise DataFileError(self.path, f"{text!r} is not '*' or empty", line,
                                self.columns[2])
        return flag

    def _date(self, text: str, line: int, index: int) -> date | None:
        value = parse_yyyymmdd(text, self.path, line, self.columns[index])
        self.dates[text] = value
        return value

    def _modifier(self, text: str, line: int) -> int:
        modifier = _MODIFIER.get(text.strip())
        if modifier is None:
            raise DataFileError(self.path, f"{text!r} is not a modifier indicator (0, 1 or 9)",
                                line, self.columns[5])
        return modifier

    def _rationale(self, text: str, line: int) -> str:
        rationale = text.strip()
        if not rationale:
            raise DataFileError(self.path, "empty rationale", line, self.columns[6])
        self.rationales[text] = rationale
        return rationale


def _is_title_line(cells: list[str]) -> bool:
    # Title lines start with prose ("Column 1", the AMA notice) or an empty continuation cell;
    # a data row starts with a bare code. Testing this rather than the code pattern means a
    # malformed first row is reported instead of being skipped as a title line.
    first = cells[0].strip()
    return not first or any(ch.isspace() for ch in first)


def _read_official(path: Path, data: bytes) -> list[PtpEdit]:
    parser = _RowParser(path, OFFICIAL_COLUMNS, effective_required=True)
    edits: list[PtpEdit] = []
    append = edits.append
    with io.StringIO(data.decode("latin-1"), newline="") as handle:
        lines: Iterator[tuple[int, str]] = enumerate(handle, 1)
        titles: list[str] = []
        first: tuple[int, list[str]] | None = None
        for line_no, raw in lines:
            cells = raw.rstrip("\r\n").split("\t")
            if not _is_title_line(cells):
                first = (line_no, cells)
                break
            titles.append(raw)
            if len(titles) > _MAX_HEADER_LINES:
                raise DataFileError(path, f"no edit row in the first {_MAX_HEADER_LINES} lines;"
                                    " not the CMS PTP edit file?", line_no)
        if first is None:
            raise DataFileError(path, "no edit rows")
        if not any(re.search(r"column\s*1", title, re.IGNORECASE) for title in titles):
            raise DataFileError(path, "no 'Column 1 / Column 2' title lines before the data;"
                                " not the CMS PTP edit file?", first[0])
        append(parser.row(first[1], first[0]))
        for line_no, raw in lines:
            cells = raw.rstrip("\r\n").split("\t")
            if not cells[0] and not raw.strip():
                continue  # blank line, e.g. at the end of the file
            append(parser.row(cells, line_no))
    return edits


def _read_extract(path: Path, data: bytes) -> list[PtpEdit]:
    parser = _RowParser(path, EXTRACT_COLUMNS, effective_required=False)
    edits: list[PtpEdit] = []
    append = edits.append
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFileError(path, f"byte {error.start} is not UTF-8 text") from None
    with io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if tuple(cell.strip() for cell in header) != EXTRACT_COLUMNS:
            raise DataFileError(path, f"header {header!r} is not {list(EXTRACT_COLUMNS)!r}", 1)
        for cells in reader:
            if not any(cells):
                continue
            append(parser.row(cells, reader.line_num))
    return edits


def _is_extract(data: bytes) -> bool:
    return data[:64].removeprefix(b"\xef\xbb\xbf").startswith(b"column_1,column_2,")


def read_ptp_file(path: Path, *, min_rows: int = 1) -> PtpRelease:
    """Read one official PTP file part (or a reshaped CSV extract) as a release.

    The layout is recognised by content; the version and effective date come from the file
    name. Raises :class:`DataFileError` at the first row that does not fit the layout, and when
    fewer than ``min_rows`` edits are found.
    """
    path = Path(path)
    info = _parse_name(path)
    data, digest = read_bytes(path)
    extract = _is_extract(data)
    edits = _read_extract(path, data) if extract else _read_official(path, data)
    if len(edits) < min_rows:
        raise DataFileError(path, f"{len(edits)} edit rows, expected at least {min_rows}"
                            " (truncated or not the official file?)")
    caveat = ""
    if extract:
        caveat = EXTRACT_CAVEAT
        if any(edit.effective is None for edit in edits):
            caveat += " " + NO_EFFECTIVE_CAVEAT
    note = "reshaped CSV extract" if extract else "CMS tab-delimited text"
    if info.part is not None:
        note += f", part f{info.part}"
    return PtpRelease(
        release_id=f"PTP-{info.version}",
        effective_from=info.effective_from,
        title=_title(info),
        source=SourceInfo(path.name, digest, len(edits), note),
        edits=tuple(edits),
        caveat=caveat,
    )


def _title(info: _NameInfo) -> str:
    match = re.fullmatch(r"v(\d{2})(\d)r(\d+)", info.version)
    assert match is not None  # _parse_name built it from the same pattern
    return (f"Medicare NCCI PTP edits, practitioner, version {match[1]}.{match[2]}"
            f" r{match[3]}, effective {info.effective_from.isoformat()}")


def _part_number(release: PtpRelease) -> int | None:
    match = _NAME.match(release.source.file_name)
    return int(match["part"]) if match is not None and match["part"] is not None else None


def merge_ptp_parts(parts: Sequence[PtpRelease]) -> PtpRelease:
    """Join the parts (``-f1`` … ``-f4``) of one PTP version into a single release.

    Parts are put in part-number order whatever order they are given in, and must be numbered
    1..n without gaps. The merged :class:`SourceInfo` lists every file name (joined with
    ``", "``), sums the rows, and its ``sha256`` is the SHA-256 of the parts' hex digests
    concatenated in part order — reproducible from the files, though not the hash of any one file.
    """
    if not parts:
        raise ValueError("no PTP parts to merge")
    ordered = sorted(parts, key=lambda part: (_part_number(part) or 0, part.source.file_name))
    first = ordered[0]
    for part in ordered[1:]:
        if part.release_id != first.release_id or part.effective_from != first.effective_from:
            raise DataFileError(
                part.source.file_name, f"is release {part.release_id} (effective"
                f" {part.effective_from}), but {first.source.file_name} is {first.release_id}"
                f" (effective {first.effective_from}); only parts of one version can be merged")
    names = [part.source.file_name for part in ordered]
    for index, name in enumerate(names):
        if name in names[:index] or ordered[index].source.sha256 in (
                part.source.sha256 for part in ordered[:index]):
            raise DataFileError(name, "the same part is given twice")
    numbers = [_part_number(part) for part in ordered]
    if all(number is not None for number in numbers) and numbers != list(
            range(1, len(numbers) + 1)):
        raise DataFileError(", ".join(names), f"parts {numbers} are not numbered 1..{len(numbers)}"
                            " (a part missing?)")
    caveats = list(dict.fromkeys(part.caveat for part in ordered if part.caveat))
    digest = hashlib.sha256("".join(part.source.sha256 for part in ordered).encode("ascii"))
    rows = sum(part.source.rows for part in ordered)
    return PtpRelease(
        release_id=first.release_id,
        effective_from=first.effective_from,
        title=first.title,
        source=SourceInfo(
            ", ".join(names), digest.hexdigest(), rows,
            f"{len(ordered)} parts; sha256 = SHA-256 of the parts' sha256 hex digests"
            " concatenated in part order"),
        edits=tuple(edit for part in ordered for edit in part.edits),
        caveat=" ".join(caveats),
    )


def therapy_filter(edits: Iterable[PtpEdit], codes: frozenset[str]) -> tuple[PtpEdit, ...]:
    """The edits whose column 1 and column 2 codes are both in ``codes``."""
    return tuple(edit for edit in edits if edit.column_1 in codes and edit.column_2 in codes)
