"""What every importer shares: checksums, release ids, and one error type that names the place."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path


class DataFileError(ValueError):
    """A source file that does not match its official layout.

    The message always names the file, and where known the line (1-based) and column, so a user
    can open the file at the spot. Importers raise on the first problem and return nothing: a
    file is accepted whole or not at all.
    """

    def __init__(self, path: Path | str, problem: str, line: int | None = None,
                 column: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        self.column = column
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


def parse_decimal(text: str, path: Path, line: int, column: str) -> Decimal:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        raise DataFileError(path, f"{text!r} is not a number", line, column) from None
    if not value.is_finite():
        raise DataFileError(path, f"{text!r} is not a finite number", line, column)
    return value


def parse_yyyymmdd(text: str, path: Path, line: int, column: str) -> date | None:
    """CMS writes dates as YYYYMMDD and ``*`` for "none"."""
    text = text.strip()
    if text in ("", "*"):
        return None
    try:
        if len(text) != 8:
            raise ValueError(text)
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise DataFileError(path, f"{text!r} is not a YYYYMMDD date", line, column) from None


QUARTER_LETTER = {1: "A", 4: "B", 7: "C", 10: "D"}
MONTH_NAMES = {
    "january": 1, "april": 4, "july": 7, "october": 10,
}


def rvu_release_id(year: int, month: int) -> str:
    """CMS names RVU releases by year and quarter letter: January 2025 is RVU25A."""
    return f"RVU{year % 100:02d}{QUARTER_LETTER[month]}"


@dataclass(frozen=True, slots=True)
class RowBounds:
    """Plausible row counts for a whole official file.

    Outside them the file is truncated or wrong.
    """

    minimum: int
    maximum: int

    def check(self, count: int, path: Path, what: str) -> None:
        if not self.minimum <= count <= self.maximum:
            raise DataFileError(
                path, f"{count} {what} rows, expected between {self.minimum} and {self.maximum}"
                " (truncated or not the official file?)")


# The largest official file read (a PTP part) is tens of MiB; a file many times that is not one,
# and is refused before it is read into memory.
MAX_SOURCE_BYTES = 512 << 20


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The bytes of a source file and their SHA-256, read once: the hash recorded for a release
    is always that of the bytes parsed, even if the file changes on disk meanwhile."""
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise DataFileError(path, f"{size >> 20} MiB; no official file of these kinds is "
                                f"over {MAX_SOURCE_BYTES >> 20} MiB (not the official file?)")
        raw = path.read_bytes()
    except OSError as error:
        raise DataFileError(path, f"cannot read the file ({error.strerror or error})") from None
    return raw, hashlib.sha256(raw).hexdigest()


def read_source(path: Path) -> tuple[str, str]:
    """The text of a CMS data file and the SHA-256 of its bytes (read once).

    CMS files are ASCII/Latin-1 (Latin-1 never fails to decode); a UTF-8 byte-order mark left by
    a spreadsheet re-save is dropped. Line ends are kept as in the file (CRLF), so callers decide.
    """
    raw, digest = read_bytes(path)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("latin-1"), digest


def read_text(path: Path) -> str:
    """The text of a CMS data file (see :func:`read_source`)."""
    return read_source(path)[0]


def clean_label(text: str) -> str:
    """A cell or column title with runs of blanks collapsed, as CMS spacing varies by year."""
    return " ".join(text.split())


def pad_digits(text: str, width: int, path: Path, line: int, column: str) -> str:
    """A MAC or locality number, left-padded with zeros (some CMS CSVs lost the leading zeros)."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > width:
        raise DataFileError(path, f"{text!r} is not a number of at most {width} digits", line,
                            column)
    return text.zfill(width)


def column_positions(path: Path, line: int, keys: Sequence[str | None],
                     required: Iterable[str]) -> dict[str, int]:
    """Where each known column stands, from the column titles already mapped to our keys
    (None for a title we do not read): a title twice or a required one missing is an error."""
    positions: dict[str, int] = {}
    for position, key in enumerate(keys):
        if key is None:
            continue
        if key in positions:
            raise DataFileError(path, "column title appears twice", line, key)
        positions[key] = position
    for name in required:
        if name not in positions:
            raise DataFileError(path, "column missing from the column titles", line, name)
    return positions
