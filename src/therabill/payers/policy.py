"""Payer policies as data: one YAML file per payer, validated on load (unknown keys are errors).

A policy says how a payer counts units, which edits and modifiers it applies, what it will not
cover, and how it pays. Medicare's file follows CMS; commercial files describe a contract. A user
adds a payer by adding a file to the user data directory's ``payers/`` folder.

A real payer's file also carries ``rules``: what the payer has published, one entry per
capability (NCCI, unit method, daily cap, CQ/CO rate, MPPR, massage, one code a day, visit
limits), each with its value, effective date, source address and confidence grade, or
``unknown`` with what was looked for. The engine honours the known ones and reports the
unknown ones; the working settings above them (``ncci``, ``unit_method``, ``pricing``) must
agree with every known rule, so the two never tell different stories.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from therabill.reference.paths import user_data_dir
from therabill.vocabulary import Performer
from therabill.yamlfile import read_model

POLICY_DIR = Path(__file__).resolve().parent / "policies"


# Policies are pydantic dataclasses (frozen, with slots): validated on load like models, and
# read by the engine several times per visit as plain slots, without a model's getattr hook.
strict = dataclass(frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="forbid"))


@strict
class DeniedPair:
    """A pair the payer will not pay together, beyond NCCI: column 2 is denied."""

    column_1: str
    column_2: str
    modifier_unlocks: bool = False
    source: str


@strict
class UnitCap:
    """At most this many timed units a day; the cut falls on the lowest-paying units first."""

    timed_units_per_day: int = Field(ge=1)
    source: str


Confidence = Literal["A", "B", "C"]
UNKNOWN = "unknown"


@strict
class Reading:
    """Another reading of a rule when sources disagree: kept beside the one the engine uses."""

    value: str
    effective_from: date | None = None
    source: str
    confidence: Confidence
    note: str = ""


@strict
class PublishedRule:
    """What every published rule carries besides its value: when it starts, its source and
    confidence, a note, and a second reading where sources disagree. Each rule class adds its
    ``value`` (and any figures of its own)."""

    if TYPE_CHECKING:
        value: object
    effective_from: date | None = None
    source: str = ""
    confidence: Confidence | None = None
    note: str = ""
    other_reading: Reading | None = None

    @model_validator(mode="after")
    def _evidence(self) -> Self:
        self._check_evidence()
        return self

    def _check_evidence(self) -> None:
        value = self.value
        if value == UNKNOWN:
            if not self.note:
                raise ValueError("an unknown rule needs a note: what was looked for, and where")
        elif not self.source or self.confidence is None:
            raise ValueError(f"value {value!r} needs its source and confidence "
                             "(or say unknown)")

    @property
    def known(self) -> bool:
        return self.value != UNKNOWN

    def in_force(self, day: date) -> bool:
        """Known, and started by ``day`` (a rule without a start date is always in force)."""
        start: date | None = self.effective_from
        return self.known and (start is None or day >= start)


@strict
class NcciRule(PublishedRule):
    """Does the payer apply the NCCI PTP and MUE edits to these claims, and from when?"""

    value: Literal["follows", "does_not_follow", "unknown"]



@strict
class UnitMethodRule(PublishedRule):
    """How timed minutes become units: CMS total time, CPT per code, or a documented hybrid
    (time in and out per code; the engine counts it per code)."""

    value: Literal["cms_total_time", "cpt_per_code", "hybrid_per_code", "unknown"]



@strict
class DailyCapRule(PublishedRule):
    """A daily limit on timed units (or minutes, counted in whole 15-minute units), per
    discipline or over all disciplines together, and which units are paid when over it."""

    value: Literal["capped", "none", "unknown"]
    timed_units: int | None = Field(default=None, ge=1)
    minutes: int | None = Field(default=None, ge=15)
    per: Literal["discipline", "combined"] = "combined"
    paid_first: Literal["highest_paying", "claim_line_order"] = "highest_paying"
    codes: tuple[str, ...] = ()  # the codes the cap counts; empty: every timed code

    @model_validator(mode="after")
    def _figures(self) -> DailyCapRule:
        """Beyond the evidence every rule needs (``PublishedRule``)."""
        if self.value == "capped" and (self.timed_units is None) == (self.minutes is None):
            raise ValueError("a cap gives timed_units or minutes (one of them)")
        return self

    @property
    def units(self) -> int:
        """The cap in timed units (a minute cap holds as many whole 15-minute units)."""
        if self.timed_units is not None:
            return self.timed_units
        return (self.minutes or 0) // 15


@strict
class RateRule(PublishedRule):
    """A payment share and when it starts: the CQ/CO assistant rate (0.85 pays 85%), or the
    share of practice expense the therapy MPPR pays on all but the first unit (0.50).
    ``none``: the payer makes no such reduction."""

    value: Decimal | Literal["none", "unknown"]

    @model_validator(mode="after")
    def _figures(self) -> RateRule:
        """Beyond the evidence every rule needs (``PublishedRule``)."""
        if isinstance(self.value, Decimal) and not Decimal(0) < self.value <= 1:
            raise ValueError("a rate is a share between 0 and 1 (0.85 pays 85%)")
        return self

    @property
    def rate(self) -> Decimal | None:
        return self.value if isinstance(self.value, Decimal) else None


@strict
class MassageRule(PublishedRule):
    """Does the payer pay massage (97124): always, only inside a PT/OT (or chiropractic) plan
    of care, only as an adjunct to another therapy procedure the same day, or never?"""

    value: Literal["covered", "plan_of_care_only", "adjunct_only", "excluded", "unknown"]



@strict
class MassageTherapistRule(PublishedRule):
    """May a licensed massage therapist be paid for massage?"""

    value: Literal["paid", "not_paid", "unknown"]



@strict
class OneCodeRule(PublishedRule):
    """One therapy procedure code per discipline per day (some Medicaid plans); optionally no
    procedure on the day of an evaluation in the same discipline."""

    value: Literal["applies", "does_not_apply", "unknown"]
    none_with_evaluation: bool = False



@strict
class VisitLimit:
    visits: int = Field(ge=1)
    per: Literal["day", "calendar_year", "injury", "episode"]
    discipline: Literal["PT", "OT", "SLP", "massage", "all"] = "all"
    note: str = ""


@strict
class VisitLimitRule(PublishedRule):
    """Published visit limits (per day, year, injury or episode of care)."""

    value: Literal["limited", "none", "unknown"]
    limits: tuple[VisitLimit, ...] = ()

    @model_validator(mode="after")
    def _figures(self) -> VisitLimitRule:
        """Beyond the evidence every rule needs (``PublishedRule``)."""
        if self.value == "limited" and not self.limits:
            raise ValueError("limited visits need their limits")
        return self


@strict
class PublishedRules:
    """Every capability a real payer's file must state, known or unknown: none may be left out
    (a missing one is an error, never a silent default)."""

    ncci: NcciRule
    unit_method: UnitMethodRule
    daily_cap: DailyCapRule
    assistant_rate: RateRule
    mppr: RateRule
    massage_97124: MassageRule
    massage_therapist: MassageTherapistRule
    one_code_per_discipline: OneCodeRule
    visit_limits: VisitLimitRule

    def items(self) -> list[tuple[str, PublishedRule]]:
        return [(name, getattr(self, name)) for name in RULE_NAMES]


# In the order results and listings show them, with the words they use.
RULE_NAMES: dict[str, str] = {
    "ncci": "NCCI pair and MUE edits",
    "unit_method": "unit method",
    "daily_cap": "daily timed-unit cap",
    "assistant_rate": "CQ/CO assistant payment rate",
    "mppr": "therapy multiple procedure reduction (MPPR)",
    "massage_97124": "massage (97124) coverage",
    "massage_therapist": "licensed massage therapist paid",
    "one_code_per_discipline": "one code per discipline per day",
    "visit_limits": "visit limits",
}


@strict
class CodeRule:
    code: str
    reason: str
    source: str


@strict
class Replacement:
    code: str
    use_instead: str
    source: str


@strict
class PerformerRule:
    """Who may furnish a service billed as therapy; ``codes`` limits an allowance to some codes."""

    performer: Performer
    codes: tuple[str, ...] = ()
    source: str


@strict
class Pricing:
    basis: Literal["medicare_fee_schedule", "percent_of_medicare", "fee_table"]
    percent_of_medicare: Decimal | None = None
    fee_table: dict[str, Decimal] = Field(default_factory=dict)
    mppr: bool = True
    assistant_reduction: bool = True
    sequestration: bool = True
    deductible: bool = True
    coinsurance: Decimal | None = None  # None: the dated Medicare parameter
    # Why these figures stand in for fees the payer does not publish (contract rates): said in
    # every result under the payer. Empty when the figures are the payer's own.
    stand_in: str = ""
    source: str

    @model_validator(mode="after")
    def _basis_has_its_figures(self) -> Pricing:
        if self.basis == "percent_of_medicare" and self.percent_of_medicare is None:
            raise ValueError("percent_of_medicare pricing needs percent_of_medicare")
        if self.basis == "fee_table" and not self.fee_table:
            raise ValueError("fee_table pricing needs a fee_table")
        return self


@strict
class PayerPolicy:
    id: str
    name: str
    # What sort of payer it is (descriptive: the engine reads capabilities, never this).
    kind: Literal["medicare", "medicare_advantage", "commercial", "medicaid", "tricare",
                  "workers_comp"]
    short_name: str = ""  # how messages name the payer ("Medicare"); the name when empty
    as_of: date | None = None  # when the file's published rules were last checked
    # Capabilities: Medicare's own coverage facts (RVU status, catalogue coverage notes, the
    # Medicare performer rules) and reasonable-cost payment of critical access hospitals.
    # Unset: on for a Medicare file, off otherwise.
    medicare_coverage: bool | None = None
    cah_reasonable_cost: bool | None = None
    unit_method: Literal["cms_total_time", "cpt_per_code"]
    unit_method_source: str
    pool_disciplines: bool = False
    pool_disciplines_source: str = ""
    ncci: bool = True
    discipline_modifiers: bool = True
    assistant_modifiers: bool = True
    kx_threshold: bool = False
    denied_pairs: tuple[DeniedPair, ...] = ()
    unit_cap: UnitCap | None = None
    not_covered: tuple[CodeRule, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    performers: tuple[PerformerRule, ...]
    pricing: Pricing
    rules: PublishedRules | None = None

    @model_validator(mode="after")
    def _settings_agree_with_rules(self) -> PayerPolicy:
        medicare = self.kind == "medicare"
        if self.medicare_coverage is None:
            object.__setattr__(self, "medicare_coverage", medicare)
        if self.cah_reasonable_cost is None:
            object.__setattr__(self, "cah_reasonable_cost", medicare)
        rules = self.rules
        if rules is None:
            return self
        if self.as_of is None:
            raise ValueError("a file with published rules states its as_of date")
        if self.unit_cap is not None:
            raise ValueError("give the cap as rules.daily_cap (with its source), not unit_cap")
        if rules.ncci.known and self.ncci != (rules.ncci.value == "follows"):
            raise ValueError(f"ncci: {self.ncci} disagrees with rules.ncci {rules.ncci.value}")
        method = rules.unit_method.value
        expected = "cpt_per_code" if method == "hybrid_per_code" else method
        if rules.unit_method.known and self.unit_method != expected:
            raise ValueError(f"unit_method {self.unit_method} disagrees with rules.unit_method "
                             f"{method}")
        for name, flag in (("assistant_rate", self.pricing.assistant_reduction),
                           ("mppr", self.pricing.mppr)):
            rule: RateRule = getattr(rules, name)
            if rule.known and flag != (rule.rate is not None):
                raise ValueError(f"pricing: {name} {rule.value} disagrees with the pricing "
                                 f"switch ({flag})")
        if rules.mppr.rate is not None and rules.mppr.rate != Decimal("0.5"):
            raise ValueError("rules.mppr: only the 50% practice-expense share is supported "
                             "(the share every payer source found states)")
        lmt = any(p.performer == "massage_therapist" and (not p.codes or "97124" in p.codes)
                  for p in self.performers)
        therapist = rules.massage_therapist.value
        if therapist != UNKNOWN and lmt != (therapist == "paid"):
            raise ValueError(f"performers: massage_therapist listing disagrees with "
                             f"rules.massage_therapist {therapist}")
        return self

    @property
    def who(self) -> str:
        return self.short_name or self.name

    def ncci_on(self, day: date) -> bool:
        """Whether the NCCI edits apply to a claim of this date."""
        if not self.ncci:
            return False
        start = self.rules.ncci.effective_from if self.rules is not None else None
        return start is None or day >= start

    def mppr_on(self, day: date) -> bool:
        if not self.pricing.mppr:
            return False
        start = self.rules.mppr.effective_from if self.rules is not None else None
        return start is None or day >= start

    def mppr_source(self, medicare: str) -> str:
        """What an MPPR step cites: the payer's published rule, or Medicare's manual."""
        rule = self.rules.mppr if self.rules is not None else None
        if rule is None or rule.rate is None:
            return medicare
        return f"{rule.source}; modelled on {medicare}"

    def assistant_rate_on(self, day: date) -> tuple[Decimal, str] | None:
        """The payer's own CQ/CO rate on a date and its source (1 before its start date), or
        None to use Medicare's dated rate."""
        rule = self.rules.assistant_rate if self.rules is not None else None
        if rule is None or rule.rate is None:
            return None
        if rule.effective_from is not None and day < rule.effective_from:
            return Decimal(1), f"{rule.source} (from {rule.effective_from})"
        return rule.rate, rule.source

    def unknown_rules(self) -> list[str]:
        if self.rules is None:
            return []
        return [name for name, rule in self.rules.items() if not rule.known]

    def performer_allowed(self, performer: str, code: str) -> PerformerRule | None:
        for rule in self.performers:
            if rule.performer == performer and (not rule.codes or code in rule.codes):
                return rule
        return None


class PolicyError(ValueError):
    pass


def load_policy(path: Path) -> PayerPolicy:
    policy = read_model(path, PayerPolicy, PolicyError, str(path))
    if policy.id != path.stem:
        raise PolicyError(f"{path}: id {policy.id!r} must match the file name {path.stem!r}")
    return policy


@lru_cache(maxsize=4)
def load_policies(extra_dir: Path | None = None) -> dict[str, PayerPolicy]:
    """Shipped policies, then the user's ``payers/`` folder (same id: the user's file wins)."""
    directories = [POLICY_DIR, extra_dir if extra_dir is not None else user_data_dir() / "payers"]
    policies: dict[str, PayerPolicy] = {}
    for directory in directories:
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                policy = load_policy(path)
                policies[policy.id] = policy
    return policies
