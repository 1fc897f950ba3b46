"""A patient's year across a claims file: the therapy threshold and the Part B deductible.

Visits of one patient in one calendar year are checked in date order. Each Medicare visit
(a payer whose policy applies the KX threshold) is given what the earlier visits in the file
accrued: ``ytd_threshold_amount`` (allowed amounts by discipline group, PT and SLP together, OT on
its own) and ``deductible_remaining`` (the year's Part B deductible, less what earlier visits put
toward it). A visit that states either value itself is taken at its word, and the accrual goes on
from there (a ledger's figure, say). Other payers' visits pass through unchanged: their
deductibles and limits are the contract's, not known here.

Used by the batch command and reusable elsewhere (one object per patient-year, no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from therabill.model import CheckResult
from therabill.money import ZERO

_GROUP = {"PT": "pt_slp", "SLP": "pt_slp", "OT": "ot"}


def discipline_group(discipline: str | None) -> str:
    """``pt_slp`` or ``ot``: the two therapy threshold amounts of a year."""
    return _GROUP.get(discipline or "PT", "pt_slp")


class PatientYear:
    """Year-to-date threshold amounts and deductible left for one patient in one year.

    ``prepare`` fills a visit's year-to-date fields before it is checked; ``record`` takes the
    checked result's amounts into the totals for the next visit.
    """

    __slots__ = ("deductible_left", "kx_payers", "ot", "pt_slp", "year")

    def __init__(self, year: int, part_b_deductible: Decimal | None,
                 kx_payers: frozenset[str]) -> None:
        self.year = year
        self.pt_slp = ZERO
        self.ot = ZERO
        # None when no deductible is loaded for the year: visits then keep their own value
        self.deductible_left = part_b_deductible
        self.kx_payers = kx_payers

    def applies(self, visit: Mapping[str, Any]) -> bool:
        return str(visit.get("payer", "medicare")) in self.kx_payers

    def prepare(self, visit: dict[str, Any]) -> dict[str, Any]:
        """The visit with this year's accrued amounts filled in (a new dict; the input is kept)."""
        if not self.applies(visit):
            return visit
        filled = dict(visit)
        given = visit.get("ytd_threshold_amount")
        if isinstance(given, Mapping):
            self.pt_slp = _amount(given.get("pt_slp"), self.pt_slp) or ZERO
            self.ot = _amount(given.get("ot"), self.ot) or ZERO
        filled["ytd_threshold_amount"] = {"pt_slp": str(self.pt_slp), "ot": str(self.ot)}
        if "deductible_remaining" in visit:
            self.deductible_left = _amount(visit["deductible_remaining"], self.deductible_left)
        elif self.deductible_left is not None:
            filled["deductible_remaining"] = str(self.deductible_left)
        return filled

    def record(self, visit: Mapping[str, Any], result: CheckResult) -> None:
        """Add a checked visit's allowed amounts and deductible to the year."""
        if not self.applies(visit):
            return
        left = self.deductible_left
        for line in result.lines:
            counted = getattr(line, "threshold_amount", None)
            if counted is None and line.status == "payable":
                counted = line.allowed
            if counted:
                if discipline_group(line.discipline) == "ot":
                    self.ot += counted
                else:
                    self.pt_slp += counted
            if left is not None and left > 0:
                left -= _deductible_taken(line, left)
        self.deductible_left = left


def _deductible_taken(line: Any, left: Decimal) -> Decimal:
    """What a line put toward the deductible: its ``deductible`` field where the result has
    one, else the amount its ``pricing.deductible`` step speaks of (the lesser of what was left
    and the line's allowed amount, the order the pricing applies)."""
    field = getattr(line, "deductible", None)
    if field is not None:
        return Decimal(field)
    allowed = line.allowed
    if allowed is None:
        return ZERO
    if any(step.rule == "pricing.deductible" for step in line.steps):
        return min(left, Decimal(allowed))
    return ZERO


def _amount(value: Any, fallback: Decimal | None) -> Decimal | None:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return fallback


def visit_year(visit: Any) -> int | None:
    """The calendar year of a visit's date of service (a mapping, or anything with ``get``),
    or None when it is not a date."""
    value = visit.get("date_of_service")
    if isinstance(value, date):
        return value.year
    try:
        return date.fromisoformat(str(value)).year
    except ValueError:
        return None
