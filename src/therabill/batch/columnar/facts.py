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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from therabill.engine import Engine
from therabill.money import ZERO
from therabill.payers.policy import PayerPolicy
from therabill.pricing.context import PriceDay, price_day, value_or
from therabill.pricing.engine import TWENTY_PERCENT, unit_price_for
from therabill.pricing.mppr import mppr_applies
from therabill.reference.records import RvuRecord
from therabill.rules.coverage import STATUS_MEANING
from therabill.rules.ncci import _edit_in_force, _ncci_day
from therabill.vocabulary import DISCIPLINE_MODIFIER, NO_MINUTES_BASES

PAYER = "medicare"
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
    """The payer settings the path reproduces: Medicare's fee schedule, total-time units per
    discipline, NCCI, discipline modifiers, no published plan rules or caps of its own."""
    return (policy is not None and policy.unit_method == "cms_total_time"
            and not policy.pool_disciplines and policy.ncci and policy.discipline_modifiers
            and policy.kx_threshold and policy.rules is None
            and getattr(policy, "unit_cap", None) is None
            and policy.pricing.basis == "medicare_fee_schedule" and policy.pricing.deductible
            and policy.pricing.coinsurance is None and not policy.not_covered
            and not policy.replacements)


MASK_BITS = 63  # a visit's codes as one 64-bit integer (NCCI pairs)


def code_facts(engine: Engine, wanted: Iterable[str]) -> dict[str, CodeFacts]:
    """Of the codes ``wanted`` (a file's), those a therapist may bill Medicare that the path
    counts: therapy codes timed in 15 minutes (not add-on pairs) or untimed, that the
    catalogue's Medicare notes leave payable to a therapist. At most ``MASK_BITS`` of them;
    the rest go to the engine."""
    policy = engine.policies[PAYER]
    catalogue = engine.reference.catalogue.by_code
    found: dict[str, CodeFacts] = {}
    for code in sorted(set(wanted)):
        info = catalogue.get(code)
        if info is None or info.therapy == "never":
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
        if policy.performer_allowed("therapist", code) is None:
            continue
        if len(found) == MASK_BITS:
            break
        found[code] = CodeFacts(code, len(found), timed, info.evaluation,
                                tuple(info.disciplines) if info.evaluation else (),
                                "always" if info.therapy == "always" else "here")
    return found


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What one date of service and place settle for a visit."""

    price_key: int  # the pricing period (day serial) and RVU release together
    kx_cents: int
    payer_share_ppm: int  # 1 - coinsurance, in millionths
    sequestration_ppm: int
    mppr: bool
    edits_key: int  # the NCCI tables of the date


@dataclass(frozen=True, slots=True)
class Price:
    full_cents: int
    reduced_cents: int
    pe: int  # PE RVUs × PE_SCALE (MPPR: the highest PE keeps its first unit whole)
    mppr: bool  # the code is inside the therapy MPPR
    value: int  # total RVUs × PE_SCALE (a tie for a unit goes to the higher)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _scaled(value: Decimal, scale: int) -> int | None:
    scaled = value * scale
    return int(scaled) if scaled == scaled.to_integral_value() else None


class Facts:
    """The engine's figures for the dates, places and codes of one file, built on demand."""

    def __init__(self, engine: Engine, codes: Iterable[str]) -> None:
        self.engine = engine
        self.policy = engine.policies.get(PAYER)
        self.codes = code_facts(engine, codes) if policy_fits(self.policy) else {}
        self.prices: dict[tuple[int, str], Price] = {}
        self._price_keys: dict[tuple[int, str], int] = {}
        self._filled: set[int] = set()
        self._edits: dict[date, int | None] = {}
        self.conflicts: dict[tuple[int, str], int] = {}  # (edits key, code) -> mask of codes
        self.mue: dict[tuple[int, str], int] = {}

    def day(self, dos: date, locality: str) -> DayFacts | None:
        policy, reference = self.policy, self.engine.reference
        if policy is None or not self.codes:
            return None
        release = reference.rvu_release(dos)
        if release is None:
            return None
        caches = self.engine.caches
        day = price_day(reference, caches, dos, locality, False, False)
        if day.problems or day.conversion_factor is None or day.gpcis is None:
            return None
        params = reference.parameters
        kx = params.at("kx_threshold", dos)
        if kx is None or params.at("part_b_deductible", date(dos.year, 1, 1)) is None:
            return None
        coinsurance = value_or(day.coinsurance, TWENTY_PERCENT)
        sequestration = value_or(day.sequestration, ZERO) if policy.pricing.sequestration \
            else ZERO
        share = _scaled(Decimal(1) - coinsurance, RATE_SCALE)
        taken = _scaled(sequestration, RATE_SCALE)
        if share is None or taken is None or not 0 <= share <= RATE_SCALE:
            return None
        edits = self._edits_key(dos)
        if edits is None:
            return None
        price_key = self._price_keys.setdefault((day.serial, release.release_id),
                                                len(self._price_keys))
        if price_key not in self._filled:
            self._filled.add(price_key)
            self._fill_prices(price_key, release.records, day)
        return DayFacts(price_key, _cents(kx.value), share, taken,
                        policy.mppr_on(dos) and day.pe_paid_share is not None, edits)

    def deductible_cents(self, year: int) -> int | None:
        found = self.engine.reference.parameters.at("part_b_deductible", date(year, 1, 1))
        return None if found is None else _cents(found.value)

    def _fill_prices(self, price_key: int, records: Mapping[tuple[str, str], RvuRecord],
                     day: PriceDay) -> None:
        assert self.policy is not None
        for code in self.codes:
            rvu = records.get((code, ""))
            if rvu is None or rvu.status in STATUS_MEANING:
                continue
            price = unit_price_for(code, rvu, day, self.policy)
            pe = _scaled(rvu.pe_nonfacility, PE_SCALE)
            value = _scaled(rvu.work + rvu.pe_nonfacility + rvu.mp, PE_SCALE)
            if price is None or pe is None or value is None:
                continue
            self.prices[(price_key, code)] = Price(_cents(price.full), _cents(price.reduced),
                                                   pe, mppr_applies(rvu), value)

    def _edits_key(self, dos: date) -> int | None:
        """A number for the NCCI tables of a date (the same tables, the same conflicts), or
        None when the engine would say something about them (a missing or partial table)."""
        if dos in self._edits:
            return self._edits[dos]
        assert self.policy is not None
        key: int | None = None
        if self.policy.ncci_on(dos):
            ncci = _ncci_day(self.engine.reference, dos,
                             self.engine.caches.memo("rules.ncci.days"))
            if ncci.table is not None and not ncci.warnings:
                key = len(self._edits)
                bits = {code: facts.bit for code, facts in self.codes.items()}
                for (first, second), edits in ncci.table.by_pair.items():
                    if first in bits and second in bits and _edit_in_force(edits, dos):
                        for one, other in ((first, second), (second, first)):
                            self.conflicts[(key, one)] = (self.conflicts.get((key, one), 0)
                                                          | 1 << bits[other])
                if ncci.mue is not None:
                    for code in bits:
                        mue = ncci.mue.records.get(code)
                        if mue is not None:
                            self.mue[(key, code)] = mue.value
        self._edits[dos] = key
        return key


__all__ = ["DISCIPLINE_MODIFIER", "PAYER", "CodeFacts", "DayFacts", "Facts", "Price",
           "policy_fits"]
