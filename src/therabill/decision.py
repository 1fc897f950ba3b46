"""The one decision type every rule returns.

A ``Decision`` says which rule decided, how serious it is, what it means in plain words and where
the rule comes from. Claim-line ``steps`` and visit-level ``findings`` are both lists of it, so the
CLI, the API and batch reports print the same thing and tests assert on rule ids, not on prose.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["error", "warning", "info"]

# Rule ids are part of the public contract: clients filter and count on them.
RULE_IDS: frozenset[str] = frozenset({
    "input", "data",
    "units.cms_total_time", "units.cpt_per_code", "units.combine", "units.untimed",
    "ncci.ptp", "ncci.mue",
    "modifier.discipline", "modifier.assistant", "modifier.ncci", "modifier.unknown",
    "coverage.medicare", "coverage.payer", "coverage.performer",
    "payer.pair", "payer.unit_cap",
    "pricing.fee_schedule", "pricing.mppr", "pricing.charge", "pricing.deductible",
    "pricing.coinsurance", "pricing.assistant", "pricing.sequestration", "pricing.not_priced",
    "pricing.payer",
    "threshold.kx", "threshold.review",
})


class Decision(BaseModel):
    """One explained decision: rule id, severity, plain-language message, and its source."""

    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity = "info"
    message: str
    source: str
    codes: tuple[str, ...] = ()


def decide(rule: str, message: str, source: str, severity: Severity = "info",
           codes: tuple[str, ...] = ()) -> Decision:
    """Build a Decision without re-validating: the engine's hot path makes thousands a second."""
    return Decision.model_construct(rule=rule, severity=severity, message=message, source=source,
                                    codes=codes)
