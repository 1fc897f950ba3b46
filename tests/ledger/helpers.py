"""Visits for the ledger tests: a PT visit of about $166 (2025, national) with KX on its lines,
so a year of them crosses the $2,410 KX threshold and the $3,000 review amount."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

LINES = (("97110", 45), ("97530", 30), ("97140", 30))


def visit(visit_id: str, day: date | str, patient: str = "p1", *, kx: bool = True,
          discipline: str = "PT", **extra: Any) -> dict[str, Any]:
    modifiers = ["KX"] if kx else []
    return {"visit_id": visit_id, "patient_id": patient, "date_of_service": str(day),
            "discipline": discipline,
            "lines": [{"code": code, "minutes": minutes, "modifiers": modifiers,
                       "discipline": discipline} for code, minutes in LINES], **extra}


def weekly(count: int, start: date = date(2025, 1, 6), prefix: str = "w",
           **extra: Any) -> list[dict[str, Any]]:
    return [visit(f"{prefix}{n:02d}", start + timedelta(weeks=n), **extra) for n in range(count)]
