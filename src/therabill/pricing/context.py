"""Everything pricing needs for one day, place and clinician status, looked up once and reused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from therabill import sources
from therabill.decision import Decision
from therabill.memo import BoundedMemo, ObjectMemo, memo_on
from therabill.model import DataUsed
from therabill.payers.policy import PayerPolicy
from therabill.pricing.fee_schedule import NATIONAL, Gpcis, UnitPrice
from therabill.reference.parameters import DatedValue
from therabill.reference.store import ReferenceData


class SplitLine:
    """A line's payment split, as pricing copies it onto every line with the same figures.
    (A plain class: compiled, its constructor is native; a frozen dataclass's is not.)"""

    payer_paid: Decimal
    patient_owes: Decimal
    reductions: Decimal
    deductible: Decimal  # the part of the allowed amount that went to the deductible
    steps: tuple[Decision, ...]

    def __init__(self, payer_paid: Decimal, patient_owes: Decimal, reductions: Decimal,
                 deductible: Decimal, steps: tuple[Decision, ...]) -> None:
        self.payer_paid = payer_paid
        self.patient_owes = patient_owes
        self.reductions = reductions
        self.deductible = deductible
        self.steps = steps


@dataclass(frozen=True, slots=True)
class PriceDay:
    conversion_factor: DatedValue | None
    gpcis: Gpcis | None
    gpci_release: str
    pe_paid_share: DatedValue | None
    coinsurance: DatedValue | None
    sequestration: DatedValue | None
    assistant_rate: DatedValue | None
    problems: tuple[str, ...]  # why pricing is impossible, in plain words (empty when fine)
    kx_threshold: DatedValue | None = None
    review_threshold: DatedValue | None = None
    mppr_source: str = sources.CPM5_10_7  # the manual and the dated MPPR share
    # What pricing works out once per day, place and payer, reused by every visit of that day
    # (batch files repeat days a lot): one table per kind of result, keyed by what it depends on.
    # The data summary, by policy (``policy_key``).
    data_memo: dict[int, DataUsed] = field(default_factory=dict, compare=False, repr=False)
    # A code's unit price and the steps explaining it, by (policy key, code, id of its RVU
    # record).
    price_memo: dict[tuple[int, str, int], tuple[UnitPrice | None, tuple[Decision, ...]]] = \
        field(default_factory=dict, compare=False, repr=False)
    # An MPPR step, by its kind and the figures in its text.
    note_memo: dict[tuple[object, ...], Decision] = field(default_factory=dict, compare=False,
                                                          repr=False)
    # A line's payment split and its steps, by the amounts and rates it depends on.
    share_memo: dict[tuple[object, ...], SplitLine] = \
        field(default_factory=dict, compare=False, repr=False)


def _gpcis(reference: ReferenceData, locality: str, day: date) -> tuple[Gpcis | None, str, str]:
    if locality == "national":
        return NATIONAL, "", ""
    release = reference.gpci_release(day)
    if release is None:
        return None, "", f"no GPCI file is loaded for {day.year}"
    record = release.records.get(locality)
    if record is None:
        return None, release.release_id, (
            f"locality {locality!r} is not in {release.release_id}; use MAC-locality as in the "
            "CMS GPCI file, e.g. 10112-00 (Alabama) or 01182-18 (Los Angeles)")
    work = record.work
    floor = reference.parameters.at("work_gpci_floor", day)
    floor_note = ""
    published_below_floor = floor is not None and work < floor.value
    if floor is not None and published_below_floor:
        floor_note = (f"work GPCI {work} raised to the {floor.value} floor ({floor.source})")
        work = floor.value
    elif floor is None and record.work_unfloored is not None:
        work = record.work_unfloored
        floor_note = f"no work GPCI floor in force; unfloored work GPCI {work} used"
    label = f"{record.locality_id} {record.name} ({release.release_id})"
    return Gpcis(work, record.pe, record.mp, label, floor_note), release.release_id, ""


_Dated = tuple[DatedValue | None, DatedValue | None, DatedValue | None, DatedValue | None,
               DatedValue | None, DatedValue | None, DatedValue | None, DatedValue | None]


def _dated_values(reference: ReferenceData, day: date, qualifying_apm: bool,
                  institutional: bool) -> _Dated:
    """The dated parameters pricing reads, looked up once a date (whatever the locality):
    conversion factor, MPPR PE share, coinsurance, sequestration, assistant rate, work GPCI
    floor, KX threshold, targeted review amount."""
    cache: BoundedMemo[_Dated] = memo_on(reference, "_price_dated")
    key = (day, qualifying_apm, institutional)
    found = cache.get(key)
    if found is not None:
        return found
    params = reference.parameters
    factor = None
    if qualifying_apm:
        factor = params.at("conversion_factor_qualifying_apm", day)
    if factor is None:
        factor = params.at("conversion_factor", day)
    share_name = ("therapy_mppr_pe_paid_institutional" if institutional
                  else "therapy_mppr_pe_paid_professional")
    found = (factor, params.at(share_name, day), params.at("coinsurance_rate", day),
             params.at("sequestration_rate", day), params.at("assistant_payment_rate", day),
             params.at("work_gpci_floor", day), params.at("kx_threshold", day),
             params.at("targeted_review_threshold", day))
    return cache.put(key, found)


def price_day(reference: ReferenceData, day: date, locality: str, qualifying_apm: bool,
              institutional: bool) -> PriceDay:
    cache: BoundedMemo[PriceDay] = memo_on(reference, "_price_days")
    key = (day, locality, qualifying_apm, institutional)
    found = cache.get(key)
    if found is not None:
        return found
    factor, share, coinsurance, sequestration, assistant, floor, kx, review = _dated_values(
        reference, day, qualifying_apm, institutional)
    problems = []
    if factor is None:
        problems.append(f"no conversion factor is loaded for {day}")
    # Days whose factor, GPCIs and rates are the same objects share one PriceDay, so what is
    # worked out for one day (prices, explanations, splits) serves the whole period. The dated
    # values are held by the parameters for the reference's lifetime, so their ids are stable.
    content = (locality, day.year, id(factor), id(floor), id(share), id(coinsurance),
               id(sequestration), id(assistant), id(kx), id(review))
    shared: BoundedMemo[PriceDay] = memo_on(reference, "_price_contents")
    found = shared.get(content) if not problems else None
    if found is None:
        gpcis, gpci_release, gpci_problem = _gpcis(reference, locality, day)
        if gpci_problem:
            problems.append(gpci_problem)
        mppr_source = (f"{sources.CPM5_10_7}; {share.source}" if share is not None
                       else sources.CPM5_10_7)
        found = PriceDay(factor, gpcis, gpci_release, share, coinsurance, sequestration,
                         assistant, tuple(problems), kx, review, mppr_source)
        if not found.problems:
            shared.put(content, found)
    return cache.put(key, found)


# A number per policy object, for memo keys: two policy objects may share an id (an edited
# payer file reloaded) but must never share memoised prices. Numbers are never reused, so
# clearing the table cannot make a stale memo entry match.
_POLICY_KEYS: ObjectMemo[int] = ObjectMemo(limit=1_000)
_NEXT_POLICY_KEY = [0]


def policy_key(policy: PayerPolicy) -> int:
    key = _POLICY_KEYS.get(policy)
    if key is None:
        _NEXT_POLICY_KEY[0] += 1
        key = _POLICY_KEYS.put(policy, _NEXT_POLICY_KEY[0])
    return key


def value_or(dated: DatedValue | None, default: Decimal) -> Decimal:
    return dated.value if dated is not None else default
