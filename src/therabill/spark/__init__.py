"""therabill on Apache Spark: a DataFrame of service lines in, the batch lines, findings and
rejects tables out, row for row what ``therabill batch`` gives for the same file.

    from therabill.spark import check_lines
    tables = check_lines(spark.read.parquet("s3://claims/2025/"))
    tables.lines.write.parquet("s3://claims-checked/2025/lines")

The input has the batch columns (``therabill.batch.readers.COLUMNS``; ``mapping`` renames others,
``OLD: "-"`` drops one). Rows are grouped into visits per input file, visits into patient-years;
Spark repartitions by patient-year and sorts each partition by group, file and row, and every
Python worker checks whole patient-years in date order with one ``Engine`` of its own (see
``therabill.spark.partition``). Nothing is broadcast: each worker loads the package's bundled
data (or ``THERABILL_DATA_DIR`` on that node) once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from therabill.batch.readers import IGNORE, InputError, _header
from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS, REJECT_COLUMNS
from therabill.spark.partition import (
    DATED,
    FILE,
    GROUP,
    OUTPUT_COLUMNS,
    PATIENT,
    ROW,
    TABLE,
    VISIT,
    YEAR,
    add_keys,
    check_partition,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["InputError", "Origin", "SparkTables", "check_lines", "read_claims",
           "table_schema"]


def table_schema(columns: tuple[tuple[str, str], ...]) -> StructType:
    """The Spark schema of a batch table (text, 64-bit integers, money as decimal(14, 2))."""
    from pyspark.sql.types import DecimalType, LongType, StringType, StructField, StructType

    kinds = {"str": StringType(), "int": LongType(), "money": DecimalType(14, 2)}
    return StructType([StructField(name, kinds[kind], True) for name, kind in columns])


@dataclass(frozen=True)
class SparkTables:
    """The three tables of a run. They share one cached computation (the check runs once
    whichever is written first); ``unpersist`` frees it when all are written."""

    lines: DataFrame
    findings: DataFrame
    rejects: DataFrame
    combined: DataFrame

    def counts(self) -> dict[str, int]:
        """Rows in each table (one pass over the cached computation)."""
        found = {row[0]: row[1] for row in self.combined.groupBy(TABLE).count().collect()}
        return {name: int(found.get(name, 0)) for name in ("lines", "findings", "rejects")}

    def unpersist(self) -> None:
        self.combined.unpersist()


def _prepared(frame: DataFrame, mapping: Mapping[str, str] | None, source: str,
              row_column: str | None, file_column: str | None) -> DataFrame:
    """The input's claim columns under therabill's names, with the file and row bookkeeping."""
    from pyspark.sql import functions as F

    mapping = dict(mapping or {})
    ours = {row_column, file_column} - {None}
    names = [name for name in frame.columns if name not in ours]
    columns = _header(Path(source), names, mapping)  # InputError for unknown or missing ones
    picked = [F.col(f"`{name}`").alias(renamed)
              for name, renamed in zip(names, columns, strict=True) if renamed != IGNORE]
    file = (F.col(f"`{file_column}`").cast("string") if file_column
            else F.lit(Path(source).name))
    row = (F.col(f"`{row_column}`").cast("long") if row_column
           else F.monotonically_increasing_id() + 1)
    return frame.select(*picked, file.alias(FILE), row.alias(ROW))


def default_partitions(spark: SparkSession) -> int:
    """Partitions of the two shuffles when not given: three per core of the cluster (the
    cached result keeps its partitions, so adaptive execution cannot shrink them later)."""
    try:
        cores = int(spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext
        cores = int(str(spark.conf.get("spark.sql.shuffle.partitions", "200"))) // 3
    return max(1, cores) * 3


def check_lines(frame: DataFrame, *, mapping: Mapping[str, str] | None = None,
                source: str = "input", row_column: str | None = None,
                file_column: str | None = None, partitions: int | None = None,
                persist: bool = True) -> SparkTables:
    """Check a DataFrame of service lines; returns the lines, findings and rejects tables.

    ``source`` names the input in rejects and notes; ``file_column`` and ``row_column`` (e.g.
    ``_metadata.file_name`` and ``_metadata.row_index`` + 1 of a Parquet read, as
    ``read_claims`` adds them) say where each row came from, so positions read as in the batch
    command. Without them rows are numbered in DataFrame order (not contiguously).
    ``partitions`` sets the partition count of the visit and patient-year shuffles (default:
    three per core, ``default_partitions``).
    ``InputError`` (one line) for columns therabill does not know or a file it cannot group."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    prepared = _prepared(frame, mapping, source, row_column, file_column)
    partitions = partitions or default_partitions(frame.sparkSession)
    keyed_schema = (StructType(list(prepared.schema.fields)).add(VISIT, "string")
                    .add(PATIENT, "string").add(YEAR, "long").add(DATED, "boolean"))
    # by visit first: the window below then needs no shuffle of its own
    keyed = prepared.mapInArrow(add_keys, keyed_schema).repartition(partitions, VISIT)
    # Every row takes its visit's patient and year: those of the visit's first row naming one
    # (as the batch reader fills a visit's fields from the first row that has them).
    visit = Window.partitionBy(VISIT)
    first_patient = F.min(F.when(F.col(PATIENT).isNotNull(),
                                 F.struct(F.col(ROW), F.col(PATIENT)))).over(visit)
    first_date = F.min(F.when(F.col(DATED), F.struct(F.col(ROW), F.col(YEAR)))).over(visit)
    patient = first_patient.getField(PATIENT)
    year = first_date.getField(YEAR)
    group = F.when(patient.isNotNull() & year.isNotNull(),
                   F.concat_ws("\x1f", F.lit("py"), patient, year.cast("string"))
                   ).otherwise(F.concat_ws("\x1f", F.lit("visit"), F.col(VISIT)))
    grouped = keyed.withColumn(GROUP, group).drop(VISIT, PATIENT, YEAR, DATED)
    ordered = grouped.repartition(partitions, GROUP).sortWithinPartitions(GROUP, FILE, ROW)
    combined = ordered.mapInArrow(check_partition, table_schema(OUTPUT_COLUMNS))
    if persist:
        combined = combined.persist(StorageLevel.MEMORY_AND_DISK)

    def table(name: str, columns: tuple[tuple[str, str], ...]) -> DataFrame:
        return combined.where(F.col(TABLE) == name).select(*(name for name, _ in columns))

    return SparkTables(table("lines", LINE_COLUMNS), table("findings", FINDING_COLUMNS),
                       table("rejects", REJECT_COLUMNS), combined)


class Origin(TypedDict, total=False):
    """The ``check_lines`` keywords naming the columns that say where a row came from."""

    file_column: str
    row_column: str


def read_claims(spark: SparkSession, path: str) -> tuple[DataFrame, Origin]:
    """A claims file or folder read by Spark (Parquet; CSV/TSV as text with a header), with
    each row's file name and number; returns the frame and the ``check_lines`` keywords."""
    from pyspark.sql import functions as F

    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        # CSV rows carry no row index in Spark: rows are numbered in read order instead
        frame = (spark.read.option("header", True).option("inferSchema", False)
                 .option("sep", "\t" if suffix == ".tsv" else ",").csv(path))
        frame = frame.withColumn("_tb_in_file", F.col("_metadata.file_name"))
        return frame, Origin(file_column="_tb_in_file")
    frame = spark.read.parquet(path)
    frame = frame.select("*", F.col("_metadata.file_name").alias("_tb_in_file"),
                         (F.col("_metadata.row_index") + 1).alias("_tb_in_row"))
    return frame, Origin(file_column="_tb_in_file", row_column="_tb_in_row")
