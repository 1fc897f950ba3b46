"""Output files of a batch run, written atomically: each goes to a hidden temporary file beside
its final name and is renamed into place only when the run completes, so an interrupted run never
leaves a file that looks whole."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from therabill.batch.tables import Row

TABLE_FORMATS = ("parquet", "csv")
_ROW_GROUP = 65_536


class AtomicFile:
    """A file written under a temporary name and renamed into place by ``commit``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")

    def commit(self) -> None:
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)


class TableWriter:
    """Rows of one table, as CSV (text; empty cell for none) or Parquet (typed columns: text,
    64-bit integers, money as decimal(14, 2)). Parquet row groups hold a fixed number of rows,
    so the same rows make the same bytes however they were handed in."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]], fmt: str) -> None:
        if fmt not in TABLE_FORMATS:
            raise ValueError(f"table format must be one of {', '.join(TABLE_FORMATS)}")
        self.file = AtomicFile(path)
        self.columns = tuple(columns)
        self.fmt = fmt
        self.rows = 0
        self._buffer: list[Row] = []
        self._handle: IO[str] | None = None
        self._csv: Any = None
        self._parquet: Any = None
        self._schema: Any = None
        if fmt == "csv":
            self._handle = self.file.temporary.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._handle, lineterminator="\n")
            self._csv.writerow([name for name, _ in self.columns])
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            kinds = {"str": pa.string(), "int": pa.int64(), "money": pa.decimal128(14, 2)}
            self._schema = pa.schema([(name, kinds[kind]) for name, kind in self.columns])
            self._parquet = pq.ParquetWriter(self.file.temporary, self._schema,
                                             compression="zstd")

    def write(self, rows: Sequence[Row]) -> None:
        self.rows += len(rows)
        if self._csv is not None:
            self._csv.writerows(
                ["" if value is None else format(value, "f") if isinstance(value, Decimal)
                 else value for value in row] for row in rows)
            return
        self._buffer.extend(rows)
        while len(self._buffer) >= _ROW_GROUP:
            self._flush(self._buffer[:_ROW_GROUP])
            del self._buffer[:_ROW_GROUP]

    def _flush(self, rows: Sequence[Row]) -> None:
        import pyarrow as pa

        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.columns]
        arrays = [pa.array(values, type=self._schema.field(i).type)
                  for i, values in enumerate(columns)]
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._parquet is not None:
            if self._buffer or self.rows == 0:
                self._flush(self._buffer)
                self._buffer.clear()
            self._parquet.close()

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
