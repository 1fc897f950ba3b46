"""Two clients posting visits for one patient at once never lose an update, on both back ends.

Every visit has the same date of service, so the year's order is the posting order and each
visit must have been checked with exactly the amounts of the visits posted before it. A writer
that read the year while another was between its read and its write would have been checked
with stale figures, which the ledger reports as a visit to re-check; none may appear.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from decimal import Decimal

from sqlalchemy import create_engine, select

from therabill.engine import Engine
from therabill.ledger import Ledger, schema
from therabill.ledger.database import resolve_url

from .helpers import visit

ENGINE = Engine()
PER_CLIENT = 6


def _post_all(url: str, client: str, engine: Engine | None = None) -> None:
    with Ledger(url, engine=engine) as ledger:
        for n in range(PER_CLIENT):
            ledger.check_and_post(visit(f"{client}-{n}", "2025-05-05"))


def _assert_nothing_lost(url: str, clients: list[str]) -> None:
    with Ledger(url, engine=ENGINE) as ledger:
        year = ledger.year("p1", 2025)
    ids = sorted(row.visit_id for row in year.visits)
    assert ids == sorted(f"{c}-{n}" for c in clients for n in range(PER_CLIENT))
    assert [row.visit_id for row in year.visits if row.recheck] == []
    # the running amount grows by each visit's own amount, in posting order
    running = Decimal(0)
    for row in year.visits:
        running += row.adds["pt_slp"]
        assert row.running["pt_slp"] == running
    assert year.totals["pt_slp"] == running > 0
    # the clients did interleave (else the test proves nothing about concurrency)
    order = [row.visit_id.split("-")[0] for row in year.visits]
    assert any(a != b for a, b in itertools.pairwise(order))
    engine = create_engine(resolve_url(url))
    with engine.connect() as conn:
        revision = conn.execute(select(schema.patients.c.revision)).scalar_one()
    engine.dispose()
    assert revision == len(clients) * PER_CLIENT


def test_two_threads_posting_for_one_patient(database_url: str):
    Ledger(database_url, engine=ENGINE).close()  # tables made before the race
    clients = ["a", "b"]
    start = threading.Barrier(len(clients))
    failures: list[BaseException] = []

    def run(client: str) -> None:
        try:
            start.wait()
            _post_all(database_url, client, ENGINE)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    _assert_nothing_lost(database_url, clients)


def test_two_processes_posting_for_one_patient(database_url: str):
    # No migration beforehand: both processes open a fresh database and migrate it at once.
    clients = ["p", "q"]
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_post_all, args=(database_url, c)) for c in clients]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0, 0]
    _assert_nothing_lost(database_url, clients)
