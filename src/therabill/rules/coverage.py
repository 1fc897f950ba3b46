"""Coverage: is this code valid and payable for this payer, and may this person furnish it?

Medicare's facts come from the RVU file's status indicator for the date (I = not valid, B =
bundled, N = non-covered, ...) and from the code catalogue (dry needling, athletic training);
a payer's own exclusions and replacement codes come from its policy file.
"""

from __future__ import annotations

from decimal import Decimal

from therabill import sources
from therabill.decision import Decision
from therabill.memo import BoundedMemo, ObjectMemo
from therabill.model import LineStatus
from therabill.payers.policy import PayerPolicy
from therabill.reference.catalogue import CodeInfo
from therabill.reference.records import RvuRecord
from therabill.rules.modifiers import check_discipline_modifiers
from therabill.worksheet import WorkLine, Worksheet

# What each RVU status means for payment under the fee schedule (CMS PFS RVU file layout notes).
STATUS_MEANING: dict[str, tuple[LineStatus, str]] = {
    "B": ("bundled", "bundled: paid as part of other services, never separately"),
    "I": ("invalid", "not valid for Medicare purposes"),
    "N": ("non_covered", "a non-covered service"),
    "X": ("non_covered", "excluded from the fee schedule by statute"),
    "E": ("non_covered", "excluded from the fee schedule by regulation"),
    "P": ("bundled", "bundled or excluded"),
    "D": ("invalid", "deleted"),
    "J": ("invalid", "not a payable code"),
    "M": ("invalid", "a measurement code, not paid"),
}

PERFORMER_WORDS = {
    "massage_therapist": "a massage therapist",
    "aide": "an aide",
    "athletic_trainer": "an athletic trainer",
    "physician": "a physician",
    "therapist": "a therapist",
}


def check_medicare_status(line: WorkLine, policy: PayerPolicy) -> Decision | None:
    """Apply the RVU status of the code on this date (Medicare and Medicare-based payers)."""
    if not policy.medicare_coverage or line.rvu is None:
        return None
    status = line.rvu.status
    if status in STATUS_MEANING:
        outcome, meaning = STATUS_MEANING[status]
        hint = ""
        medicare = line.info.medicare if line.info is not None else None
        if medicare is not None and medicare.use_instead:
            hint = f"; bill {medicare.use_instead} instead"
        elif medicare is not None and medicare.not_therapy_provider:
            hint = f". {medicare.text}"  # why, which the status letter alone does not say
        return line.stop(outcome, "coverage.medicare",
                         f"{line.code} has Medicare status {status} on this date: {meaning}{hint}",
                         sources.RVU_STATUS)
    return None


def check_catalogue_coverage(line: WorkLine, policy: PayerPolicy) -> Decision | None:
    """Medicare coverage facts the RVU file does not carry (dry needling, athletic training)."""
    medicare = line.info.medicare if line.info is not None else None
    if not policy.medicare_coverage or medicare is None:
        return None
    if medicare.not_payable_to_therapists and line.performed_by != "physician":
        return line.stop("non_covered", "coverage.medicare",
                         f"{line.code} is not payable to therapists under Medicare: "
                         f"{medicare.text}", medicare.source)
    if medicare.not_therapy_provider:
        return line.stop("non_covered", "coverage.medicare",
                         f"{line.code}: {medicare.text}", medicare.source)
    return None


def check_payer_rules(line: WorkLine, policy: PayerPolicy) -> Decision | None:
    for rule in policy.not_covered:
        if rule.code == line.code:
            return line.stop("non_covered", "coverage.payer",
                             f"{policy.name} does not cover {line.code}: {rule.reason}",
                             rule.source)
    for replacement in policy.replacements:
        if replacement.code == line.code:
            return line.stop("invalid", "coverage.payer",
                             f"{policy.name} does not accept {line.code}; bill "
                             f"{replacement.use_instead} for this service", replacement.source)
    return None


def check_performer(line: WorkLine, policy: PayerPolicy) -> Decision | None:
    """Services by someone the payer does not recognise as a therapy provider are not payable."""
    if policy.performer_allowed(line.performed_by, line.code) is not None:
        return None
    who = PERFORMER_WORDS.get(line.performed_by, line.performed_by)
    source = sources.BPM15_230_1 if policy.medicare_coverage else policy.pricing.source
    reason = ("aide and massage-therapist services are not therapy, and athletic trainers are "
              "not Medicare therapy providers" if policy.medicare_coverage
              else "the plan does not credential this provider for this code")
    published = policy.rules.massage_therapist if policy.rules is not None else None
    if line.performed_by == "massage_therapist" and published is not None and published.known:
        source, reason = published.source, "the payer's published rule does not pay massage " \
            "therapists"
    return line.stop("non_covered", "coverage.performer",
                     f"{line.code} furnished by {who} cannot be billed as therapy to "
                     f"{policy.name}: {reason}. State practice acts also differ on what may be "
                     "delegated.", source)


# Lines that passed the four per-line rules, by what those rules read: the payer, the code, who
# furnished it, the RVU status and the catalogue entry. Most lines pass, and claims repeat them,
# so the rules run once per combination. The payer and entry are held so that their ids in the
# key cannot be reused by other objects while the entry stands.
_Clean = tuple[int, str, str, str, int]
CleanMemo = BoundedMemo[tuple[PayerPolicy, CodeInfo | None]]


def _clean_key(line: WorkLine, policy: PayerPolicy) -> _Clean:
    status = line.rvu.status if line.rvu is not None else ""
    return (id(policy), line.code, line.performed_by, status, id(line.info))


def _known_clean(line: WorkLine, policy: PayerPolicy, clean: CleanMemo) -> bool:
    held = clean.get(_clean_key(line, policy))
    return held is not None and held[0] is policy and held[1] is line.info


def _remember_clean(line: WorkLine, policy: PayerPolicy, clean: CleanMemo) -> None:
    clean.put(_clean_key(line, policy), (policy, line.info))


def screen(sheet: Worksheet) -> None:
    """Coverage, who may furnish, and one PT and one OT evaluation a day, line by line; each
    code's total RVUs go on the worksheet as the tie-break value for units and daily caps."""
    lines, policy, findings = sheet.lines, sheet.policy, sheet.findings
    clean: CleanMemo = sheet.caches.memo("rules.coverage.clean")
    totals: ObjectMemo[Decimal] = sheet.caches.objects("rules.coverage.rvu_totals")
    evaluations: dict[str, WorkLine] = {}
    values: dict[str, Decimal] = {}
    for line in lines:
        if not line.billable:
            continue
        if policy.discipline_modifiers and line.modifiers:
            contradiction = check_discipline_modifiers(line)
            if contradiction is not None:
                findings.append(contradiction)
                continue
        if not _known_clean(line, policy, clean):
            for rule in (check_performer, check_medicare_status, check_catalogue_coverage,
                         check_payer_rules):
                decision = rule(line, policy)
                if decision is not None:
                    findings.append(decision)
                    break
            if not line.billable:
                continue
            _remember_clean(line, policy, clean)
        if line.evaluation and line.info is not None:
            fixed = line.info.disciplines
            if fixed and line.discipline not in fixed:
                fitting = _evaluation_codes(sheet, line.discipline)
                findings.append(line.stop(
                    "invalid", "modifier.discipline",
                    f"{line.code} is an evaluation of the {'/'.join(fixed)} plan of care and "
                    f"cannot be billed under {line.discipline}"
                    + (f"; the {line.discipline} plan of care's evaluation codes are "
                       f"{', '.join(fitting)}" if fitting else ""), sources.CPM5_20_1))
                continue
            if line.assistant_minutes:
                # units are not assigned yet; a denied line keeps the unit billed
                line.units = 1 if line.basis == "untimed" else 0
                findings.append(line.stop(
                    "denied", "modifier.assistant",
                    f"{line.code} is an evaluation: assistants may not furnish evaluations, so "
                    "it cannot be billed with assistant minutes", sources.BPM15_220))
                continue
            # NCCI-XI §P.1 limits PT (97161-97164) and OT (97165-97168) evaluations to one a
            # day; SLP has no such rule (and 92607 + add-on 92608 are one evaluation).
            first = evaluations.get(line.discipline) if line.discipline != "SLP" else None
            if first is not None and policy.ncci:
                line.units = 1
                findings.append(line.stop(
                    "denied", "coverage.medicare" if policy.medicare_coverage
                    else "coverage.payer",
                    f"only one {line.discipline} evaluation or re-evaluation a day; "
                    f"{first.code} is already billed", sources.NCCI_XI_P))
                continue
            evaluations[line.discipline] = line
        if line.rvu is not None:
            values[line.code] = _total_rvus(line.rvu, totals)
    sheet.unit_values = values


def _evaluation_codes(sheet: Worksheet, discipline: str) -> tuple[str, ...]:
    """The evaluation and re-evaluation codes of one plan of care, from the catalogue."""
    memo: BoundedMemo[tuple[str, ...]] = sheet.caches.memo("rules.coverage.evaluations")
    found = memo.get(discipline)
    if found is None:
        found = memo.put(discipline, tuple(sorted(
            code for code, info in sheet.reference.catalogue.by_code.items()
            if info.evaluation and info.disciplines == [discipline])))
    return found


def _total_rvus(rvu: RvuRecord, totals: ObjectMemo[Decimal]) -> Decimal:
    """An RVU record's non-facility total, worked out once per record."""
    total = totals.get(rvu)
    if total is None:
        total = totals.put(rvu, rvu.work + rvu.pe_nonfacility + rvu.mp)
    return total
