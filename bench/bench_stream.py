"""Whole-process streaming of ``therabill check``: peak memory and time to the first result.

Run: ``.venv/bin/python bench/bench_stream.py`` (1,000,000 visits, about 200 MB of JSON Lines
written to a temporary folder and removed afterwards). It generates varied visits (three payers,
five localities, one to five lines, a quarter of dates; one record in a thousand malformed),
runs ``python -m therabill check FILE --format json --detail D`` as a child process reading its
output through a pipe, and reports for each detail: when the first result line arrived, the
whole run's time and rate, the output size and the child's peak resident memory (from
``wait4``). A one-visit run first gives the start-up cost in CPU seconds, which a busy shared
machine does not inflate as it does wall time. Targets: peak under 300 MB and the first result
within a second (wall); the script exits non-zero when a run misses one, or when the result
count is not the visit count.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMED = ("97110", "97112", "97116", "97140", "97530", "97535", "97124", "97035", "97032")
UNTIMED = ("97161", "97162", "97164", "G0283", "97012", "97150")
LOCALITIES = ("national", "10112-00", "01182-18", "13282-99", "02102-01")
PAYERS = ("medicare", "medicare", "medicare", "commercial-cpt", "commercial-mppr")


def write_visits(path: Path, count: int, seed: int = 11) -> int:
    """Write ``count`` JSON Lines records (one in a thousand malformed); returns the bytes."""
    rng = random.Random(seed)
    size = 0
    with path.open("w", encoding="utf-8") as out:
        batch: list[str] = []
        for n in range(count):
            if n % 1000 == 999:
                batch.append(f'{{"visit_id": "broken-{n}", "date_of_service": ')
                continue
            lines = []
            for code in rng.sample(TIMED, rng.randint(1, 4)):
                minutes = rng.randint(5, 40)
                assistant = ', "assistant_minutes": 10' if minutes >= 10 and \
                    rng.random() < 0.2 else ""
                lines.append(f'{{"code": "{code}", "minutes": {minutes}{assistant}}}')
            if rng.random() < 0.3:
                lines.append(f'{{"code": "{rng.choice(UNTIMED)}"}}')
            batch.append(
                f'{{"visit_id": "v{n}", "patient_id": "p{n % 9973}", "date_of_service": '
                f'"2025-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}", "payer": '
                f'"{rng.choice(PAYERS)}", "locality": "{rng.choice(LOCALITIES)}", '
                f'"lines": [{", ".join(lines)}]}}')
            if len(batch) >= 10_000:
                text = "\n".join(batch) + "\n"
                size += out.write(text)
                batch.clear()
        if batch:
            size += out.write("\n".join(batch) + "\n")
    return size


def run(path: Path, detail: str) -> dict[str, float]:
    """One child process over the file; its output is read and counted, not kept."""
    command = [sys.executable, "-m", "therabill", "check", str(path), "--format", "json",
               "--detail", detail]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    first = -1.0
    results = 0
    output = 0
    tail = b""
    while True:
        chunk = child.stdout.read1(1 << 16)
        if not chunk:
            break
        if first < 0:
            first = time.perf_counter() - started
        output += len(chunk)
        text = tail + chunk
        results += text.count(b'"visit_id"')
        tail = text[-16:]
        results -= tail.count(b'"visit_id"')
    results += tail.count(b'"visit_id"')
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"therabill check failed ({child.returncode}): {stderr.decode()}")
    return {"first": first, "seconds": elapsed, "results": results, "output": output,
            "peak_mb": usage.ru_maxrss * 1024 / 1e6, "cpu": usage.ru_utime + usage.ru_stime,
            "summary": stderr.decode().strip()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--details", default="lines",
                        help="comma-separated details to run (full, lines, totals)")
    parser.add_argument("--max-peak-mb", type=float, default=300.0)
    parser.add_argument("--max-first-seconds", type=float, default=1.0)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="therabill-bench-") as folder:
        path = Path(folder) / "visits.jsonl"
        started = time.perf_counter()
        size = write_visits(path, args.visits)
        print(f"wrote {args.visits:,} visits ({size / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        one = Path(folder) / "one.jsonl"
        write_visits(one, 1)
        alone = run(one, "lines")
        print(f"one visit: result after {alone['first']:.2f} s wall, the whole process "
              f"{alone['cpu']:.2f} s CPU (start-up: imports, reference data, one check)")
        for detail in args.details.split(","):
            got = run(path, detail)
            print(f"--detail {detail}: first result after {got['first']:.2f} s; "
                  f"{args.visits:,} visits in {got['seconds']:.1f} s "
                  f"({args.visits / got['seconds']:,.0f} visits/s; CPU {got['cpu']:.1f} s, "
                  f"{args.visits / got['cpu']:,.0f} visits per CPU-second); "
                  f"output {got['output'] / 1e6:,.0f} MB; peak RSS {got['peak_mb']:.0f} MB")
            print(f"  {got['summary']}")
            # compact JSON Lines also hold a header and data records: count results only
            if got["results"] != args.visits:
                print(f"  FAIL: {got['results']:,} results for {args.visits:,} visits",
                      file=sys.stderr)
                failed = True
            if got["peak_mb"] > args.max_peak_mb:
                print(f"  FAIL: peak {got['peak_mb']:.0f} MB over {args.max_peak_mb:.0f} MB",
                      file=sys.stderr)
                failed = True
            if got["first"] > args.max_first_seconds:
                print(f"  FAIL: first result after {got['first']:.2f} s, over "
                      f"{args.max_first_seconds} s", file=sys.stderr)
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
