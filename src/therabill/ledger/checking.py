"""The ledger beside ``therabill check``: a visit of a patient the ledger knows takes its
year-to-date figures from the ledger (unless it gives them), and its result says so.

Which ledger: ``check --ledger`` uses the configured one (``THERABILL_DATABASE_URL``, else the
default SQLite file); without the option, only a ledger named by ``THERABILL_DATABASE_URL`` is
used, so that a run never changes because a file happens to exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from therabill.decision import Decision, decide
from therabill.ledger import URL_ENV

if TYPE_CHECKING:
    from therabill.ledger.store import Ledger

SOURCE = "therabill ledger (the patient's visits posted this year)"


def ledger_in_use() -> bool:
    """Whether a ledger is configured (and the extra that reads it installed)."""
    return bool(os.environ.get(URL_ENV)) and find_spec("sqlalchemy") is not None


def open_ledger() -> Ledger:
    from therabill.ledger.store import Ledger

    return Ledger()


def prefilled(ledger: Ledger, visits: Iterable[Any], notes: list[list[Decision]]
              ) -> Iterator[Any]:
    """Each visit as the engine should check it, in order; ``notes`` gets, per visit yielded,
    the findings that say what came from the ledger (empty when nothing did). A visit the
    ledger cannot read goes on unchanged: the engine reports what is wrong with it."""
    from therabill.ledger.database import LedgerError

    for visit in visits:
        said: list[Decision] = []
        if isinstance(visit, dict) and visit.get("patient_id"):
            try:
                filled = ledger.prefill(visit)
            except (LedgerError, ValueError):
                filled = None
            if filled is not None and filled.notes:
                visit = filled.visit
                said = [decide("ledger.prefill", note, SOURCE, "info") for note in filled.notes]
        notes.append(said)
        yield visit


class LedgerChecker:
    """An engine whose ``check`` first fills a known patient's year-to-date figures from the
    ledger and adds the ``ledger.prefill`` findings: what the service checks with when a
    ledger's database is configured. The ledger is opened on first use."""

    def __init__(self, engine: Any, url: str | None) -> None:
        import threading

        self.engine = engine
        self._url = url
        self._ledger: Ledger | None = None
        self._opening = threading.Lock()

    def _open(self) -> Ledger:
        if self._ledger is None:
            with self._opening:
                if self._ledger is None:
                    from therabill.ledger.store import Ledger

                    self._ledger = Ledger(self._url, engine=self.engine)
        return self._ledger

    def check(self, visit: Any) -> Any:
        if not (isinstance(visit, dict) and visit.get("patient_id")):
            return self.engine.check(visit)
        notes: list[list[Decision]] = []
        (filled,) = prefilled(self._open(), [visit], notes)
        result = self.engine.check(filled)
        result.findings.extend(notes[0])
        return result
