"""Coverage: is this code valid and payable for this payer, and may this person furnish it?

Medicare's facts come from the RVU file's status indicator for the date (I = not valid, B =
bundled, N = non-covered, ...) and from the code catalogue (dry needling, athletic training);
a payer's own exclusions and replacement codes come from its policy file.
"""

from __future__ import annotations

from therabill import sources
from therabill.decision import Decision
from therabill.model import LineStatus
from therabill.payers.policy import PayerPolicy
from therabill.rules.worklist import WorkLine

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
    if policy.kind != "medicare" or line.rvu is None:
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
    if policy.kind != "medicare" or medicare is None:
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
    source = sources.BPM15_230_1 if policy.kind == "medicare" else policy.pricing.source
    reason = ("aide and massage-therapist services are not therapy, and athletic trainers are "
              "not Medicare therapy providers" if policy.kind == "medicare"
              else "the plan does not credential this provider for this code")
    return line.stop("non_covered", "coverage.performer",
                     f"{line.code} furnished by {who} cannot be billed as therapy to "
                     f"{policy.name}: {reason}. State practice acts also differ on what may be "
                     "delegated.", source)
