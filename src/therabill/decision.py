"""The one decision type every rule returns.

A ``Decision`` says which rule decided, how serious it is, what it means in plain words and where
the rule comes from. Claim-line ``steps`` and visit-level ``findings`` are both lists of it, so the
CLI, the API and batch reports print the same thing and tests assert on rule ids, not on prose.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Severity = Literal["error", "warning", "info"]

# Rule ids are part of the public contract: clients filter and count on them.
RULE_IDS: frozenset[str] = frozenset({
    "input", "input.assumed", "ledger.prefill", "data", "documentation.time",
    "units.cms_total_time", "units.cpt_per_code", "units.combine", "units.untimed",
    "units.billed",
    "ncci.ptp", "ncci.mue",
    "modifier.discipline", "modifier.assistant", "modifier.ncci", "modifier.unknown",
    "coverage.medicare", "coverage.payer", "coverage.performer",
    "payer.pair", "payer.unit_cap", "payer.massage", "payer.one_code", "payer.ncci",
    "payer.units", "payer.visit_limit", "payer.unknown",
    "pricing.fee_schedule", "pricing.mppr", "pricing.charge", "pricing.deductible",
    "pricing.coinsurance", "pricing.assistant", "pricing.sequestration", "pricing.not_priced",
    "pricing.payer",
    "threshold.kx", "threshold.review",
})


class Decision(NamedTuple):
    """One explained decision: rule id, severity, plain-language message, and its source.

    An immutable named tuple: the engine makes dozens per visit and shares identical ones
    between visits, so it must be cheap to build and impossible to change. Results serialise
    it as a JSON object (see ``model.DecisionField``).
    """

    rule: str
    severity: Severity
    message: str
    source: str
    codes: tuple[str, ...] = ()


def decide(rule: str, message: str, source: str, severity: Severity = "info",
           codes: tuple[str, ...] = ()) -> Decision:
    # tuple.__new__ directly: a named tuple's own __new__ is generated Python code, and the
    # engine makes several decisions per visit (a third of a microsecond each saved).
    return _new_tuple(Decision, (rule, severity, message, source, codes))


_new_tuple = tuple.__new__  # looked up once
