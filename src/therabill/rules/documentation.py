"""Does the documentation support what is billed? The note's time totals against the lines.

CMS requires the record to show the total timed-code treatment minutes and the total treatment
time (Pub 100-02 ch.15 §220.3); auditors compare them with the minutes and units billed (Pub
100-04 ch.5 §20.2). A visit may give what its note documents (``documented_timed_minutes``,
``documented_total_minutes``, ``documented_untimed_minutes``); each disagreement is a finding.
Minutes billed beyond what is documented are errors; fewer minutes billed than documented is
only a warning (nothing unsupported is billed).
"""

from __future__ import annotations

from collections.abc import Callable

from therabill import sources
from therabill.decision import Severity, decide
from therabill.rules.units import units_for_minutes
from therabill.vocabulary import NO_MINUTES_BASES
from therabill.worksheet import WorkLine, Worksheet

SOURCE = f"{sources.BPM15_220_3}; {sources.CPM5_20_2}"
Say = Callable[[Severity, str], None]


def _timed(line: WorkLine) -> bool:
    return line.basis not in NO_MINUTES_BASES and line.minutes is not None


def documentation_step(sheet: Worksheet) -> None:
    visit = sheet.visit
    timed_doc = visit.documented_timed_minutes
    total_doc = visit.documented_total_minutes
    untimed_doc = visit.documented_untimed_minutes
    if timed_doc is None and total_doc is None and untimed_doc is None:
        return
    findings = sheet.findings
    timed_lines = [line for line in sheet.lines if _timed(line)]
    billed_minutes = sum(line.minutes or 0 for line in timed_lines)
    codes = tuple(sorted({line.code for line in timed_lines}))

    def say(severity: Severity, message: str) -> None:
        findings.append(decide("documentation.time", message, SOURCE, severity, codes))

    if timed_doc is not None:
        if billed_minutes > timed_doc:
            say("error", f"the lines bill {billed_minutes} timed minutes but the note documents "
                f"{timed_doc}: {billed_minutes - timed_doc} billed minutes have no documentation")
        elif billed_minutes < timed_doc:
            say("warning", f"the lines bill {billed_minutes} timed minutes and the note "
                f"documents {timed_doc}: check that no timed service was left off the claim")
        if sheet.policy.unit_method == "cms_total_time":
            _units_supported(timed_lines, timed_doc, say)
    timed_known = timed_doc if timed_doc is not None else billed_minutes
    if total_doc is not None:
        needed = timed_known + (untimed_doc or 0)
        if total_doc < needed:
            what = (f"{timed_known} timed" + (f" and {untimed_doc} untimed" if untimed_doc
                                               else "") + " minutes")
            say("error", f"the total treatment time documented ({total_doc} minutes) is less "
                f"than the {what} it must include")
    elif untimed_doc is not None or timed_doc is not None:
        say("warning", "the note's total treatment time is not given: CMS requires it beside "
            "the total timed minutes")


def _units_supported(timed_lines: list[WorkLine], documented: int, say: Say) -> None:
    """Under the total-time method, the 15-minute units billed may not exceed what the
    documented timed total supports (per plan of care, pooled as the payer pools)."""
    fifteen = [line for line in timed_lines if line.unit_minutes == 15 and
               line.status in ("payable", "denied")]
    billed_units = sum(line.units for line in fifteen)
    supported = units_for_minutes(documented)
    if billed_units > supported:
        say("error", f"{billed_units} timed unit(s) billed, but the {documented} documented "
            f"timed minutes support at most {supported} under the 8-minute rule")
