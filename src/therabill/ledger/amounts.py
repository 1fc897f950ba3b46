"""What one checked visit adds to the patient's year: threshold accrual and deductible applied.

This is the single place that reads money off a ``CheckResult`` for the ledger. Fields are read
by name and defensively: when claim lines carry their own ``threshold_amount`` and
``deductible`` figures, those are used; until then the accrual is the allowed amount of payable
lines by discipline group and the deductible is worked out the way pricing applies it (the
visit's remaining deductible taken line by line, on the lines whose steps show a deductible).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from therabill.model import CheckResult, ClaimLine
from therabill.money import ZERO, cents

Group = str  # "pt_slp" or "ot": the two KX threshold groups
GROUPS: tuple[Group, ...] = ("pt_slp", "ot")


@dataclass(frozen=True, slots=True)
class LineAmounts:
    position: int
    code: str
    units: int
    modifiers: tuple[str, ...]
    status: str
    discipline: str | None
    group: Group | None
    allowed: Decimal
    payer_paid: Decimal
    patient_owes: Decimal
    threshold_amount: Decimal
    deductible: Decimal
    kx_denied: bool  # denied because it needed KX and had none


@dataclass(frozen=True, slots=True)
class VisitAmounts:
    """A visit's lines with the money the ledger keeps, and their sums."""

    lines: tuple[LineAmounts, ...]

    def threshold(self, group: Group) -> Decimal:
        return sum((line.threshold_amount for line in self.lines if line.group == group), ZERO)

    @property
    def deductible(self) -> Decimal:
        return sum((line.deductible for line in self.lines), ZERO)


def group_of(discipline: str | None) -> Group | None:
    if discipline in ("PT", "SLP"):
        return "pt_slp"
    if discipline == "OT":
        return "ot"
    return None


def _money(value: object) -> Decimal:
    return cents(value) if isinstance(value, Decimal) else ZERO


def year_amounts(result: CheckResult, deductible_remaining: Decimal = ZERO,
                 *, counts_toward_threshold: bool = True,
                 applies_deductible: bool = True) -> VisitAmounts:
    """What ``result`` adds to the year: per line, its threshold accrual and deductible applied.

    ``deductible_remaining`` is what the visit was checked with; it is needed only while claim
    lines do not carry their own ``deductible``. A payer without the KX threshold accrues
    nothing toward it; one without a deductible applies none.
    """
    left = cents(deductible_remaining) if applies_deductible else ZERO
    lines = []
    for position, line in enumerate(result.lines):
        payable = line.status == "payable"
        allowed = _money(line.allowed)
        group = group_of(line.discipline)
        threshold = _own_figure(line, "threshold_amount")
        if threshold is None:
            threshold = allowed if payable and group is not None else ZERO
        deductible = _own_figure(line, "deductible")
        if deductible is None:
            deductible = ZERO
            if payable and left > 0 and _has_step(line.steps, "pricing.deductible"):
                deductible = min(left, allowed)
                left -= deductible
        lines.append(LineAmounts(
            position=position, code=line.code, units=line.units,
            modifiers=tuple(line.modifiers), status=line.status, discipline=line.discipline,
            group=group, allowed=allowed, payer_paid=_money(line.payer_paid),
            patient_owes=_money(line.patient_owes),
            threshold_amount=threshold if counts_toward_threshold else ZERO,
            deductible=deductible if applies_deductible else ZERO,
            kx_denied=line.status == "denied" and _has_step(line.steps, "threshold.kx")))
    return VisitAmounts(tuple(lines))


def _own_figure(line: ClaimLine, name: str) -> Decimal | None:
    value = getattr(line, name, None)
    return cents(value) if isinstance(value, Decimal) else None


def _has_step(steps: Iterable[object], rule: str) -> bool:
    return any(getattr(step, "rule", None) == rule for step in steps)
