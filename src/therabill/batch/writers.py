"""Output files of a batch run, written atomically: each goes to a hidden temporary file beside
its final name and is renamed into place only when the run completes, so an interrupted run never
leaves a file that looks whole."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from therabill.batch.tables import Row

TABLE_FORMATS = ("parquet", "csv")
_ROW_GROUP = 65_536
# Columns whose every value is nearly its own (a dictionary of them only costs time), and the
# columns a reader filters rows by (their row groups' least and greatest values are kept;
# working them out for long texts and amounts would cost more than they save).
_NEARLY_UNIQUE = frozenset({"visit_id", "patient_id"})
_FILTERED_BY = frozenset({"date_of_service", "payer", "code", "line", "units", "status",
                          "rule", "severity", "position"})


class AtomicFile:
    """A file written under a temporary name and renamed into place by ``commit``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")

    def commit(self) -> None:
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


def _schema(columns: Sequence[tuple[str, str]]) -> Any:
    import pyarrow as pa

    kinds = {"str": pa.string(), "int": pa.int64(), "money": pa.decimal128(14, 2)}
    return pa.schema([(name, kinds[kind]) for name, kind in columns])


def _csv_text(rows: Sequence[Row]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        # money always with its two decimals (a fee table's 31.5 × 2 is 63.00, not 63.0)
        ["" if value is None else format(value, ".2f") if isinstance(value, Decimal)
         else value for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def encode_rows(rows: Sequence[Row], columns: Sequence[tuple[str, str]], fmt: str) -> bytes:
    """Rows as a chunk a ``TableWriter`` of that format takes: CSV text, or an Arrow IPC stream
    for Parquet. Worker processes encode their own rows, so the writing process only copies."""
    if fmt == "csv":
        return _csv_text(rows)
    import pyarrow as pa

    schema = _schema(columns)
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(column, type=schema.field(i).type) for i, column in enumerate(values)],
        schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as stream:
        stream.write_batch(batch)
    return bytes(sink.getvalue())


class TableWriter:
    """Rows of one table, as CSV (text; empty cell for none) or Parquet (typed columns: text,
    64-bit integers, money as decimal(14, 2)). Parquet row groups hold a fixed number of rows
    in contiguous arrays, so the same rows make the same bytes however they were handed in."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]], fmt: str) -> None:
        if fmt not in TABLE_FORMATS:
            raise ValueError(f"table format must be one of {', '.join(TABLE_FORMATS)}")
        self.file = AtomicFile(path)
        self.columns = tuple(columns)
        self.fmt = fmt
        self.rows = 0
        self._pending: list[Any] = []  # Arrow tables not yet written as a row group
        self._pending_rows = 0
        self._handle: IO[bytes] | None = None
        self._parquet: Any = None
        self._schema: Any = None
        if fmt == "csv":
            self._handle = self.file.temporary.open("wb")
            self._handle.write(_csv_text([tuple(name for name, _ in self.columns)]))
        else:
            import pyarrow.parquet as pq

            self._schema = _schema(self.columns)
            names = [name for name, _ in self.columns]
            self._parquet = pq.ParquetWriter(
                self.file.temporary, self._schema, compression="zstd",
                use_dictionary=[name for name in names if name not in _NEARLY_UNIQUE],
                write_statistics=[name for name in names if name in _FILTERED_BY])

    def write(self, rows: Sequence[Row]) -> None:
        self.write_encoded(encode_rows(rows, self.columns, self.fmt), len(rows))

    def write_encoded(self, chunk: bytes, rows: int) -> None:
        """A chunk from ``encode_rows`` holding ``rows`` rows."""
        self.rows += rows
        if self._handle is not None:
            self._handle.write(chunk)
            return
        import pyarrow as pa

        table = pa.ipc.open_stream(chunk).read_all()
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= _ROW_GROUP:
            self._flush(final=False)

    def write_arrow(self, table: Any) -> None:
        """An Arrow table with this writer's columns, in order (money as decimal(14, 2))."""
        self.rows += table.num_rows
        if self._handle is not None:
            import polars as pl

            frame = pl.from_arrow(table)
            assert isinstance(frame, pl.DataFrame)
            # an empty text is an empty cell, as the csv module writes it (not "")
            frame = frame.with_columns(pl.col(pl.String).replace("", None))
            frame.write_csv(self._handle, include_header=False, null_value="",
                            line_terminator="\n")
            return
        table = table.cast(self._schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= _ROW_GROUP:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        import pyarrow as pa

        table = (pa.concat_tables(self._pending) if self._pending
                 else self._schema.empty_table())
        start = 0
        while table.num_rows - start >= _ROW_GROUP or (final and start < table.num_rows):
            part = table.slice(start, _ROW_GROUP).combine_chunks()
            self._parquet.write_table(part, row_group_size=_ROW_GROUP)
            start += part.num_rows
        rest = table.slice(start)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows
        if final and table.num_rows == 0:
            self._parquet.write_table(table)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._parquet is not None:
            self._flush(final=True)
            self._parquet.close()
            self._parquet = None

    def commit(self) -> None:
        self.close()
        self.file.commit()

    def discard(self) -> None:
        try:
            self.close()
        finally:
            self.file.discard()


class BytesWriter:
    """A stream of already-encoded records (JSON Lines, NDJSON), one per line."""

    def __init__(self, path: Path) -> None:
        self.file = AtomicFile(path)
        self._handle = self.file.temporary.open("wb")
        self.rows = 0

    def write(self, records: Sequence[bytes]) -> None:
        self.rows += len(records)
        for record in records:
            self._handle.write(record)
            self._handle.write(b"\n")

    def commit(self) -> None:
        self._handle.close()
        self.file.commit()

    def discard(self) -> None:
        self._handle.close()
        self.file.discard()
