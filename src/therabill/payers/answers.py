"""Answers across payers, as plain data: the list of payers, one payer's rules, and codes
compared across every payer (covered?, together the same day?, units, cap, CQ/CO, MPPR).

The ``payers`` commands print these; ``--format json`` prints them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from itertools import combinations
from typing import Any

from therabill.guide.compare import together
from therabill.guide.facts import PAYABLE_STATUSES, STATUS_WORDS
from therabill.payers.policy import PayerPolicy
from therabill.payers.published import MASSAGE, MASSAGE_WORDS, payer_rows, rule_words
from therabill.reference.store import ReferenceData

# The payer-wide rules the comparison shows beside the per-code answers.
COMPARED_RULES = ("unit_method", "daily_cap", "assistant_rate", "mppr")


def payer_list(policies: Mapping[str, PayerPolicy]) -> list[dict[str, Any]]:
    rows = []
    for policy in sorted(policies.values(), key=lambda p: (p.rules is None, p.id)):
        unknown = policy.unknown_rules()
        rows.append({
            "id": policy.id, "name": policy.name, "kind": policy.kind,
            "as_of": policy.as_of.isoformat() if policy.as_of else None,
            "published_rules": policy.rules is not None,
            "known": (len(policy.rules.items()) - len(unknown)) if policy.rules else None,
            "unknown": unknown,
        })
    return rows


def payer_detail(policy: PayerPolicy) -> dict[str, Any]:
    """Everything a payer's file says, each rule with its source, date and confidence."""
    pricing = policy.pricing
    return {
        "id": policy.id, "name": policy.name, "kind": policy.kind,
        "as_of": policy.as_of.isoformat() if policy.as_of else None,
        "published_rules": policy.rules is not None,
        "rules": payer_rows(policy),
        "denied_pairs": [{"column_1": p.column_1, "column_2": p.column_2,
                          "modifier_unlocks": p.modifier_unlocks, "source": p.source}
                         for p in policy.denied_pairs],
        "not_covered": [{"code": r.code, "reason": r.reason, "source": r.source}
                        for r in policy.not_covered],
        "pricing": {"basis": pricing.basis, "source": pricing.source,
                    "stand_in": pricing.stand_in or None},
    }


def code_coverage(code: str, policy: PayerPolicy, day: date,
                  reference: ReferenceData) -> dict[str, Any]:
    """Does the payer pay this code at all (before edits, caps and who furnished it)?"""
    for rule in policy.not_covered:
        if rule.code == code:
            return _answer("not covered", rule.source, note=rule.reason)
    for swap in policy.replacements:
        if swap.code == code:
            return _answer(f"bill {swap.use_instead} instead", swap.source)
    rules = policy.rules
    if code == MASSAGE and rules is not None:
        massage = rules.massage_97124
        if not massage.known:
            return _answer("unknown", f"therabill payer file {policy.id}", note=massage.note)
        in_force = massage.effective_from is None or day >= massage.effective_from
        return _answer(MASSAGE_WORDS[massage.value] if in_force else "unknown before "
                       f"{massage.effective_from}", massage.source, massage.confidence,
                       massage.note, massage.other_reading is not None)
    if policy.medicare_coverage:
        release = reference.rvu_release(day)
        record = release.records.get((code, "")) if release is not None else None
        if record is None:
            return _answer("no fee schedule entry on this date", "CMS PFS national RVU file")
        words = ("covered" if record.status in PAYABLE_STATUSES
                 else STATUS_WORDS.get(record.status, record.status))
        return _answer(f"{words} (status {record.status})",
                       f"CMS PFS national RVU file {release.release_id if release else ''}")
    if rules is not None:
        return _answer("no published exclusion found", f"therabill payer file {policy.id}")
    return _answer("covered (no exclusion in the file)", f"payer file {policy.id}")


def _answer(text: str, source: str, confidence: str | None = None, note: str = "",
            contradicted: bool = False) -> dict[str, Any]:
    return {"answer": text, "source": source, "confidence": confidence, "note": note,
            "other_reading": contradicted}


def compare_payers(codes: list[str], day: date, policies: Mapping[str, PayerPolicy],
                   reference: ReferenceData) -> dict[str, Any]:
    """The codes under every payer held: covered?, each pair the same day, and the payer-wide
    rules that change the claim (unit method, daily cap, CQ/CO rate, MPPR)."""
    payers = []
    for policy in sorted(policies.values(), key=lambda p: (p.rules is None, p.id)):
        rows = {row["rule"]: row for row in payer_rows(policy)}
        pairs = []
        # the answer leans on NCCI, which this payer has not said it applies
        ncci_assumed = policy.rules is not None and not policy.rules.ncci.known
        for first, second in combinations(codes, 2):
            answer = together(first, second, day, policy, reference)
            pairs.append({"codes": [first, second], "verdict": answer.verdict,
                          "answer": answer.text, "source": answer.source,
                          "ncci_assumed": ncci_assumed})
        massage_therapist = None
        if MASSAGE in codes and "massage_therapist" in rows:
            row = rows["massage_therapist"]
            massage_therapist = {key: row[key] for key in ("answer", "source", "confidence",
                                                            "note")}
        payers.append({
            "id": policy.id, "name": policy.name, "kind": policy.kind,
            "as_of": policy.as_of.isoformat() if policy.as_of else None,
            "coverage": {code: code_coverage(code, policy, day, reference) for code in codes},
            "massage_therapist": massage_therapist,
            "same_day": pairs,
            "rules": {name: _in_force(rows[name], day) for name in COMPARED_RULES},
        })
    return {"codes": codes, "date_of_service": day.isoformat(), "payers": payers,
            "caveat": "Plans differ and policies change: each answer is what the cited source "
                      "said when read (as_of), not the member's plan or the provider's contract. "
                      "Override a payer with your own file (README, Payer policies)."}


def _in_force(row: dict[str, Any], day: date) -> dict[str, Any]:
    """A rule's row for the comparison date: a rule that starts later says so."""
    start = row.get("effective_from")
    if start is not None and day < date.fromisoformat(start):
        return row | {"answer": f"not yet ({row['answer']} from {start})"}
    return row


__all__ = ["code_coverage", "compare_payers", "payer_detail", "payer_list", "rule_words"]
