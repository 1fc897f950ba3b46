"""End-to-end batch throughput: a generated CSV claims file to Parquet tables (compact detail),
with one and two worker processes, against the floor of reading and writing the same files with
polars and no engine.

Run: ``.venv/bin/python bench/bench_batch.py --visits 100000`` (or with the compiled build's
python, ``.venv-fast/bin/python``, after ``make bench``). Each configuration runs in a fresh
process; the figures are wall-clock seconds from opening the CSV to the renamed outputs, visits
a second, peak resident memory (the main process, and the largest worker beside it), and the CPU
seconds of the main process and of the workers (steadier than wall-clock time on a shared
machine: with N workers on an idle machine the run takes about the larger of the main process's
CPU time and the workers' divided by N).
The generated file (bench/claims_gen.py: about 2.6 lines a visit, mixed payers, localities,
assistants and evaluations, dates over two years) is cached in ``--workdir``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class WorkerPeaks(threading.Thread):
    """Samples the worker processes' own high-water mark (VmHWM in /proc, Linux): the peak
    that getrusage gives for children also counts the parent's pages at the moment of the fork
    that starts them, before they exec a fresh interpreter."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for child in multiprocessing.active_children():
                try:
                    status = Path(f"/proc/{child.pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))


def measure_batch(path: Path, out: Path, workers: int, columnar: bool = True
                  ) -> dict[str, float]:
    from therabill.batch.pipeline import plan_outputs, run

    peaks = WorkerPeaks()
    peaks.start()
    started, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    summary = run([path], plan_outputs(out, "parquet", "compact"), workers=workers,
                  columnar=columnar)
    seconds = time.perf_counter() - started
    peaks.done.set()
    peaks.join()
    return {"visits": summary.visits, "lines": summary.lines, "seconds": seconds,
            "rate": summary.visits / seconds, "peak_mib": _peak_mib(resource.RUSAGE_SELF),
            "worker_peak_mib": peaks.peak_kib / 1024, "columnar": summary.columnar,
            "cpu_main": _cpu(resource.RUSAGE_SELF) - cpu,
            "cpu_workers": _cpu(resource.RUSAGE_CHILDREN)}


def measure_floor(path: Path, out: Path) -> dict[str, float]:
    """Polars alone: read the CSV, write one Parquet file of the same rows (no engine)."""
    import polars as pl

    started, cpu = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    frame = pl.read_csv(path, infer_schema=False)
    out.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out / "floor.parquet", compression="zstd")
    seconds = time.perf_counter() - started
    visits = frame["visit_id"].n_unique()
    return {"visits": visits, "lines": frame.height, "seconds": seconds,
            "rate": visits / seconds, "peak_mib": _peak_mib(resource.RUSAGE_SELF),
            "worker_peak_mib": 0.0, "cpu_main": _cpu(resource.RUSAGE_SELF) - cpu,
            "cpu_workers": 0.0, "columnar": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/therabill-bench-batch"))
    parser.add_argument("--workers", default="1,2", help="worker counts to run (default 1,2)")
    parser.add_argument("--plain", action="store_true",
                        help="common Medicare visits only (claims_gen --plain)")
    parser.add_argument("--engine-only", action="store_true",
                        help="every visit through the engine (no columnar path)")
    parser.add_argument("--once", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / f"visits-{args.visits}{'-plain' if args.plain else ''}.csv"
    if args.once:
        target = args.workdir / f"out-{args.once}"
        figures = (measure_floor(source, target) if args.once == "floor"
                   else measure_batch(source, target, int(args.once), not args.engine_only))
        print(json.dumps(figures))
        return 0
    if not source.exists():
        sys.path.insert(0, str(HERE))
        from claims_gen import write

        rows = write(source, args.visits, seed=21, plain=args.plain)
        print(f"generated {args.visits:,} visits ({rows:,} rows) in {source}")
    runs = {}
    for name in ("floor", *args.workers.split(",")):
        flags = [*(["--plain"] if args.plain else []),
                 *(["--engine-only"] if args.engine_only else [])]
        done = subprocess.run([sys.executable, __file__, "--visits", str(args.visits),
                               "--workdir", str(args.workdir), "--once", name, *flags],
                              check=True, capture_output=True, text=True)
        runs[name] = figures = json.loads(done.stdout.strip().splitlines()[-1])
        label = "polars floor" if name == "floor" else f"{name} worker(s)"
        extra = (f", largest worker {figures['worker_peak_mib']:.0f} MiB"
                 if figures["worker_peak_mib"] else "")
        print(f"{label:>14}: {figures['visits']:,} visits ({figures['lines']:,} lines) in "
              f"{figures['seconds']:.2f} s = {figures['rate']:,.0f} visits/s; peak "
              f"{figures['peak_mib']:.0f} MiB{extra}; CPU {figures['cpu_main']:.1f} s main + "
              f"{figures['cpu_workers']:.1f} s workers; {figures['columnar']:,} visits by the "
              "columnar path")
    floor = runs["floor"]["seconds"]
    floor_cpu = runs["floor"]["cpu_main"]
    for name, figures in runs.items():
        if name != "floor":
            cpu = figures["cpu_main"] + figures["cpu_workers"]
            print(f"{name} worker(s): {figures['seconds'] / floor:,.0f}x the floor's time, "
                  f"{cpu / floor_cpu:,.0f}x its CPU time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
