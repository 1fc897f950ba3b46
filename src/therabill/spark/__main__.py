"""Check a claims file on Spark: ``python -m therabill.spark INPUT OUTPUT``.

INPUT is a Parquet file or folder of service lines in the batch columns (``.csv``/``.tsv`` read
as text with a header), on any filesystem Spark reads (local, HDFS, S3, ABFS, DBFS). OUTPUT is a
folder that gets ``lines/``, ``findings/`` and ``rejects/``, each a Parquet dataset with the batch
command's columns. Run it with ``spark-submit`` (the cluster's master and settings apply) or with
plain Python (a local session on every core unless ``--master`` says otherwise):

    spark-submit --master yarn "$(python -m therabill.spark --path)" s3://in/ s3://out/
    python -m therabill.spark claims.parquet checked/ --master 'local[2]'
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from therabill.batch.readers import InputError, parse_mapping


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m therabill.spark", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?", help="Parquet file or folder (or .csv/.tsv)")
    parser.add_argument("output", nargs="?", help="folder for lines/, findings/, rejects/")
    parser.add_argument("--master", help="Spark master when not run by spark-submit "
                        "(default: the submitted one, else local[*])")
    parser.add_argument("--partitions", type=int, default=None,
                        help="partitions of the visit and patient-year shuffles "
                             "(default: three per core)")
    parser.add_argument("--map", action="append", default=[], metavar="OLD=NEW",
                        help="rename an input column (NEW of - drops it); repeatable")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUTPUT's tables if they exist")
    parser.add_argument("--path", action="store_true",
                        help="print this file's path (the script to give spark-submit)")
    return parser


def _session(master: str | None) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("therabill")
    # spark-submit starts the JVM first and hands the driver its gateway
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if master:
        builder = builder.master(master)
    elif not submitted and SparkSession.getActiveSession() is None:
        builder = builder.master("local[*]")
    if not submitted:
        # workers run the interpreter that runs this, with therabill installed
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return builder.getOrCreate()


def _say(text: str) -> None:
    print(f"therabill spark: {text}", file=sys.stderr, flush=True)


def _exists(spark: Any, path: str) -> bool:
    """Whether a path exists on the filesystem Spark writes to (False when it cannot tell:
    the write itself then refuses to replace it)."""
    try:
        jvm = spark.sparkContext._jvm
        hadoop = jvm.org.apache.hadoop.fs.Path(path)
        return bool(hadoop.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
                    .exists(hadoop))
    except Exception:
        return False


def run(spark: Any, source: str, target: str, *, mapping: dict[str, str] | None = None,
        partitions: int | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Read, check and write; returns the counts and seconds. ``InputError`` for bad input."""
    from therabill.spark import check_lines, read_claims

    started = time.perf_counter()
    names = ("lines", "findings", "rejects")
    if not overwrite:
        for name in names:
            if _exists(spark, f"{target.rstrip('/')}/{name}"):
                raise InputError(f"{target.rstrip('/')}/{name} exists; give --overwrite to "
                                 "replace the tables")
    frame, where = read_claims(spark, source)
    tables = check_lines(frame, mapping=mapping, source=source, partitions=partitions, **where)
    mode = "overwrite" if overwrite else "errorifexists"
    counts: dict[str, Any] = {}
    try:
        for name in names:
            _say(f"writing {name}" + (" (checking the visits first)" if name == "lines" else ""))
            getattr(tables, name).write.mode(mode).parquet(f"{target.rstrip('/')}/{name}")
        counts.update(tables.counts())
    finally:
        tables.unpersist()
    counts["seconds"] = round(time.perf_counter() - started, 3)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.path:
        print(os.path.abspath(__file__))
        return 0
    if not args.input or not args.output:
        _parser().print_usage(sys.stderr)
        _say("give INPUT and OUTPUT")
        return 2
    try:
        mapping = parse_mapping(args.map)
        spark = _session(args.master)
    except InputError as exc:
        _say(str(exc))
        return 2
    from pyspark.errors import AnalysisException

    try:
        counts = run(spark, args.input, args.output, mapping=mapping,
                     partitions=args.partitions, overwrite=args.overwrite)
    except InputError as exc:
        _say(str(exc))
        return 2
    except AnalysisException as exc:
        _say(str(exc).strip().splitlines()[0])
        return 2
    _say(f"{counts['lines']:,} claim lines, {counts['findings']:,} findings, "
         f"{counts['rejects']:,} rejects in {counts['seconds']:.1f} s; tables in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
