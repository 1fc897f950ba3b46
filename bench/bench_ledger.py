"""How fast the ledger posts checked visits and answers a patient's year.

Generates weekly PT visits for a number of patients (dates in date order per patient, so no
visit is late), posts them with ``Ledger.check_and_post`` (fill from the ledger, check, post,
one transaction each) from one or more client threads, then reads every patient's year. Prints
posts per second and the year's median and 99th-percentile latency. Bounded: at most
``--visits`` posts. The default database is a SQLite file in a temporary directory; ``--url``
gives another (a PostgreSQL database that may be emptied: its ledger tables are dropped first).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from therabill.engine import Engine
from therabill.ledger import Ledger

LINES = (("97110", 45), ("97530", 30), ("97140", 30))


def visits_of(patient: int, count: int) -> list[dict[str, object]]:
    start = date(2025, 1, 6)
    return [{"visit_id": f"v{patient}-{n}", "patient_id": f"p{patient}",
             "date_of_service": str(start + timedelta(days=3 * n)),
             "lines": [{"code": code, "minutes": minutes, "modifiers": ["KX"]}
                       for code, minutes in LINES]} for n in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=2000)
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--clients", type=int, default=2, help="posting threads")
    parser.add_argument("--url", default=None, help="database URL (default: temporary SQLite)")
    args = parser.parse_args()
    if args.visits < 1 or args.patients < 1 or args.clients < 1:
        print("error: --visits, --patients and --clients must be at least 1", file=sys.stderr)
        return 2
    engine = Engine()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        ledger = Ledger(url, engine=engine)
        ledger.downgrade("base")
        ledger.upgrade()
        per_patient = max(1, args.visits // args.patients)
        work = [visits_of(p, per_patient) for p in range(args.patients)]
        # each client posts whole patients, so a patient's visits stay in date order
        shares = [work[i::args.clients] for i in range(args.clients)]
        total = sum(len(w) for w in work)

        def post(share: list[list[dict[str, object]]]) -> None:
            for patient in share:
                for raw in patient:
                    ledger.check_and_post(raw)

        threads = [threading.Thread(target=post, args=(s,)) for s in shares]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        latencies = []
        for p in range(args.patients):
            t0 = time.perf_counter()
            ledger.year(f"p{p}", 2025)
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"{ledger.backend}: {total:,} visits of {args.patients} patients posted by "
              f"{args.clients} client(s) in {elapsed:.1f} s: {total / elapsed:,.0f} posts/s")
        print(f"year of a patient ({per_patient} visits): median "
              f"{statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms")
        ledger.downgrade("base")
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
