"""Everything pricing needs for one day, place and clinician status, looked up once and reused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from therabill import sources
from therabill.decision import Decision
from therabill.memo import BoundedMemo, Caches, ObjectMemo
from therabill.payers.policy import PayerPolicy
from therabill.pricing.fee_schedule import NATIONAL, Gpcis
from therabill.reference.parameters import DatedValue
from therabill.reference.store import ReferenceData


class SplitLine:
    """A line's payment split, as pricing copies it onto every line with the same figures.
    (A plain class: compiled, its constructor is native; a frozen dataclass's is not.)"""

    deductible: Decimal  # the part of the allowed amount that went to the deductible
    coinsurance: Decimal
    assistant_reduction: Decimal
    sequestration: Decimal
    payer_paid: Decimal
    steps: tuple[Decision, ...]

    def __init__(self, deductible: Decimal, coinsurance: Decimal, assistant_reduction: Decimal,
                 sequestration: Decimal, payer_paid: Decimal,
                 steps: tuple[Decision, ...]) -> None:
        self.deductible = deductible
        self.coinsurance = coinsurance
        self.assistant_reduction = assistant_reduction
        self.sequestration = sequestration
        self.payer_paid = payer_paid
        self.steps = steps


@dataclass(frozen=True, slots=True)
class PriceDay:
    """The figures pricing reads for one day, place and setting. Days whose figures are the
    same objects share one PriceDay, and memo keys name it by ``serial`` (never reused by the
    engine), so what is worked out for one day serves the whole period."""

    conversion_factor: DatedValue | None
    gpcis: Gpcis | None
    gpci_release: str
    pe_paid_share: DatedValue | None
    coinsurance: DatedValue | None
    sequestration: DatedValue | None
    assistant_rate: DatedValue | None
    problems: tuple[str, ...]  # why pricing is impossible, in plain words (empty when fine)
    mppr_source: str = sources.CPM5_10_7  # the manual and the dated MPPR share
    serial: int = 0


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
               DatedValue | None, DatedValue | None]


def _dated_values(reference: ReferenceData, day: date, qualifying_apm: bool,
                  institutional: bool, cache: BoundedMemo[_Dated]) -> _Dated:
    """The dated parameters pricing reads, looked up once a date (whatever the locality):
    conversion factor, MPPR PE share, coinsurance, sequestration, assistant rate, work GPCI
    floor."""
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
             params.at("work_gpci_floor", day))
    return cache.put(key, found)


def price_day(reference: ReferenceData, caches: Caches, day: date, locality: str,
              qualifying_apm: bool, institutional: bool) -> PriceDay:
    cache: BoundedMemo[PriceDay] = caches.memo("pricing.days")
    key = (day, locality, qualifying_apm, institutional)
    found = cache.get(key)
    if found is not None:
        return found
    factor, share, coinsurance, sequestration, assistant, floor = _dated_values(
        reference, day, qualifying_apm, institutional, caches.memo("pricing.dated"))
    problems = []
    if factor is None:
        problems.append(f"no conversion factor is loaded for {day}")
    # Days whose factor, GPCIs and rates are the same objects share one PriceDay, so what is
    # worked out for one day (prices, explanations, splits) serves the whole period. The dated
    # values are held by the parameters for the reference's lifetime, so their ids are stable.
    content = (locality, day.year, id(factor), id(floor), id(share), id(coinsurance),
               id(sequestration), id(assistant))
    shared: BoundedMemo[PriceDay] = caches.memo("pricing.contents")
    found = shared.get(content) if not problems else None
    if found is None:
        gpcis, gpci_release, gpci_problem = _gpcis(reference, locality, day)
        if gpci_problem:
            problems.append(gpci_problem)
        mppr_source = (f"{sources.CPM5_10_7}; {share.source}" if share is not None
                       else sources.CPM5_10_7)
        found = PriceDay(factor, gpcis, gpci_release, share, coinsurance, sequestration,
                         assistant, tuple(problems), mppr_source, caches.serial())
        if not found.problems:
            shared.put(content, found)
    return cache.put(key, found)


def policy_key(policy: PayerPolicy, caches: Caches) -> int:
    """A number per policy object, for memo keys: two policy objects may share an id (an edited
    payer file reloaded) but must never share memoised prices; numbers are never reused."""
    keys: ObjectMemo[int] = caches.objects("pricing.policy_keys")
    key = keys.get(policy)
    if key is None:
        key = keys.put(policy, caches.serial())
    return key


def value_or(dated: DatedValue | None, default: Decimal) -> Decimal:
    return dated.value if dated is not None else default
