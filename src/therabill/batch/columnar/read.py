"""A CSV, TSV or Parquet claims file as one polars frame of text cells, when the file is plain
enough that the frame's rows are exactly the rows the streaming reader sees.

Plain means, for CSV and TSV: UTF-8 without a byte-order mark, no quoted cells, no carriage
returns and no blank lines, every row as wide as the header; row ``i`` of the frame is then line
``i + 2`` of the file, as the streaming reader numbers it. For Parquet: columns of text, whole
numbers or dates (written as the streaming reader writes them); row ``i`` is row ``i + 1``.
Any other file is read by the streaming reader alone (None).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import polars as pl

from therabill.batch.readers import IGNORE, Row, _header

ROW = "__row"  # the frame's row number (0-based)


def plain_frame(path: Path, kind: str, mapping: Mapping[str, str]) -> pl.DataFrame | None:
    """The file's cells (text; empty cells null), its columns named in therabill's terms, with
    the row number in ``ROW``; None when the file is not plain (see the module's text).
    ``InputError`` for a header the streaming reader would refuse too."""
    if kind == "parquet":
        return _parquet_frame(path, mapping)
    if kind not in ("csv", "tsv"):
        return None
    data = path.read_bytes()
    if (data.startswith(b"\xef\xbb\xbf") or b'"' in data or b"\r" in data
            or b"\n\n" in data.rstrip(b"\n") or not data.strip()):
        return None
    try:
        text_header = data[:data.index(b"\n") if b"\n" in data else len(data)].decode()
    except UnicodeDecodeError:
        return None
    delimiter = "\t" if kind == "tsv" else ","
    names = text_header.split(delimiter)
    columns = _header(path, names, mapping)
    if not _even(data, delimiter, len(names)):
        return None
    positional = [f"c{index}" for index in range(len(columns))]
    try:
        frame = pl.read_csv(data, separator=delimiter, has_header=True, new_columns=positional,
                            infer_schema=False, quote_char=None, encoding="utf8")
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return None
    if frame.width != len(columns):
        return None
    keep = [(name, column) for name, column in zip(positional, columns, strict=True)
            if column != IGNORE]
    return frame.select([pl.col(name).alias(column) for name, column in keep]) \
        .with_row_index(ROW)


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
    return frame.select([pl.col(name).cast(pl.String).alias(column) for name, column in keep]) \
        .with_row_index(ROW)


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
