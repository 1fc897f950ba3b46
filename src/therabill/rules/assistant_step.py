"""CQ/CO on a claim line: which units a PTA or OTA furnished in whole or in part.

The split itself (whole 15-minute blocks to whoever furnished them, the rest by who furnished
more, the 10% de minimis share) is in ``rules.assistant``; this step applies it to a line for
the date and payer, fixes assistant modifiers that cannot exist (SLP, before 2020, CQ on an OT
line), and splits the line into units with and without the modifier.
"""

from __future__ import annotations

from decimal import Decimal

from therabill import sources
from therabill.decision import Decision
from therabill.payers.policy import PayerPolicy
from therabill.reference.parameters import DatedValue
from therabill.rules.assistant import split_timed_units, split_untimed
from therabill.vocabulary import (
    ASSISTANT_MODIFIER,
    ASSISTANT_MODIFIERS,
    NO_MINUTES_BASES,
    has_assistant_modifier,
)
from therabill.worksheet import WorkLine, Worksheet


def assistant_step(sheet: Worksheet) -> None:
    """Each line split into its units with and without CQ/CO; the claim's lines replace the
    services'."""
    claim_lines: list[WorkLine] = []
    for line in sheet.lines:
        claim_lines.extend(assistant_modifiers(line, sheet.policy, sheet.de_minimis,
                                               sheet.findings))
    sheet.lines = claim_lines


def assistant_modifiers(line: WorkLine, policy: PayerPolicy, de_minimis: DatedValue | None,
                        findings: list[Decision]) -> list[WorkLine]:
    """Split a line into units with and without CQ/CO by who furnished the minutes.

    ``de_minimis`` is the assistant's share of minutes allowed without the modifier on the date
    of service; None before CQ/CO existed (2020)."""
    if line.status not in ("payable", "denied") or (
            line.assistant_minutes == 0 and not has_assistant_modifier(line.modifiers)):
        return [line]
    modifier = ASSISTANT_MODIFIER.get(line.discipline) if de_minimis is not None else None
    wrong = [m for m in line.modifiers if m in ASSISTANT_MODIFIERS and m != modifier]
    if wrong:
        line.modifiers = [m for m in line.modifiers if m not in wrong]
        why = ("CQ/CO exist only from 2020-01-01" if de_minimis is None else
               "there is no assistant modifier for speech-language pathology (GN)"
               if line.discipline == "SLP" else "CQ goes only with GP and CO only with GO")
        findings.append(line.note("modifier.assistant", f"{', '.join(wrong)} removed: {why}",
                                  sources.CPM5_20_1, "warning"))
    if not line.billable or line.assistant_minutes == 0:
        return [line]
    if de_minimis is None:
        line.note("modifier.assistant", "assistant modifiers CQ/CO exist only from 2020-01-01; "
                  "no modifier for this date", sources.CPM5_20_1)
        return [line]
    if modifier is None:
        findings.append(line.note(
            "modifier.assistant", "there is no assistant modifier for speech-language "
            "pathology; the minutes count as the service's", sources.CPM5_20_1, "warning"))
        return [line]
    if not policy.assistant_modifiers:
        line.note("modifier.assistant", f"{policy.name} does not use CQ/CO modifiers",
                  policy.unit_method_source)
        return [line]
    share = de_minimis.value
    if line.minutes is None and line.billed_units is not None:
        # Units as billed, with no minutes to split: the modifiers entered stand.
        line.note("modifier.assistant", "no minutes given: the units billed keep the "
                  "modifiers entered, and who furnished them cannot be checked",
                  sources.CPM5_20_1, "warning")
        return [line]
    if line.basis in NO_MINUTES_BASES:
        split = split_untimed(line.minutes, line.assistant_minutes, share)
    else:
        split = split_timed_units(line.units, line.minutes or 0, line.assistant_minutes,
                                  line.unit_minutes, share)
    source = assistant_source(de_minimis)
    if split.with_modifier == 0:
        line.modifiers = [m for m in line.modifiers if m not in ASSISTANT_MODIFIERS]
        line.note("modifier.assistant", f"no {modifier}: {split.reason}", source)
        return [line]
    base = [m for m in line.modifiers if m not in ASSISTANT_MODIFIERS]
    with_mod = line.copy()
    with_mod.modifiers = [*base[:1], modifier, *base[1:]]
    with_mod.units = split.with_modifier
    findings.append(with_mod.note(
        "modifier.assistant", assistant_units(modifier, split.with_modifier, split.reason),
        source, "warning" if modifier not in line.modifiers else "info"))
    if split.without_modifier == 0:
        return [with_mod]
    line.units = split.without_modifier
    line.modifiers = base
    if line.minutes is not None:
        # Each claim line shows its own share of the time: the assistant's minutes on the
        # CQ/CO line, the therapist's alone on the other.
        with_mod.minutes = line.assistant_minutes
        line.minutes -= line.assistant_minutes
        line.assistant_minutes = 0
    line.note("modifier.assistant", f"{split.without_modifier} unit(s) without {modifier}: "
              f"{split.reason}", source)
    if line.charge is not None:
        total = split.with_modifier + split.without_modifier
        with_mod.charge = (line.charge * split.with_modifier / total).quantize(Decimal("0.01"))
        line.charge = line.charge - with_mod.charge
    return [line, with_mod]


def assistant_units(modifier: str, units: int, reason: str) -> str:
    """The sentence for the units of a line that carry CQ/CO, and why."""
    return f"{modifier} on {units} unit(s): {reason}"


def assistant_source(de_minimis: DatedValue) -> str:
    """Where a CQ/CO split comes from: the manual, CMS's examples and the dated share."""
    return f"{sources.CPM5_20_1}; {sources.CQ_EXAMPLES}; {de_minimis.source}"
