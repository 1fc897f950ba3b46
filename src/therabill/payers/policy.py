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
