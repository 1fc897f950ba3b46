"""Instructions per checked visit, counted by valgrind's callgrind: a figure that does not move
with the machine's load, for comparing two versions of the engine (wall-clock rates on a shared
machine vary by a third from run to run).

Run: ``make bench-instructions`` (the compiled build; valgrind needed). Counts only inside
``therabill.engine.check`` (its compiled entry point), over ``--warm`` visits of one seed and
``--visits`` of another, and divides by their number.
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

    from therabill.engine import check
    from therabill.payers.policy import load_policies
    from therabill.reference.store import default_reference

    reference, policies = default_reference(), load_policies()
    for visit in generate(warm, seed=1) + generate(visits, seed=7):
        check(visit, reference=reference, policies=policies)


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
    import therabill.engine

    if therabill.engine.__file__.endswith(".py"):
        print("the engine is not compiled (see `make test-compiled`): nothing to count",
              file=sys.stderr)
        return 2
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               "--toggle-collect=CPyPy_therabill___engine___check", sys.executable, __file__,
               "--child", "--visits", str(args.visits), "--warm", str(args.warm)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : ([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        print(done.stderr[-2000:], file=sys.stderr)
        return 1
    total = int(found.group(1).replace(",", ""))
    checked = args.visits + args.warm
    print(f"{total / checked:,.0f} instructions per checked visit ({checked:,} visits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
