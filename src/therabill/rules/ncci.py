"""NCCI edits by date of service: procedure-to-procedure pairs and medically unlikely edits.

PTP (NCCI Policy Manual ch. I §E): when both codes of an edit are billed the same day, the
column-2 code is denied unless the edit's modifier indicator is 1 and the column-2 line carries an
NCCI-associated modifier that the documentation supports. Indicator 0: nothing unlocks it;
indicator 9: the edit does not apply. MUE (ch. I §V): over the value, MAI 1 denies the line,
MAI 2 and 3 deny every unit of the code that day — never only the excess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from therabill import sources
from therabill.decision import Decision, decide
from therabill.memo import BoundedMemo
from therabill.reference.records import MueRelease, PtpEdit
from therabill.reference.store import EditTable, ReferenceData
from therabill.vocabulary import NCCI_MODIFIERS
from therabill.worksheet import WorkLine, Worksheet

ON_CLAIM = ("payable", "denied")
MAI_WORDS = {1: "per claim line", 2: "per day, by CMS policy", 3: "per day, on clinical grounds"}
# What the documentation must show for an NCCI modifier to be honest (NCCI-XI §P.2, §S).
UNLOCK_ADVICE = ("59 or XU when the two services were done in separate time blocks (even "
                 "sequential ones); XS for a separate anatomic region. The notes must show it; "
                 "never add the modifier only to get past the edit")


def edit_in_force(edits: tuple[PtpEdit, ...], dos: date) -> PtpEdit | None:
    for edit in edits:
        if edit.in_force_on(dos):
            return edit
    return None


def ptp_source(table: EditTable, source_note: str) -> str:
    release = table.release
    where = f"NCCI PTP practitioner edits {release.release_id} (effective {release.effective_from})"
    return f"{where}; {source_note}" if source_note else where


def mue_source(release: MueRelease, source_note: str) -> str:
    where = f"NCCI MUE practitioner table {release.release_id}"
    return f"{where}; {source_note}" if source_note else where


def apply_ptp(lines: list[WorkLine], table: EditTable, dos: date, where: str,
              memo: BoundedMemo[tuple[Decision, Decision | None]]) -> list[Decision]:
    """Deny column-2 lines of every edit in force between two payable codes of the visit;
    ``where`` names the table (``ptp_source``)."""
    findings: list[Decision] = []
    # Lines on the claim, denied ones too: a pair in the table is named on its column-2 line
    # even when another rule denied that line first (the remittance will cite the edit).
    by_code: dict[str, list[WorkLine]] = {}
    for line in lines:
        if line.status in ON_CLAIM:
            by_code.setdefault(line.code, []).append(line)
    codes = sorted(by_code)
    for column_1 in codes:
        for column_2 in codes:
            if column_1 == column_2:
                continue
            edits = table.by_pair.get((column_1, column_2))
            if not edits:
                continue
            edit = edit_in_force(edits, dos)
            if edit is None:
                continue
            findings.extend(_apply_edit(edit, by_code[column_2], where, memo))
    return findings


def _apply_edit(edit: PtpEdit, column_2_lines: list[WorkLine], where: str,
                memo: BoundedMemo[tuple[Decision, Decision | None]]) -> list[Decision]:
    findings: list[Decision] = []
    for line in column_2_lines:
        if line.status not in ON_CLAIM:
            continue
        present = tuple(m for m in line.modifiers if m in NCCI_MODIFIERS) \
            if line.modifiers else ()
        step, finding = edit_decisions(edit, line.code, present, where, memo)
        line.steps.append(step)
        if finding is not None:
            line.status = "denied"  # the units stay on the line, denied
            findings.append(finding)
    return findings


def edit_decisions(edit: PtpEdit, code: str, present: tuple[str, ...], where: str,
                    memo: BoundedMemo[tuple[Decision, Decision | None]]
                    ) -> tuple[Decision, Decision | None]:
    """What an edit does to a column-2 line, by the edit's figures, the line's code and NCCI
    modifiers and the table: the step on the line and, when it is denied, the visit finding."""
    key = (edit.column_1, edit.column_2, edit.modifier_indicator, edit.rationale, code, present,
           where)
    found = memo.get(key)
    if found is not None:
        return found
    pair = f"{edit.column_1}/{edit.column_2}"
    if edit.modifier_indicator == 1 and present:
        found = (decide("modifier.ncci",
                        f"{present[0]} on {code} bypasses the {pair} edit (modifier indicator 1, "
                        f"{edit.rationale}); the documentation must support it: "
                        f"{UNLOCK_ADVICE}", where, "info", (code,)), None)
    else:
        if edit.modifier_indicator == 0:
            tail = (" even with " + ", ".join(present) if present else "")
            message = (f"{code} is denied when billed with {edit.column_1} on the same day"
                       f"{tail}: edit {pair}, modifier indicator 0 (no modifier unlocks it), "
                       f"rationale: {edit.rationale}")
        else:
            message = (f"{code} is denied when billed with {edit.column_1} on the same day: "
                       f"edit {pair}, modifier indicator 1, rationale: {edit.rationale}. "
                       f"It may be unlocked on {code} with {UNLOCK_ADVICE}")
        found = (decide("ncci.ptp", message, where, "error", (code,)),
                 decide("ncci.ptp", message, where, "error", (edit.column_1, edit.column_2)))
    return memo.put(key, found)


def apply_mue(lines: list[WorkLine], release: MueRelease, where: str) -> list[Decision]:
    """Deny lines over the code's MUE; ``where`` names the table (``mue_source``)."""
    findings: list[Decision] = []
    per_day: dict[str, int] = {}
    for line in lines:
        if line.billable:
            per_day[line.code] = per_day.get(line.code, 0) + line.units
    for code, units in per_day.items():
        mue = release.records.get(code)
        if mue is None or units <= mue.value:
            continue  # within the value for the day, so within it on every line too
        affected = [ln for ln in lines if ln.code == code and ln.billable]
        if mue.mai == 1:
            affected = [ln for ln in affected if ln.units > mue.value]
        elif units <= mue.value:
            affected = []
        for line in affected:
            message = (f"{units if mue.mai != 1 else line.units} units of {code} exceed the "
                       f"MUE of {mue.value} ({MAI_WORDS[mue.mai]}, MAI {mue.mai}, rationale: "
                       f"{mue.rationale}); all units of the line are denied, not only the excess")
            line.stop("denied", "ncci.mue", message, f"{where}; {sources.NCCI_MUE}")
            findings.append(decide("ncci.mue", message, f"{where}; {sources.NCCI_MUE}",
                                   "error", (code,)))
    return findings


@dataclass(frozen=True, slots=True)
class NcciDay:
    """The edit tables for a date and what a result says about them, worked out once a day."""

    table: EditTable | None
    table_source: str  # how findings name the table, with its caveat
    mue: MueRelease | None
    mue_source: str
    releases: dict[str, str]  # merged into each result's data (read, never changed)
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # tables imported in part: a warning finding each


def ncci_day(reference: ReferenceData, dos: date, cache: BoundedMemo[NcciDay]) -> NcciDay:
    """The edit tables in force on ``dos`` and what results say about them (memoised)."""
    found = cache.get(dos)
    if found is not None:
        return found
    releases: list[tuple[str, str]] = []
    notes: list[str] = []
    table = reference.edit_table(dos)
    if table is not None:
        release = table.value.release
        releases.append(("ptp", f"{release.release_id} (effective {release.effective_from})"))
        notes.extend(n for n in (release.caveat, table.note) if n)
    mue = reference.mue_release(dos)
    if mue is not None:
        releases.append(("mue", mue.value.release_id))
        notes.extend(n for n in (mue.value.caveat, mue.note) if n and n not in notes)
    found = NcciDay(table.value if table else None,
                     ptp_source(table.value, table.note) if table else "",
                     mue.value if mue else None,
                     mue_source(mue.value, mue.note) if mue else "", dict(releases),
                     tuple(dict.fromkeys(notes)),
                     tuple(w for w in (table.warning if table else "",
                                       mue.warning if mue else "") if w))
    return cache.put(dos, found)


def apply_ncci(sheet: Worksheet) -> None:
    """PTP pairs then MUEs, from the tables in force on the date of service."""
    if not sheet.policy.ncci_on(sheet.dos):
        return
    lines, dos, findings, data = sheet.lines, sheet.dos, sheet.findings, sheet.data
    day = ncci_day(sheet.reference, dos, sheet.caches.memo("rules.ncci.days"))
    data.releases.update(day.releases)
    for note in day.notes:
        if note not in data.notes:
            data.notes.append(note)
    for warning in day.warnings:
        findings.append(decide("data", warning, "therabill reference data", "warning"))
    if day.table is None:
        findings.append(decide("data", "no NCCI PTP table is loaded: pair edits not checked",
                               "therabill reference data", "warning"))
    else:
        findings.extend(apply_ptp(lines, day.table, dos, day.table_source,
                                  sheet.caches.memo("rules.ncci.edits")))
    if day.mue is not None:
        findings.extend(apply_mue(lines, day.mue, day.mue_source))
