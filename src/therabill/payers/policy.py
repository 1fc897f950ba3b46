"""Payer policies as data: one YAML file per payer, validated on load (unknown keys are errors).

A policy says how a payer counts units, which edits and modifiers it applies, what it will not
cover, and how it pays. Medicare's file follows CMS; commercial files describe a contract. A user
adds a payer by adding a file to the user data directory's ``payers/`` folder.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from therabill.reference.paths import user_data_dir
from therabill.yamlfile import read_model

POLICY_DIR = Path(__file__).resolve().parent / "policies"
Performer = Literal["therapist", "massage_therapist", "aide", "athletic_trainer", "physician"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeniedPair(Strict):
    """A pair the payer will not pay together, beyond NCCI: column 2 is denied."""

    column_1: str
    column_2: str
    modifier_unlocks: bool = False
    source: str


class UnitCap(Strict):
    """At most this many timed units a day; the cut falls on the lowest-paying units first."""

    timed_units_per_day: int = Field(ge=1)
    source: str


class CodeRule(Strict):
    code: str
    reason: str
    source: str


class Replacement(Strict):
    code: str
    use_instead: str
    source: str


class PerformerRule(Strict):
    """Who may furnish a service billed as therapy; ``codes`` limits an allowance to some codes."""

    performer: Performer
    codes: tuple[str, ...] = ()
    source: str


class Pricing(Strict):
    basis: Literal["medicare_fee_schedule", "percent_of_medicare", "fee_table"]
    percent_of_medicare: Decimal | None = None
    fee_table: dict[str, Decimal] = {}
    mppr: bool = True
    assistant_reduction: bool = True
    sequestration: bool = True
    deductible: bool = True
    coinsurance: Decimal | None = None  # None: the dated Medicare parameter
    source: str

    @model_validator(mode="after")
    def _basis_has_its_figures(self) -> Pricing:
        if self.basis == "percent_of_medicare" and self.percent_of_medicare is None:
            raise ValueError("percent_of_medicare pricing needs percent_of_medicare")
        if self.basis == "fee_table" and not self.fee_table:
            raise ValueError("fee_table pricing needs a fee_table")
        return self


class PayerPolicy(Strict):
    id: str
    name: str
    kind: Literal["medicare", "commercial"]
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
