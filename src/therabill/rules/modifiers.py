"""Modifiers: the discipline modifier (GP/GO/GN), the assistant modifiers (CQ/CO), and the rest.

CMS Pub 100-04 ch.5 §20.1: every always-therapy line carries exactly one of GP, GO or GN for the
plan of care it falls under; CQ goes only with GP and CO only with GO; there is no SLP assistant
modifier. NCCI modifiers (59, X{EPSU}) are never added here: only the biller's documentation can.
"""

from __future__ import annotations

from therabill import sources
from therabill.decision import Decision
from therabill.rules.worklist import LineMemo
from therabill.vocabulary import DISCIPLINE_MODIFIER, MODIFIER_DISCIPLINE, Discipline
from therabill.worksheet import WorkLine, Worksheet

# Modifiers a therapy claim may carry; anything else is flagged so a typo is caught before billing.
KNOWN_MODIFIERS = frozenset({
    "GP", "GO", "GN", "CQ", "CO", "KX", "59", "XE", "XS", "XP", "XU", "GA", "GX", "GY", "GZ",
    "LT", "RT", "RR", "NU", "UE", "KO", "KP", "KQ", "76", "77", "52", "95", "GT", "93", "CR",
    "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "FA", "T1", "T2", "T3", "T4", "T5",
    "T6", "T7", "T8", "T9", "TA", "E1", "E2", "E3", "E4", "26", "TC",
})


def line_discipline(line_value: Discipline | None, visit_default: Discipline) -> Discipline:
    """Which plan of care a line belongs to: the line's own, else the visit's. Never guessed
    from a modifier or a code: where those disagree, the rules say so and do not pay the line
    until the biller settles it (``check_discipline_modifiers``, ``rules.coverage``)."""
    return line_value or visit_default


def check_discipline_modifiers(line: WorkLine) -> Decision | None:
    """A discipline modifier entered against the line's plan of care, or two of them, is a
    contradiction in what is billed: an error on the line, which is not paid until it is
    fixed. (A missing modifier is only completed, later, by ``settle_discipline_modifier``.)"""
    entered = [m for m in line.modifiers if m in MODIFIER_DISCIPLINE]
    if not entered or line.info is None or line.info.therapy == "never":
        return None  # a non-therapy code just loses the modifier (settle_discipline_modifier)
    if len(entered) > 1:
        return line.stop("invalid", "modifier.discipline",
                         f"{line.code} carries {' and '.join(entered)}: a line belongs to one "
                         "plan of care, so it takes one discipline modifier; keep the one of "
                         "its plan of care and bill the other discipline's service on a line "
                         "of its own", sources.CPM5_20_1)
    wanted = DISCIPLINE_MODIFIER[line.discipline]
    if entered[0] != wanted:
        said = MODIFIER_DISCIPLINE[entered[0]]
        return line.stop("invalid", "modifier.discipline",
                         f"{line.code} carries {entered[0]} ({said} plan of care) but the line "
                         f"is under the {line.discipline} plan of care (its own discipline or "
                         f"the visit's): correct the modifier to {wanted} or the line's "
                         f"discipline to {said}; not paid until they agree", sources.CPM5_20_1)
    return None


def settle_discipline_modifier(line: WorkLine) -> list[Decision]:
    """Make the line carry exactly the one discipline modifier of its plan of care."""
    findings: list[Decision] = []
    therapy = line.info.therapy if line.info is not None else "never"
    wanted = DISCIPLINE_MODIFIER[line.discipline]
    entered = [m for m in line.modifiers if m in MODIFIER_DISCIPLINE]
    others = [m for m in line.modifiers if m not in MODIFIER_DISCIPLINE]
    if therapy == "never":
        if entered:
            findings.append(line.note(
                "modifier.discipline",
                f"{line.code} is not a therapy code; {', '.join(entered)} removed",
                sources.CPM5_20, "warning"))
        line.modifiers = others
        return findings
    fixed = line.info.disciplines if line.info is not None else []
    if line.info is not None and line.info.evaluation and fixed and line.discipline not in fixed:
        findings.append(line.stop(
            "invalid", "modifier.discipline",
            f"{line.code} is an evaluation of the {'/'.join(fixed)} plan of care and cannot be "
            f"billed under {line.discipline}", sources.CPM5_20_1))
        return findings
    if entered != [wanted]:
        # Only a missing modifier reaches here: a contradicting one stopped the line earlier.
        message = discipline_added(wanted, line.code, therapy, line.discipline)
        findings.append(line.note("modifier.discipline", message, sources.CPM5_20_1, "warning"))
    else:
        line.note("modifier.discipline", f"{wanted} kept for the {line.discipline} plan of care",
                  sources.CPM5_20_1)
    line.modifiers = [wanted, *others]
    return findings


def discipline_added(modifier: str, code: str, therapy: str, discipline: str) -> str:
    """The sentence for a discipline modifier the line was missing and got."""
    return (f"{modifier} added: {code} is {'always' if therapy == 'always' else 'here'} a "
            f"therapy service and needs the {discipline} plan-of-care modifier")


def flag_unknown_modifiers(line: WorkLine) -> list[Decision]:
    findings = []
    for modifier in line.modifiers:
        if modifier not in KNOWN_MODIFIERS:
            findings.append(line.note(
                "modifier.unknown",
                f"{modifier} is not a modifier used on therapy claims; check it before billing",
                "CMS HCPCS Level II modifier list", "warning"))
    return findings


def settle_modifiers(line: WorkLine, discipline_modifiers: bool, memo: LineMemo
                     ) -> list[Decision]:
    """The discipline modifier (when the payer wants one) and the unknown-modifier check.

    Both depend only on the code, its catalogue entry, the plan of care, the entered modifiers
    and the line's status, so each combination is worked out once (claims repeat them a lot).
    """
    key = (line.code, line.discipline, tuple(line.modifiers), line.status, line.units,
           discipline_modifiers, id(line.info))
    return memo.apply(key, line, _settle, discipline_modifiers)


def _settle(line: WorkLine, discipline_modifiers: bool) -> list[Decision]:
    on_claim = line.status in ("payable", "denied")
    findings = settle_discipline_modifier(line) if on_claim and discipline_modifiers else []
    return findings + flag_unknown_modifiers(line)


def settle_step(sheet: Worksheet) -> None:
    """Every line on the claim, denied ones included, gets its modifiers settled."""
    memo = sheet.caches.custom("rules.modifiers.settled", LineMemo)
    flag = sheet.policy.discipline_modifiers
    for line in sheet.lines:
        sheet.findings.extend(settle_modifiers(line, flag, memo))
