"""Spark throughput: generated visits, Parquet in to Parquet out, on ``local[2]``, against
``therabill batch`` with two worker processes on the same file and the same two cores.

Run: ``.venv/bin/python bench/bench_spark.py --visits 1000000`` (the generated file, about 2.6
lines a visit from bench/claims_gen.py, is cached in ``--workdir``). Each side runs in a fresh
process. Spark's figure is split in two: the session start-up (JVM, session, a first one-row
job, so the Python workers are up) and the run proper (read, check, write the lines, findings and
rejects tables); visits a second are counted on the run proper. The batch side writes the same
tables (compact detail, no results file) from the same Parquet file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def source(workdir: Path, visits: int) -> Path:
    """The generated claims file as Parquet (text columns, as a CSV export would give)."""
    path = workdir / f"visits-{visits}.parquet"
    if not path.exists():
        import polars as pl

        sys.path.insert(0, str(HERE))
        from claims_gen import write

        text = workdir / f"visits-{visits}.csv"
        rows = write(text, visits, seed=21)
        pl.read_csv(text, infer_schema=False).write_parquet(path, row_group_size=65_536)
        text.unlink()
        print(f"generated {visits:,} visits ({rows:,} rows) in {path}", file=sys.stderr)
    return path


def session(master: str = "local[2]", memory: str = "2g") -> tuple[Any, float]:
    """A Spark session with its Python workers started; returns it and the seconds it took."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName("therabill-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", memory)
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(2).mapInArrow(lambda batches: batches, "id long").count()
    return spark, time.perf_counter() - started


def measure_spark(spark: Any, path: Path, out: Path, visits: int,
                  partitions: int | None = None) -> dict[str, float]:
    from therabill.spark.__main__ import run

    counts = run(spark, str(path), str(out), partitions=partitions, overwrite=True)
    seconds = float(counts["seconds"])
    return {"visits": visits, "lines": counts["lines"], "findings": counts["findings"],
            "seconds": seconds, "rate": visits / seconds}


def measure_batch(path: Path, out: Path, workers: int) -> dict[str, float]:
    from therabill.batch.pipeline import plan_outputs, run

    started = time.perf_counter()
    summary = run([path], plan_outputs(out, "parquet", "compact"), workers=workers)
    seconds = time.perf_counter() - started
    return {"visits": summary.visits, "lines": summary.lines, "findings": summary.findings,
            "seconds": seconds, "rate": summary.visits / seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/therabill-bench-spark"))
    parser.add_argument("--partitions", type=int, default=8,
                        help="partitions of the patient-year shuffle (default 8)")
    parser.add_argument("--once", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = source(args.workdir, args.visits)
    if args.once == "spark":
        spark, startup = session()
        figures = measure_spark(spark, path, args.workdir / "out-spark", args.visits,
                                args.partitions)
        figures["startup"] = startup
        spark.stop()
        print(json.dumps(figures))
        return 0
    if args.once == "batch":
        print(json.dumps(measure_batch(path, args.workdir / "out-batch", 2)))
        return 0
    runs = {}
    for name in ("batch", "spark"):
        done = subprocess.run([sys.executable, __file__, "--visits", str(args.visits),
                               "--workdir", str(args.workdir), "--partitions",
                               str(args.partitions), "--once", name],
                              check=False, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        runs[name] = figures = json.loads(done.stdout.strip().splitlines()[-1])
        label = "batch, 2 workers" if name == "batch" else "spark local[2]"
        print(f"{label:>16}: {figures['visits']:,} visits ({figures['lines']:,} lines, "
              f"{figures['findings']:,} findings) in {figures['seconds']:.1f} s = "
              f"{figures['rate']:,.0f} visits/s"
              + (f"; session start-up {figures['startup']:.1f} s apart" if name == "spark"
                 else ""))
    spark, batch = runs["spark"], runs["batch"]
    same = (spark["lines"], spark["findings"]) == (batch["lines"], batch["findings"])
    print(f"spark/batch throughput: {spark['rate'] / batch['rate']:.2f} "
          f"({'same' if same else 'DIFFERENT'} line and finding counts); "
          f"per core: spark {spark['rate'] / 2:,.0f}, batch {batch['rate'] / 2:,.0f} visits/s")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
