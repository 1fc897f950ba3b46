"""Facts the guide commands share: inputs, RVUs, Medicare prices, payer prices, NCCI pairs.

Every price is Medicare's fee schedule amount for one unit on one date of service and place:
(work × GPCI + PE × GPCI + MP × GPCI) × CF, with the RVU release, conversion factor and GPCIs in
force that day (CMS Pub 100-04 ch.12), and the therapy MPPR share of PE (ch.5 §10.7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from therabill import sources
from therabill.memo import Caches
from therabill.money import cents
from therabill.payers.policy import PayerPolicy, PolicyError, load_policies
from therabill.pricing.context import price_day
from therabill.pricing.fee_schedule import (
    Gpcis,
    UnitPrice,
    arithmetic,
    payer_unit_price,
    unit_price,
)
from therabill.pricing.mppr import mppr_applies
from therabill.reference.records import PtpEdit, RvuRecord, RvuRelease
from therabill.reference.store import ReferenceData
from therabill.rules.coverage import STATUS_MEANING

NATIONAL = "national"
PAYABLE_STATUSES = ("A", "R", "T")
# Meaning of each RVU status indicator (CMS PFS RVU file layout); the unpayable ones are the rules'.
STATUS_WORDS: dict[str, str] = {
    "A": "active: paid under the physician fee schedule",
    "R": "restricted coverage: special coverage instructions apply",
    "T": "paid only when no other fee-schedule service is billed that day by the same provider",
    "C": "carrier-priced: the Medicare contractor (MAC) sets the amount",
    **{status: words for status, (_, words) in STATUS_MEANING.items()},
}
NCCI_UNLOCK = "59, XE, XS, XP or XU"


class GuideError(ValueError):
    """A question the guide cannot answer; the message is one line for the user."""


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Sourced(Model):
    text: str
    source: str


# ------------------------------------------------------------------------------- inputs
def parse_code(text: str, reference: ReferenceData) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[0-9A-Z]{5}", code):
        raise GuideError(f"{text!r} is not a code: use 5 characters, e.g. 97140 or G0283")
    if code not in reference.known_codes:
        raise GuideError(
            f"unknown code {code}: it is outside the bundled tables, which hold only the "
            f"{len(reference.catalogue.codes())} therapy codes of the catalogue; to look up "
            "any code, import the full CMS national RVU file of the year, e.g. "
            "`therabill data import PPRRVU25_JAN.csv`")
    return code


def parse_day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise GuideError(f"--date must be YYYY-MM-DD, not {text!r}") from None


def held_years(reference: ReferenceData) -> tuple[int, int]:
    if not reference.rvu:
        raise GuideError("no CMS RVU file is loaded; run `therabill data info`")
    return reference.rvu[0].effective_from.year, reference.rvu[-1].effective_from.year


def rvu_release_for(reference: ReferenceData, day: date) -> RvuRelease:
    release = reference.rvu_release(day)
    if release is None:
        first, last = held_years(reference)
        raise GuideError(f"no CMS RVU file is held for {day}: therabill has {first}-01-01 to "
                         f"{last}-12-31 ({reference.rvu[0].release_id} to "
                         f"{reference.rvu[-1].release_id})")
    return release


def resolve_payer(payer_id: str) -> PayerPolicy:
    try:
        policies = load_policies()
    except PolicyError as exc:
        raise GuideError(f"a payer policy file does not load: {exc}") from None
    policy = policies.get(payer_id)
    if policy is None:
        raise GuideError(f"unknown payer {payer_id!r}: choose one of {', '.join(sorted(policies))}")
    return policy


class PayerRef(Model):
    id: str
    name: str
    kind: str


def payer_ref(policy: PayerPolicy) -> PayerRef:
    return PayerRef(id=policy.id, name=policy.name, kind=policy.kind)


# ------------------------------------------------------------------------------- RVUs
class Rvus(Model):
    work: Decimal
    pe_nonfacility: Decimal
    pe_facility: Decimal
    mp: Decimal
    total: Decimal  # non-facility: therapy is paid at the non-facility PE in every setting


class RvuEntry(Model):
    release: str
    effective_from: date
    status: str
    status_meaning: str
    not_used_for_medicare: bool
    rvus: Rvus
    mult_proc: str
    mppr_applies: bool
    source: str


def rvu_source(release: RvuRelease) -> str:
    return (f"CMS PFS national RVU file {release.release_id} ({release.source.file_name}, "
            f"{release.released})")


def rvus_of(record: RvuRecord) -> Rvus:
    return Rvus(work=record.work, pe_nonfacility=record.pe_nonfacility,
                pe_facility=record.pe_facility, mp=record.mp,
                total=record.work + record.pe_nonfacility + record.mp)


def rvu_entry(release: RvuRelease, code: str) -> RvuEntry | None:
    record = release.records.get((code, ""))
    if record is None:
        return None
    return RvuEntry(release=release.release_id, effective_from=release.effective_from,
                    status=record.status,
                    status_meaning=STATUS_WORDS.get(record.status, "see the RVU file layout"),
                    not_used_for_medicare=record.not_used_for_medicare, rvus=rvus_of(record),
                    mult_proc=record.mult_proc, mppr_applies=mppr_applies(record),
                    source=rvu_source(release))


# ------------------------------------------------------------------------------ prices
class Place(Model):
    locality: str
    name: str
    gpci_release: str | None
    work_gpci: Decimal
    pe_gpci: Decimal
    mp_gpci: Decimal
    note: str = ""  # the work GPCI floor, where it changed the published value
    source: str


class ConversionFactor(Model):
    value: Decimal
    effective_from: date
    source: str


class Dollars(Model):
    """One unit's dollars per RVU component after GPCI × CF (rounded to the cent for display)."""

    work: Decimal
    pe: Decimal
    mp: Decimal


class Price(Model):
    place: Place
    conversion_factor: ConversionFactor
    pe_paid_share: Decimal
    payable: bool
    full: Decimal | None  # one unit, PE paid in full
    reduced: Decimal | None  # one unit after the therapy MPPR (= full when it does not apply)
    mppr_applies: bool
    components: Dollars | None
    arithmetic: str
    note: str
    source: str


@dataclass(frozen=True, slots=True)
class DayTerms:
    """The pricing terms of one day and place: GPCIs, CF and the MPPR share of PE."""

    place: Place
    conversion_factor: ConversionFactor
    pe_paid_share: Decimal
    mppr_source: str
    gpcis: Gpcis


def day_terms(reference: ReferenceData, day: date, locality: str) -> DayTerms:
    """Look up the terms; an unknown locality or a day without a CF is a GuideError."""
    # A one-off look-up: a throwaway memo set (the guide answers one question at a time).
    priced = price_day(reference, Caches(), day, locality, qualifying_apm=False,
                       institutional=False)
    if priced.problems:
        raise GuideError(priced.problems[0])
    assert priced.gpcis is not None and priced.conversion_factor is not None
    gpcis, factor, share = priced.gpcis, priced.conversion_factor, priced.pe_paid_share
    if locality == NATIONAL:
        name, source = "national (GPCIs 1.000)", "national: no geographic adjustment"
    else:
        name = reference.locality_name(locality, day.year) or locality
        source = f"CMS {priced.gpci_release} (GPCIs of {day.year})"
    place = Place(locality=locality, name=name, gpci_release=priced.gpci_release or None,
                  work_gpci=gpcis.work, pe_gpci=gpcis.pe, mp_gpci=gpcis.mp, note=gpcis.floor_note,
                  source=source)
    cf = ConversionFactor(value=factor.value, effective_from=factor.effective_from,
                          source=factor.source)
    mppr_source = share.source if share else sources.CPM5_10_7
    return DayTerms(place, cf, share.value if share else Decimal(1), mppr_source, gpcis)


def price_code(reference: ReferenceData, release: RvuRelease, code: str, day: date,
               locality: str) -> Price:
    """Medicare's fee schedule amount for one unit of ``code`` on ``day`` at ``locality``."""
    terms = day_terms(reference, day, locality)
    place, cf, share, gpcis = (terms.place, terms.conversion_factor, terms.pe_paid_share,
                               terms.gpcis)
    record = release.records.get((code, ""))
    base = {"place": place, "conversion_factor": cf, "pe_paid_share": share}
    if record is None:
        return Price(**base, payable=False, full=None, reduced=None, mppr_applies=False,
                     components=None, arithmetic="",
                     note=f"{code} is not in {release.release_id}: no RVUs on this date",
                     source=rvu_source(release))
    if record.status not in PAYABLE_STATUSES:
        words = STATUS_WORDS.get(record.status, "not paid under the fee schedule")
        return Price(**base, payable=False, full=None, reduced=None, mppr_applies=False,
                     components=None, arithmetic="",
                     note=f"no Medicare fee schedule amount: status {record.status} ({words})",
                     source=f"{sources.RVU_STATUS} ({release.release_id})")
    unit = unit_price(record, gpcis, cf.value, share)
    reduces = mppr_applies(record)
    components = Dollars(work=cents(record.work * gpcis.work * cf.value),
                         pe=cents(record.pe_nonfacility * gpcis.pe * cf.value),
                         mp=cents(record.mp * gpcis.mp * cf.value))
    if reduces:
        note = f"MPPR: after the day's first unit, PE is paid at {share} ({terms.mppr_source})"
    else:
        note = f"outside the therapy MPPR (multiple procedure indicator {record.mult_proc})"
    if place.note:
        note += f"; {place.note}"
    return Price(**base, payable=True, full=unit.full,
                 reduced=unit.reduced if reduces else unit.full, mppr_applies=reduces,
                 components=components, arithmetic=arithmetic(record, gpcis, cf.value), note=note,
                 source=f"{sources.CPM12_FEE}; {rvu_source(release)}; CF: {cf.source}")


class PayerPrice(Model):
    payer: str
    basis: str
    full: Decimal | None
    reduced: Decimal | None
    text: str
    source: str


def payer_price(policy: PayerPolicy, code: str, medicare: Price) -> PayerPrice | None:
    """What a non-Medicare payer pays a unit, from its policy file (None for Medicare itself)."""
    pricing = policy.pricing
    if pricing.basis == "medicare_fee_schedule":
        return None
    # The engine's own function, so the guide and a checked visit can never disagree.
    base = (UnitPrice(medicare.full, medicare.reduced, Decimal(0))
            if medicare.full is not None and medicare.reduced is not None else None)
    price = payer_unit_price(pricing, code, base)
    full = reduced = None
    if price is None:
        text = f"{code} is not priced by {policy.name}"
    else:
        full, reduced = price.full, price.reduced if pricing.mppr else price.full
        text = (f"{pricing.percent_of_medicare}% of Medicare's amount at {medicare.place.name}"
                if pricing.basis == "percent_of_medicare" else "the plan's own fee table")
        text += "; MPPR applies" if pricing.mppr else "; no MPPR"
    return PayerPrice(payer=policy.id, basis=pricing.basis, full=full, reduced=reduced, text=text,
                      source=pricing.source)


# ------------------------------------------------------------------------------ NCCI
class PairEdit(Model):
    column_1: str
    column_2: str
    modifier_indicator: int
    unlock: str
    rationale: str


def unlock_words(edit: PtpEdit) -> str:
    if edit.modifier_indicator == 0:
        return (f"none: no modifier unlocks it; {edit.column_2} is not paid with "
                f"{edit.column_1} the same day")
    return (f"{NCCI_UNLOCK} on {edit.column_2}, only when the two were distinct services "
            "(separate time blocks or body regions) and the notes show it")


def pair_edit(edit: PtpEdit) -> PairEdit:
    return PairEdit(column_1=edit.column_1, column_2=edit.column_2,
                    modifier_indicator=edit.modifier_indicator, unlock=unlock_words(edit),
                    rationale=edit.rationale)


def edits_between(edits: tuple[PtpEdit, ...], day: date) -> list[PtpEdit]:
    return [edit for edit in edits if edit.in_force_on(day)]
