"""A payer's own edits, beyond NCCI: pairs it will not pay together, and daily unit caps."""

from __future__ import annotations

from decimal import Decimal

from therabill.decision import Decision, decide
from therabill.payers.policy import PayerPolicy, UnitCap
from therabill.vocabulary import NCCI_MODIFIERS, NO_MINUTES_BASES, has_assistant_modifier
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
            message = (f"{policy.name} does not pay {line.code} with {pair.column_1} on the "
                       "same day" + ("" if pair.modifier_unlocks else
                                     ", and no modifier changes that"))
            line.stop("denied", "payer.pair", message, pair.source)
            findings.append(decide("payer.pair", message, pair.source, "error",
                                   (pair.column_1, pair.column_2)))
    return findings


def denied_pairs_step(sheet: Worksheet) -> None:
    sheet.findings.extend(apply_denied_pairs(sheet.lines, sheet.policy))


def unit_cap_step(sheet: Worksheet) -> None:
    if sheet.policy.unit_cap is not None:
        sheet.findings.extend(apply_unit_cap(sheet.lines, sheet.policy.unit_cap,
                                             sheet.unit_values))


def _timed(line: WorkLine) -> bool:
    return line.basis not in NO_MINUTES_BASES


def apply_unit_cap(lines: list[WorkLine], cap: UnitCap, values: dict[str, Decimal]
                   ) -> list[Decision]:
    """Cut timed units over the cap, lowest-paying units first (the payer keeps the best ones)."""
    timed = [line for line in lines if line.billable and _timed(line) and line.units > 0]
    excess = sum(line.units for line in timed) - cap.timed_units_per_day
    if excess <= 0:
        return []
    findings: list[Decision] = []
    def cut_order(ln: WorkLine) -> tuple[object, ...]:
        # lowest value first; lines of one code (two plans of care, CQ/CO splits) are ordered by
        # what they are, never by input order: an assistant line pays less, so it goes first
        assistant = has_assistant_modifier(ln.modifiers)
        return (values.get(ln.code, Decimal(0)), ln.code, not assistant, ln.discipline,
                sorted(ln.modifiers))

    for line in sorted(timed, key=cut_order):
        if excess <= 0:
            break
        cut = min(excess, line.units)
        excess -= cut
        line.units -= cut
        message = (f"{cut} unit(s) of {line.code} cut: the plan pays at most "
                   f"{cap.timed_units_per_day} timed units a day, and the lowest-paying units "
                   "are the ones cut")
        line.note("payer.unit_cap", message, cap.source, "warning")
        findings.append(decide("payer.unit_cap", message, cap.source, "warning", (line.code,)))
        if line.units == 0:
            line.stop("not_billable", "payer.unit_cap", f"no units of {line.code} left under "
                      "the plan's daily cap", cap.source, "warning")
    return findings
