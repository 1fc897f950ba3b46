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
from pathlib import Path

import polars as pl

from therabill.batch.readers import IGNORE, Row, _header

ROW = "__row"  # a row's number in the file's cells (0-based)
TEXT = "text"  # a column's distinct cell, in ``Cells.per_text``


class Cells:
    """A file's cells, each column as codes into its distinct texts (sorted; an empty cell is
    null), so that any rows' text can be had back (``rows``) and a check of a cell is worked
    out once per distinct text (``per_text``)."""

    def __init__(self, pieces: Iterable[pl.DataFrame], columns: list[str]) -> None:
        """The cells of ``pieces`` (frames of text ``columns``, in the file's order), each
        piece coded and let go before the next is read."""
        self.columns = list(columns)
        self.height = 0
        coded: dict[str, list[tuple[pl.Series, pl.Series]]] = {name: [] for name in columns}
        for piece in pieces:
            self.height += piece.height
            for column in piece.get_columns():
                texts = column.drop_nulls().unique().sort()
                coded[column.name].append((_coded(column, texts), texts))
            del piece
        self.texts: dict[str, pl.Series] = {}
        codes: list[pl.Series] = []
        for name in columns:
            codes.append(self._merged(name, coded.pop(name)))
        self.codes = pl.DataFrame(codes)

    def _merged(self, name: str, pieces: list[tuple[pl.Series, pl.Series]]) -> pl.Series:
        """One column's codes, from each piece's codes into its own texts."""
        texts = pl.concat([piece for _, piece in pieces]).unique().sort() if pieces \
            else pl.Series(TEXT, [], dtype=pl.String)
        self.texts[name] = texts.alias(TEXT)
        narrow = pl.UInt8 if texts.len() < 1 << 8 else \
            pl.UInt16 if texts.len() < 1 << 16 else pl.UInt32
        if not pieces:
            return pl.Series(name, [], dtype=narrow)
        if len(pieces) == 1:
            return pieces[0][0].cast(narrow).alias(name)
        return pl.concat([texts.search_sorted(piece, "left").gather(codes).cast(narrow)
                          for codes, piece in pieces]).alias(name)

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

    def rows(self, rows: pl.Series, names: list[str] | None = None) -> pl.DataFrame:
        """The text of the ``rows`` (numbers, in the order given) as a frame: ``ROW``, then the
        columns (``names``, or all) as the file has them (empty cells null)."""
        names = self.columns if names is None else [n for n in self.columns if n in names]
        picked = self.codes.select(names)[rows]
        return pl.DataFrame([rows.alias(ROW), *(
            self.texts[name].gather(picked.get_column(name)).alias(name) for name in names)])

    def row_numbers(self) -> pl.Series:
        return pl.int_range(self.height, dtype=pl.UInt32, eager=True).alias(ROW)


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
        return None if frame is None else Cells([frame], frame.columns)
    if kind not in ("csv", "tsv"):
        return None
    data = path.read_bytes()
    if (data.startswith(b"\xef\xbb\xbf") or b'"' in data or b"\r" in data
            or b"\n\n" in data.rstrip(b"\n") or not data.strip()):
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
    try:
        return Cells(_pieces(data, end + 1, delimiter, columns), kept)
    except _NotPlain:
        return None


def _pieces(data: bytes, start: int, delimiter: str, columns: list[str]
            ) -> Iterator[pl.DataFrame]:
    """The rows after the header, parsed a piece of whole lines at a time, as text (empty
    cells null), the kept columns named in therabill's terms. ``_NotPlain`` for a piece that
    is not."""
    positional = [f"c{index}" for index in range(len(columns))]
    keep = [pl.col(name).alias(column) for name, column in zip(positional, columns, strict=True)
            if column != IGNORE]
    while start < len(data):
        end = data.find(b"\n", min(start + _PIECE_BYTES, len(data)) - 1)
        end = len(data) if end < 0 else end + 1
        piece = data[start:end]
        start = end
        if not _even(piece, delimiter, len(columns)):
            raise _NotPlain
        try:
            frame = pl.read_csv(piece, separator=delimiter, has_header=False,
                                new_columns=positional, infer_schema=False, quote_char=None,
                                encoding="utf8")
        except (pl.exceptions.PolarsError, UnicodeDecodeError):
            raise _NotPlain from None
        if frame.width != len(columns):
            raise _NotPlain
        yield frame.select(keep)


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


def _even(data: bytes, delimiter: str, width: int) -> bool:
    """Whether every line has the header's number of fields (the streaming reader rejects a
    row that has not; polars would fill it out)."""
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(raw == ord("\n")) + 1))
    starts = starts[starts < len(raw)]  # no empty line after the last newline
    fields = np.add.reduceat(raw == ord(delimiter), starts, dtype=np.int32)
    return bool((fields == width - 1).all())


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
