"""A payer's own edits, beyond NCCI: pairs it will not pay together (daily caps: payer_limits)."""

from __future__ import annotations

from therabill.decision import Decision, decide
from therabill.payers.policy import PayerPolicy
from therabill.vocabulary import NCCI_MODIFIERS
from therabill.worksheet import WorkLine, Worksheet


def apply_denied_pairs(lines: list[WorkLine], policy: PayerPolicy) -> list[Decision]:
    findings: list[Decision] = []
    payable = {line.code for line in lines if line.billable}
    for pair in policy.denied_pairs:
        if pair.column_1 not in payable or pair.column_2 not in payable:
            continue
        for line in lines:
            if line.code != pair.column_2 or not line.billable:
                continue
            if pair.modifier_unlocks and any(m in NCCI_MODIFIERS for m in line.modifiers):
                line.note("payer.pair", f"{policy.name} accepts the NCCI modifier on "
                          f"{line.code} with {pair.column_1}", pair.source)
                continue
            message = pair_denial(policy.name, line.code, pair.column_1,
                                  pair.modifier_unlocks)
            line.stop("denied", "payer.pair", message, pair.source)
            findings.append(decide("payer.pair", message, pair.source, "error",
                                   (pair.column_1, pair.column_2)))
    return findings


def pair_denial(payer: str, code: str, column_1: str, modifier_unlocks: bool) -> str:
    """Why a line is denied by a pair the payer does not pay together."""
    return (f"{payer} does not pay {code} with {column_1} on the same day"
            + ("" if modifier_unlocks else ", and no modifier changes that"))


def denied_pairs_step(sheet: Worksheet) -> None:
    sheet.findings.extend(apply_denied_pairs(sheet.lines, sheet.policy))
