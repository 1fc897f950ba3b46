"""The patient's year, stored: posted visits per patient, running KX threshold amounts and
deductible met in date-of-service order, in SQLite (default) or PostgreSQL.

Needs the ``ledger`` extra (SQLAlchemy, alembic, psycopg)::

    from therabill.ledger import Ledger

    with Ledger() as ledger:                       # SQLite file in the user data directory
        ledger.check_and_post({"visit_id": "v1", "patient_id": "p1", ...})
        print(ledger.year("p1", 2025).kx_first_needed_on)

Names are loaded on first use, so ``therabill`` without the extra still starts.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The environment variable naming the ledger's database (kept here: reading it needs no extra).
URL_ENV = "THERABILL_DATABASE_URL"

if TYPE_CHECKING:
    from therabill.ledger.amounts import LineAmounts, VisitAmounts, year_amounts
    from therabill.ledger.database import (
        LedgerError,
        LedgerUnavailable,
        UnknownVisit,
        default_path,
    )
    from therabill.ledger.store import DeleteOutcome, Ledger, PostOutcome, Prefill
    from therabill.ledger.year import YEAR_ADAPTER, YearView, YearVisit

_WHERE = {
    "LineAmounts": "amounts", "VisitAmounts": "amounts", "year_amounts": "amounts",
    "LedgerError": "database", "LedgerUnavailable": "database", "UnknownVisit": "database",
    "default_path": "database",
    "DeleteOutcome": "store", "Ledger": "store", "PostOutcome": "store", "Prefill": "store",
    "YEAR_ADAPTER": "year", "YearView": "year", "YearVisit": "year",
}

__all__ = [
    "URL_ENV", "YEAR_ADAPTER", "DeleteOutcome", "Ledger", "LedgerError", "LedgerUnavailable",
    "LineAmounts", "PostOutcome", "Prefill", "UnknownVisit", "VisitAmounts", "YearView",
    "YearVisit", "default_path", "year_amounts",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'therabill.ledger' has no attribute {name!r}")
    return getattr(import_module(f"therabill.ledger.{module}"), name)
