"""What the columnar path needs from the engine, as small tables keyed by date, place and code.

Every figure comes from the engine's own reference data, policies and pricing functions, worked
out once per distinct date, (date, locality) or code of the file: unit prices through
``pricing.engine.unit_price_for`` (so a price is the engine's to the cent), the dated rates
through the same look-ups the pricing steps make, and the NCCI tables through the rules' own
date logic. A day, place or code the path cannot settle exactly as the engine would (no fee
schedule, an unknown locality, a partial edit table, a code outside the plain set) simply has
no row, and its visits go to the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from therabill import sources
from therabill.decision import Decision
from therabill.engine import Engine
from therabill.money import ZERO
from therabill.payers.policy import PayerPolicy
from therabill.pricing.context import PriceDay, price_day, value_or
from therabill.pricing.engine import TWENTY_PERCENT, unit_price_for
from therabill.pricing.mppr import mppr_applies
from therabill.reference.records import PtpEdit, RvuRecord
from therabill.rules.assistant_step import assistant_source
from therabill.rules.coverage import STATUS_MEANING
from therabill.rules.ncci import edit_in_force, ncci_day
from therabill.vocabulary import NO_MINUTES_BASES

MEDICARE = "medicare"  # the payer of a visit that names none
RATE_SCALE = 1_000_000  # rates as whole millionths: exact for every published rate
PE_SCALE = 10_000  # PE RVUs as whole ten-thousandths


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """A code the path may check: how it is counted and what settling its modifier says."""

    code: str
    bit: int  # its place in a visit's code mask (NCCI pairs)
    timed: bool  # a 15-minute timed code (else untimed: one unit a day)
    evaluation: bool
    disciplines: tuple[str, ...]  # an evaluation's plans of care (empty: any)
    therapy_word: str  # "always" or "here", as the discipline-modifier finding says it


def policy_fits(policy: PayerPolicy | None) -> bool:
    """The payer settings the path reproduces: per-discipline units by the total-time or the
    per-code method, NCCI, discipline modifiers, its pricing from the fee schedule, a share
    of it or a fee table, and no published plan rules (one code a day, caps by discipline,
    massage terms, citations) beyond a combined daily cap and (up to ``MAX_PAIRS``) pairs
    it denies."""
    return (policy is not None and not policy.pool_disciplines and policy.ncci
            and policy.discipline_modifiers and policy.rules is None
            and len(policy.denied_pairs) <= MAX_PAIRS)


MAX_PAIRS = 1000  # a payer's own denied pairs the path words in order (more: the engine's)


MASK_BITS = 63  # a visit's codes as one 64-bit integer (NCCI pairs)


def countable_codes(engine: Engine, wanted: Iterable[str]) -> dict[str, CodeFacts]:
    """Of the codes ``wanted`` (a file's), those the path counts: therapy codes timed in 15
    minutes (not add-on pairs) or untimed, that the catalogue's Medicare notes leave payable
    to a therapist; each with its bit in a visit's code mask (at most ``MASK_BITS`` codes, the
    rest go to the engine)."""
    found: dict[str, CodeFacts] = {}
    for code in sorted(set(wanted)):
        info = engine.reference.catalogue.by_code.get(code)
        if info is None or info.therapy == "never" or len(found) == MASK_BITS:
            continue
        # a Medicare note that takes a therapist's line off the claim is the engine's to say
        medicare = info.medicare
        if medicare is not None and (medicare.not_payable_to_therapists
                                     or medicare.not_therapy_provider):
            continue
        basis = info.time.basis
        timed = basis == "timed" and (info.time.unit_minutes or 15) == 15
        if not timed and basis not in NO_MINUTES_BASES:
            continue
        found[code] = CodeFacts(code, len(found), timed, info.evaluation,
                                tuple(info.disciplines) if info.evaluation else (),
                                "always" if info.therapy == "always" else "here")
    return found


def code_facts(policy: PayerPolicy, countable: dict[str, CodeFacts]) -> dict[str, CodeFacts]:
    """The countable codes ``policy`` covers from a therapist."""
    barred = {rule.code for rule in policy.not_covered} | \
        {rule.code for rule in policy.replacements}
    return {code: facts for code, facts in countable.items()
            if code not in barred and policy.performer_allowed("therapist", code) is not None}


@dataclass(frozen=True, slots=True)
class PayerFacts:
    """How one payer's visits are checked on the path."""

    name: str
    cms_units: bool  # the total-time method (else per code)
    kx: bool  # keeps the therapy threshold, and so the patient's year (Medicare)
    deductible: bool  # applies a deductible (a payer without the year: none given, none)
    unit_cap: int | None  # timed units a day, combined
    assistant_modifiers: bool  # splits assistants' units onto CQ/CO lines


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What one date of service, place and payer settle for a visit."""

    price_key: int  # the payer, pricing period (day serial) and RVU release together
    kx_cents: int | None  # the KX threshold, for a payer that keeps it
    payer_share_ppm: int  # 1 - coinsurance, in millionths
    sequestration_ppm: int
    mppr: bool
    edits_key: int  # the NCCI tables of the date
    # Why the visit has no amounts (a locality the year's GPCI file does not hold), as the
    # engine says it; None when it is priced.
    unpriced: str | None = None
    kx_source: str = ""  # where the KX amount comes from, as a denial cites it
    assistant_ppm: int = RATE_SCALE  # what a CQ/CO line is paid of the payer's share
    de_minimis: str | None = None  # the assistant's share without CQ/CO (None before 2020)
    assistant_source: str = ""  # where a CQ/CO split comes from
    release_key: int = -1  # the RVU release of the date (codes' values: ties, caps)


@dataclass(frozen=True, slots=True)
class Price:
    full_cents: int
    reduced_cents: int
    pe: int  # PE RVUs × PE_SCALE (MPPR: the highest PE keeps its first unit whole)
    mppr: bool  # the code is inside the therapy MPPR


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _scaled(value: Decimal, scale: int) -> int | None:
    scaled = value * scale
    return int(scaled) if scaled == scaled.to_integral_value() else None


class Facts:
    """The engine's figures for the payers, dates, places and codes of one file, built on
    demand."""

    def __init__(self, engine: Engine, codes: Iterable[str]) -> None:
        self.engine = engine
        countable = countable_codes(engine, codes)
        self.policies = {name: policy for name, policy in engine.policies.items()
                         if policy_fits(policy)}
        self.codes = {name: code_facts(policy, countable)
                      for name, policy in self.policies.items()}
        self.bits = {code: 1 << facts.bit for code, facts in countable.items()}
        self.payers = {name: PayerFacts(
            name, policy.unit_method == "cms_total_time", policy.kx_threshold,
            policy.pricing.deductible,
            policy.unit_cap.timed_units_per_day if policy.unit_cap is not None else None,
            policy.assistant_modifiers)
            for name, policy in self.policies.items()}
        self.prices: dict[tuple[int, str], Price] = {}
        self.values: dict[tuple[int, str], int] = {}  # (release key, code): total RVUs
        self._releases: dict[str, int] = {}
        # codes a plan's fee table leaves out: the pricing step's warning (message, source)
        self.unlisted: dict[tuple[int, str], tuple[str, str]] = {}
        self._price_keys: dict[tuple[str, int, str], int] = {}
        self._edits: dict[date, int | None] = {}
        self._days: dict[tuple[date, str, str], DayFacts | None] = {}
        self.lock = threading.RLock()  # held while a day's figures are added or read
        self.tables: dict[str, Any] = {}  # frames made of these figures, kept while they hold
        # (edits key, column-2 code) -> the mask of column-1 codes whose edit is in force
        self.column_2: dict[tuple[int, str], int] = {}
        self.ptp: dict[tuple[int, str, str], PtpEdit] = {}  # (edits key, column 1, column 2)
        self.ptp_source: dict[int, str] = {}  # how the NCCI findings of an edits key cite it
        self.mue: dict[tuple[int, str], int] = {}

    def day(self, dos: date, locality: str, payer: str) -> DayFacts | None:
        """What the date, place and payer settle (None: the engine's), worked out once
        (under a lock: parts of a file are worked at once, and a new day adds prices)."""
        key = (dos, locality, payer)
        with self.lock:
            if key not in self._days:
                self._days[key] = self._day(dos, locality, payer)
            return self._days[key]

    def _day(self, dos: date, locality: str, payer: str) -> DayFacts | None:
        policy, reference = self.policies.get(payer), self.engine.reference
        if policy is None or not self.codes[payer]:
            return None
        release = reference.rvu_release(dos)
        if release is None:
            return None
        caches = self.engine.caches
        day = price_day(reference, caches, dos, locality, False, False)
        unpriced = None
        if day.problems and policy.pricing.basis != "fee_table":
            # only the one problem the path words as the engine does: the locality
            if len(day.problems) != 1 or "locality" not in day.problems[0] \
                    or day.conversion_factor is None:
                return None
            unpriced = day.problems[0]
        elif policy.pricing.basis != "fee_table" and (
                day.problems or day.conversion_factor is None or day.gpcis is None):
            return None  # (a fee table prices without them, and says nothing of them)
        params = reference.parameters
        kx = params.at("kx_threshold", dos) if policy.kx_threshold else None
        if policy.kx_threshold and (
                kx is None or params.at("part_b_deductible", date(dos.year, 1, 1)) is None):
            return None
        coinsurance = (policy.pricing.coinsurance if policy.pricing.coinsurance is not None
                       else value_or(day.coinsurance, TWENTY_PERCENT))
        sequestration = value_or(day.sequestration, ZERO) if policy.pricing.sequestration \
            else ZERO
        share = _scaled(Decimal(1) - coinsurance, RATE_SCALE)
        taken = _scaled(sequestration, RATE_SCALE)
        if share is None or taken is None or not 0 <= share <= RATE_SCALE:
            return None
        edits = self._edits_key(dos, policy)
        if edits is None:
            return None
        kx_source = f"{sources.CPM5_10_3}; {kx.source}" if kx is not None else ""
        de_minimis = params.at("assistant_de_minimis", dos)
        assistant = _scaled(value_or(day.assistant_rate, Decimal(1)), RATE_SCALE) \
            if policy.pricing.assistant_reduction else RATE_SCALE
        if assistant is None or not 0 <= assistant <= RATE_SCALE:
            return None
        helpers = (assistant, None if de_minimis is None else str(de_minimis.value),
                   "" if de_minimis is None else assistant_source(de_minimis),
                   self._release_key(release.release_id, release.records, payer))
        if unpriced is not None:
            return DayFacts(-1, _cents(kx.value) if kx is not None else None, share, taken,
                            False, edits, unpriced, kx_source, *helpers)
        key = (payer, day.serial, release.release_id)
        price_key = self._price_keys.get(key)
        if price_key is None:
            price_key = self._price_keys[key] = len(self._price_keys)
            self._fill_prices(price_key, release.records, day, policy, payer)
        return DayFacts(price_key, _cents(kx.value) if kx is not None else None, share, taken,
                        policy.mppr_on(dos) and day.pe_paid_share is not None, edits, None,
                        kx_source, *helpers)

    def _release_key(self, release_id: str, records: Mapping[tuple[str, str], RvuRecord],
                     payer: str) -> int:
        """A number for an RVU release, with its codes' total RVUs (× PE_SCALE) in
        ``values``: a tie for a unit, and a daily cap's cuts, go by them."""
        key = self._releases.get(release_id)
        if key is None:
            key = self._releases[release_id] = len(self._releases)
            for code in self.bits:
                rvu = records.get((code, ""))
                if rvu is None or rvu.status in STATUS_MEANING:
                    continue
                value = _scaled(rvu.work + rvu.pe_nonfacility + rvu.mp, PE_SCALE)
                if value is not None:
                    self.values[(key, code)] = value
        return key

    def deductible_cents(self, year: int) -> int | None:
        found = self.engine.reference.parameters.at("part_b_deductible", date(year, 1, 1))
        return None if found is None else _cents(found.value)

    def _fill_prices(self, price_key: int, records: Mapping[tuple[str, str], RvuRecord],
                     day: PriceDay, policy: PayerPolicy, payer: str) -> None:
        for code in self.codes[payer]:
            rvu = records.get((code, ""))
            if rvu is None or rvu.status in STATUS_MEANING:
                continue
            why: list[Decision] = []
            price = unit_price_for(code, rvu, day, policy, why)
            pe = _scaled(rvu.pe_nonfacility, PE_SCALE)
            if price is None and policy.pricing.basis == "fee_table" and len(why) == 1 \
                    and why[0].rule == "pricing.not_priced":
                self.unlisted[(price_key, code)] = (why[0].message, why[0].source)
            if price is None or pe is None:
                continue
            self.prices[(price_key, code)] = Price(_cents(price.full), _cents(price.reduced),
                                                   pe, mppr_applies(rvu))

    def _edits_key(self, dos: date, policy: PayerPolicy) -> int | None:
        """A number for the NCCI tables of a date (the same tables, the same conflicts), or
        None when the engine would say something about them (a missing or partial table)."""
        if not policy.ncci_on(dos):
            return None
        if dos in self._edits:
            return self._edits[dos]
        key: int | None = None
        ncci = ncci_day(self.engine.reference, dos, self.engine.caches.memo("rules.ncci.days"))
        if ncci.table is not None and not ncci.warnings:
            key = len(self._edits)
            bits = self.bits
            self.ptp_source[key] = ncci.table_source
            for (first, second), edits in ncci.table.by_pair.items():
                if first not in bits or second not in bits:
                    continue
                edit = edit_in_force(edits, dos)
                if edit is not None:
                    self.ptp[(key, first, second)] = edit
                    self.column_2[(key, second)] = (self.column_2.get((key, second), 0)
                                                    | bits[first])
            if ncci.mue is not None:
                for code in bits:
                    mue = ncci.mue.records.get(code)
                    if mue is not None:
                        self.mue[(key, code)] = mue.value
        self._edits[dos] = key
        return key


__all__ = ["CodeFacts", "DayFacts", "Facts", "PayerFacts", "Price",
           "policy_fits"]
