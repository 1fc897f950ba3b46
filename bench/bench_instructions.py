"""Instructions per checked visit, counted by valgrind's callgrind: a figure that does not move
with the machine's load, for comparing two versions of the engine (wall-clock rates on a shared
machine vary by a third from run to run).

Run: ``make bench-instructions`` (valgrind needed). Runs the same process twice under callgrind,
once checking ``--warm`` visits of one seed and once checking those and ``--visits`` more of
another, and divides the difference by ``--visits``: loading, generating and warming cancel
out, leaving what a warm engine spends per visit.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_checks(warm: int, visits: int) -> None:
    sys.path.insert(0, str(HERE))
    from bench_engine import generate

    from therabill.engine import Engine

    engine = Engine()
    measured = generate(visits, seed=7) if visits else []
    for visit in generate(warm, seed=1) + measured:
        engine.check(visit)


def count(warm: int, visits: int) -> int | None:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, __file__, "--child", "--visits", str(visits), "--warm",
               str(warm)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : ([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=1_300)
    parser.add_argument("--warm", type=int, default=3_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_checks(args.warm, args.visits)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    base = count(args.warm, 0)
    total = count(args.warm, args.visits)
    if base is None or total is None:
        return 1
    print(f"{(total - base) / args.visits:,.0f} instructions per checked visit "
          f"({args.visits:,} visits after {args.warm:,} warm-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
