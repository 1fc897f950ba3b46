"""A CSV, TSV or Parquet claims file's text cells, held compact (``Cells``), when the file is
plain enough that its rows are exactly the rows the streaming reader sees.

Plain means, for CSV and TSV: UTF-8 without a byte-order mark, no quoted cells, no carriage
returns and no blank lines, every row as wide as the header; row ``i`` of the frame is then line
``i + 2`` of the file, as the streaming reader numbers it. For Parquet: columns of text, whole
numbers or dates (written as the streaming reader writes them); row ``i`` is row ``i + 1``.
Any other file is read by the streaming reader alone (None).

A file's cells as polars text take 16 bytes each (2.6 million rows of 12 columns: about
500 MiB) for the whole run; as codes into each column's distinct texts they take one to four.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from therabill.batch.pipeline import in_order
from therabill.batch.readers import IGNORE, Row, _header

ROW = "__row"  # a row's number in the file's cells (0-based)
TEXT = "text"  # a column's distinct cell, in ``Cells.per_text``


class Cells:
    """A file's cells, each column as codes into its distinct texts (sorted; an empty cell is
    null), so that any rows' text can be had back (``rows``) and a check of a cell is worked
    out once per distinct text (``per_text``)."""

    def __init__(self, pieces: Iterable[list[tuple[pl.Series, pl.Series]]],
                 columns: list[str]) -> None:
        """The cells of ``pieces`` (each a piece of the file's rows, in order, coded by
        ``coded_piece``)."""
        self.columns = list(columns)
        self.height = 0
        coded: dict[str, list[tuple[pl.Series, pl.Series]]] = {name: [] for name in columns}
        for piece in pieces:
            for name, found in zip(columns, piece, strict=True):
                coded[name].append(found)
            self.height += piece[0][0].len() if piece else 0
        # the columns merged two at a time (polars lets go of the interpreter)
        with ThreadPoolExecutor(2, thread_name_prefix="columnar-read") as pool:
            merged = list(pool.map(_merged, columns, [coded.pop(name) for name in columns]))
        self.texts: dict[str, pl.Series] = {name: texts for name, (_, texts)
                                            in zip(columns, merged, strict=True)}
        self.codes = pl.DataFrame([codes for codes, _ in merged])

    def code(self, name: str) -> pl.Series:
        """Every row's code in column ``name``, an empty cell (and a column the file lacks)
        coded as the last of ``lookup``."""
        if name not in self.texts:
            return pl.zeros(self.height, dtype=pl.UInt32, eager=True)
        return self.codes.get_column(name).cast(pl.UInt32).fill_null(self.texts[name].len())

    def lookup(self, name: str) -> pl.Series:
        """Column ``name``'s distinct texts and, last, the empty cell (null)."""
        texts = self.texts.get(name, pl.Series(TEXT, [], dtype=pl.String))
        return pl.concat([texts, pl.Series(TEXT, [None], dtype=pl.String)])

    def per_text(self, name: str, expr: pl.Expr, codes: pl.Series | None = None) -> pl.Series:
        """``expr`` (of ``pl.col(TEXT)``) on each row's cell of column ``name``, or on the
        cells ``codes`` name (as ``code`` gives them): worked out once per distinct text."""
        values = pl.DataFrame([self.lookup(name)]).select(expr).to_series()
        return values.gather(self.code(name) if codes is None else codes)

    def picked(self, rows: pl.Series, names: list[str]) -> dict[str, pl.Series]:
        """The codes of the ``rows``' cells in columns ``names``, as ``code`` gives them (for
        ``per_text``)."""
        found = self.codes.select([name for name in names if name in self.texts])[rows]
        return {name: found.get_column(name).cast(pl.UInt32).fill_null(self.texts[name].len())
                if name in self.texts else pl.zeros(rows.len(), dtype=pl.UInt32, eager=True)
                for name in names}

    def rows(self, rows: pl.Series, names: list[str] | None = None) -> pl.DataFrame:
        """The text of the ``rows`` (numbers, in the order given) as a frame: ``ROW``, then the
        columns (``names``, or all) as the file has them (empty cells null)."""
        names = self.columns if names is None else [n for n in self.columns if n in names]
        picked = self.codes.select(names)[rows]
        return pl.DataFrame([rows.alias(ROW), *(
            self.texts[name].gather(picked.get_column(name)).alias(name) for name in names)])

    def row_numbers(self) -> pl.Series:
        return pl.int_range(self.height, dtype=pl.UInt32, eager=True).alias(ROW)


def _merged(name: str, pieces: list[tuple[pl.Series, pl.Series]]
            ) -> tuple[pl.Series, pl.Series]:
    """One column's codes into its distinct texts (sorted), and those texts, from each
    piece's codes into its own texts."""
    texts = pl.concat([piece for _, piece in pieces]).unique().sort() if pieces \
        else pl.Series(TEXT, [], dtype=pl.String)
    texts = texts.alias(TEXT)
    narrow = pl.UInt8 if texts.len() < 1 << 8 else \
        pl.UInt16 if texts.len() < 1 << 16 else pl.UInt32
    if not pieces:
        return pl.Series(name, [], dtype=narrow), texts
    if len(pieces) == 1:
        return pieces[0][0].cast(narrow).alias(name), texts
    return pl.concat([texts.search_sorted(piece, "left").gather(codes).cast(narrow)
                      for codes, piece in pieces]).alias(name), texts


def coded_piece(frame: pl.DataFrame) -> list[tuple[pl.Series, pl.Series]]:
    """Each column of a piece of text cells: its codes into its distinct texts (sorted), and
    those texts."""
    found = []
    for column in frame.get_columns():
        texts = column.drop_nulls().unique().sort()
        found.append((_coded(column, texts), texts))
    return found


def _coded(column: pl.Series, texts: pl.Series) -> pl.Series:
    """``column``'s codes into its distinct ``texts`` (sorted), nulls kept."""
    if texts.len() < 1 << 16:  # as an enum's: quick for few distinct texts
        return column.cast(pl.Enum(texts)).to_physical()
    return (column.rank("dense") - 1).cast(pl.UInt32)  # the distinct texts counted, from 1


class _NotPlain(Exception):
    """A piece of the file that is not plain after all."""


_PIECE_BYTES = 16 << 20  # a CSV or TSV file is parsed and coded this much at a time


def plain_cells(path: Path, kind: str, mapping: Mapping[str, str]) -> Cells | None:
    """The file's cells, its columns named in therabill's terms; None when the file is not
    plain (see the module's text). ``InputError`` for a header the streaming reader would
    refuse too."""
    if kind == "parquet":
        frame = _parquet_frame(path, mapping)
        return None if frame is None else Cells([coded_piece(frame)], frame.columns)
    if kind not in ("csv", "tsv"):
        return None
    data = path.read_bytes()
    if (data.startswith(b"\xef\xbb\xbf") or b'"' in data or b"\r" in data or not data
            or data.isspace()):
        return None
    end = data.index(b"\n") if b"\n" in data else len(data)
    try:
        text_header = data[:end].decode()
    except UnicodeDecodeError:
        return None
    delimiter = "\t" if kind == "tsv" else ","
    names = text_header.split(delimiter)
    columns = _header(path, names, mapping)
    kept = [column for column in columns if column != IGNORE]
    stop = len(data)  # empty lines at the end are not rows
    while data[stop - 1:stop] == b"\n" and data[stop - 2:stop - 1] == b"\n":
        stop -= 1
    def piece(bounds: tuple[int, int]) -> list[tuple[pl.Series, pl.Series]]:
        return coded_piece(_parsed(data[bounds[0]:bounds[1]], delimiter, columns))

    try:  # two pieces at once (polars lets go of the interpreter while it parses and codes)
        with ThreadPoolExecutor(2, thread_name_prefix="columnar-read") as pool:
            return Cells(in_order(piece, _pieces(data, end + 1, stop), pool, 1), kept)
    except _NotPlain:
        return None


def _pieces(data: bytes, start: int, stop: int) -> Iterator[tuple[int, int]]:
    """Where each piece of whole lines between ``start`` and ``stop`` begins and ends."""
    while start < stop:
        end = data.find(b"\n", min(start + _PIECE_BYTES, stop) - 1, stop)
        end = stop if end < 0 else end + 1
        yield start, end
        start = end


def _parsed(piece: bytes, delimiter: str, columns: list[str]) -> pl.DataFrame:
    """A piece's rows as text (empty cells null), the kept columns named in therabill's
    terms. ``_NotPlain`` for a piece that is not plain."""
    positional = [f"c{index}" for index in range(len(columns))]
    keep = [pl.col(name).alias(column) for name, column in zip(positional, columns, strict=True)
            if column != IGNORE]
    try:
        frame = pl.read_csv(piece, separator=delimiter, has_header=False,
                            new_columns=positional, infer_schema=False, quote_char=None,
                            encoding="utf8")
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        raise _NotPlain from None  # (a row wider than the header among them)
    if frame.width != len(columns) or not _even(piece, frame.height, delimiter, len(columns)):
        raise _NotPlain
    return frame.select(keep)


def _parquet_frame(path: Path, mapping: Mapping[str, str]) -> pl.DataFrame | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.ParquetFile(path).schema_arrow
    except (OSError, pa.ArrowException):
        return None  # the streaming reader says why
    columns = _header(path, schema.names, mapping)
    kinds = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer,
             pa.types.is_date32)
    keep = [(name, column) for name, column in zip(schema.names, columns, strict=True)
            if column != IGNORE]
    if len(set(schema.names)) != len(schema.names) or not all(
            any(kind(schema.field(name).type) for kind in kinds) for name, _ in keep):
        return None
    try:
        frame = pl.read_parquet(path, columns=[name for name, _ in keep])
    except pl.exceptions.PolarsError:
        return None
    # as text, as the streaming reader writes a cell: whole numbers and ISO dates
    return frame.select([pl.col(name).cast(pl.String).alias(column) for name, column in keep])


FIRST_NUMBER = {"csv": 2, "tsv": 2, "parquet": 1}  # the number of a file's first record


def _even(data: bytes, rows: int, delimiter: str, width: int) -> bool:
    """Whether each of the ``rows`` lines of ``data`` has the header's number of fields, none
    having more (the streaming reader rejects a row that has fewer, which polars would fill
    out, and skips an empty line, which polars reads as a row of empty cells)."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if width == 1:  # no delimiter to count: an empty line is a row of one empty cell
        return lines == rows and b"\n\n" not in data and not data.startswith(b"\n")
    return lines == rows and data.count(delimiter.encode()) == rows * (width - 1)


def rows_in(cells: Cells, rows: pl.Series, first: int = 2, batch: int = 50_000
            ) -> Iterator[Row]:
    """``rows_of`` the ``rows`` of ``cells``, their text had back a batch at a time."""
    for start in range(0, rows.len(), batch):
        yield from rows_of(cells.rows(rows.slice(start, batch)), first)


def rows_of(frame: pl.DataFrame, first: int = 2) -> Iterator[Row]:
    """Rows as the streaming reader hands them on: the line (or row) number, counted from
    ``first``, and the non-empty cells, trimmed; a row of empty cells is skipped, as the
    streaming reader skips it."""
    names = [name for name in frame.columns if name != ROW]
    for values in frame.select([ROW, *names]).iter_rows():
        cells = {}
        for name, value in zip(names, values[1:], strict=True):
            if value is not None:
                value = value.strip()
                if value:
                    cells[name] = value
        if cells:
            yield values[0] + first, cells
