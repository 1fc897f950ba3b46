"""A patient's calendar year from the visits posted for it: running totals in date order.

Pure: the store hands over the posted visits (already in date-of-service order) and the year's
dated parameters; nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pydantic import TypeAdapter

from therabill.ledger.amounts import GROUPS, Group
from therabill.money import ZERO, cents
from therabill.reference.parameters import DatedValue, Parameters


@dataclass(frozen=True, slots=True)
class PostedVisit:
    """One posted visit as the year needs it (sums over its lines)."""

    visit_id: str
    date_of_service: date
    payer: str
    allowed: Decimal
    payer_paid: Decimal
    patient_owes: Decimal
    adds: dict[Group, Decimal]
    deductible: Decimal
    checked_ytd: dict[Group, Decimal]
    checked_deductible_remaining: Decimal
    counts_toward_threshold: bool
    applies_deductible: bool
    kx_on_lines: dict[Group, bool] = field(default_factory=dict)
    kx_denied: set[Group] = field(default_factory=set)  # groups with a line denied for no KX
    gave_ytd: bool = False          # the visit gave its own ytd_threshold_amount
    gave_deductible: bool = False   # and its own deductible_remaining


@dataclass(frozen=True, slots=True)
class YearParameters:
    kx_threshold: DatedValue | None
    review_threshold: DatedValue | None
    deductible: DatedValue | None

    @classmethod
    def of(cls, parameters: Parameters, year: int) -> YearParameters:
        day = date(year, 1, 1)
        return cls(parameters.at("kx_threshold", day),
                   parameters.at("targeted_review_threshold", day),
                   parameters.at("part_b_deductible", day))


@dataclass(slots=True)
class YearVisit:
    visit_id: str
    date_of_service: date
    payer: str
    allowed: Decimal
    payer_paid: Decimal
    patient_owes: Decimal
    adds: dict[Group, Decimal]
    running: dict[Group, Decimal]
    deductible: Decimal
    deductible_met: Decimal
    deductible_remaining: Decimal | None  # after this visit
    needs_kx: list[Group]           # groups whose running amount is over the KX threshold
    crosses_kx: list[Group]         # groups that go over the threshold with this visit
    passes_review: list[Group]      # groups that pass the targeted review amount with it
    kx_missing: list[Group]         # needs KX, but a line of that group was posted without it
    recheck: list[str]              # why the visit should be checked again, if it should


@dataclass(slots=True)
class YearView:
    patient_id: str
    year: int
    kx_threshold: Decimal | None
    review_threshold: Decimal | None
    deductible: Decimal | None
    visits: list[YearVisit]
    totals: dict[Group, Decimal]
    deductible_met: Decimal
    deductible_remaining: Decimal | None
    kx_first_needed: dict[Group, date | None]
    kx_first_needed_on: date | None  # the first date KX was needed, in either group
    review_passed: dict[Group, bool]
    sources: dict[str, str]
    notes: list[str]

    def needing_kx(self) -> set[str]:
        return {v.visit_id for v in self.visits if v.needs_kx}


def _zero() -> dict[Group, Decimal]:
    return dict.fromkeys(GROUPS, ZERO)


def build_year(patient_id: str, year: int, posted: list[PostedVisit],
               params: YearParameters) -> YearView:
    """Running PT/SLP and OT amounts and deductible, in the order given (date of service, then
    posting order), with where KX is needed and the review amount passed.

    A visit that gave its own year-to-date figures (amounts billed elsewhere, from the
    eligibility response) restarts the running figure from them; the others carry on from the
    visit before, and one checked with figures other than those is marked for re-checking.
    """
    kx = params.kx_threshold.value if params.kx_threshold else None
    review = params.review_threshold.value if params.review_threshold else None
    annual = cents(params.deductible.value) if params.deductible else None
    running = _zero()
    remaining = annual
    met = ZERO
    first_kx: dict[Group, date | None] = dict.fromkeys(GROUPS, None)
    passed = dict.fromkeys(GROUPS, False)
    rows = []
    for visit in posted:
        counts = visit.counts_toward_threshold
        recheck = []
        if counts and visit.gave_ytd:
            before = {g: visit.checked_ytd.get(g, ZERO) for g in GROUPS}
        else:
            before = dict(running)
            if counts and any(visit.checked_ytd.get(g, ZERO) != before[g] for g in GROUPS):
                recheck.append(
                    "checked with threshold amounts to date of "
                    + ", ".join(f"{g} {visit.checked_ytd.get(g, ZERO)}" for g in GROUPS)
                    + "; the ledger now has " + ", ".join(f"{g} {before[g]}" for g in GROUPS))
        running = {g: before[g] + visit.adds.get(g, ZERO) for g in GROUPS}
        if visit.applies_deductible:
            start = remaining
            if visit.gave_deductible:
                start = visit.checked_deductible_remaining
            elif start is not None and visit.checked_deductible_remaining != start:
                recheck.append(f"checked with {visit.checked_deductible_remaining} deductible "
                               f"remaining; the ledger now has {start}")
            if start is not None:
                remaining = max(start - visit.deductible, ZERO)
            met = (min(max(annual - remaining, ZERO), annual)
                   if annual is not None and remaining is not None else met + visit.deductible)
        needs = [g for g in GROUPS if kx is not None and counts
                 and ((visit.adds.get(g, ZERO) > 0 and running[g] > kx)
                      or g in visit.kx_denied)]
        crosses = [g for g in needs if before[g] <= kx] if kx is not None else []
        passes = [g for g in GROUPS if counts and review is not None
                  and before[g] <= review < running[g]]
        for group in needs:
            if first_kx[group] is None:
                first_kx[group] = visit.date_of_service
        for group in passes:
            passed[group] = True
        rows.append(YearVisit(
            visit.visit_id, visit.date_of_service, visit.payer, visit.allowed, visit.payer_paid,
            visit.patient_owes, dict(visit.adds), dict(running), visit.deductible, met,
            remaining, needs, crosses, passes,
            [g for g in needs if g in visit.kx_denied or not visit.kx_on_lines.get(g, False)],
            recheck))
    notes = []
    if kx is None:
        notes.append(f"no KX threshold is loaded for {year}: KX positions are not worked out")
    if annual is None:
        notes.append(f"no Part B deductible is loaded for {year}")
    notes.append("the deductible met counts the Medicare therapy visits posted to this ledger "
                 "and the figures visits gave themselves")
    if any(v.gave_ytd or v.gave_deductible for v in posted):
        notes.append("visits that gave their own year-to-date figures restart the running "
                     "amounts from them")
    sources = {name: f"{value.value} from {value.effective_from} ({value.source})"
               for name, value in (("kx_threshold", params.kx_threshold),
                                   ("targeted_review_threshold", params.review_threshold),
                                   ("part_b_deductible", params.deductible)) if value is not None}
    days = [day for day in first_kx.values() if day is not None]
    return YearView(
        patient_id, year, kx, review, annual, rows, dict(running), met, remaining, first_kx,
        min(days) if days else None, passed, sources, notes)


YEAR_ADAPTER: TypeAdapter[YearView] = TypeAdapter(YearView)
