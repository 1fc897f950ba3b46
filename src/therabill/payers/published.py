"""A payer's published rules in words: what each says, for one code or for the whole payer.

Plain data (text and source pairs, and rows of fields) for the guide's ``explain`` and
``compare`` and the ``payers`` commands; nothing here prints.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from therabill import sources
from therabill.payers.policy import (
    RULE_NAMES,
    DailyCapRule,
    MassageRule,
    MassageTherapistRule,
    NcciRule,
    OneCodeRule,
    PayerPolicy,
    PublishedRule,
    RateRule,
    UnitMethodRule,
    VisitLimitRule,
)

MASSAGE = "97124"
TextAndSource = tuple[str, str]

MASSAGE_WORDS = {
    "covered": "covered",
    "plan_of_care_only": "only within a PT/OT plan of care",
    "adjunct_only": "only as an adjunct to another procedure the same day",
    "excluded": "not covered",
}
METHOD_WORDS = {
    "cms_total_time": "CMS total time (8-minute rule)",
    "cpt_per_code": "CPT midpoint, code by code",
    "hybrid_per_code": "time in/out per code (hybrid 8-minute/midpoint)",
}


def percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def rule_words(name: str, rule: PublishedRule) -> str:
    """One rule's value in a few words (``unknown`` when the payer's text does not say)."""
    if not rule.known:
        return "unknown"
    if isinstance(rule, NcciRule):
        return "follows NCCI" if rule.value == "follows" else "does not follow NCCI"
    if isinstance(rule, UnitMethodRule):
        return METHOD_WORDS[rule.value]
    if isinstance(rule, DailyCapRule):
        if rule.value == "none":
            return "no cap"
        amount = (f"{rule.timed_units} timed units" if rule.timed_units is not None
                  else f"{rule.minutes} minutes")
        per = "per discipline" if rule.per == "discipline" else "all disciplines together"
        paid = ("highest-paying kept" if rule.paid_first == "highest_paying"
                else "paid in claim-line order")
        return f"{amount} a day, {per}, {paid}"
    if isinstance(rule, RateRule):
        if rule.rate is None:
            return "no reduction"
        if name == "assistant_rate":
            return f"CQ/CO paid at {percent(rule.rate)}"
        return f"{percent(rule.rate)} of practice expense on all but the first unit"
    if isinstance(rule, MassageRule):
        return MASSAGE_WORDS[rule.value]
    if isinstance(rule, MassageTherapistRule):
        return "paid" if rule.value == "paid" else "not paid"
    if isinstance(rule, OneCodeRule):
        if rule.value == "does_not_apply":
            return "does not apply"
        return "one code per discipline a day" + (
            ", none with a same-discipline evaluation" if rule.none_with_evaluation else "")
    if isinstance(rule, VisitLimitRule):
        if rule.value == "none":
            return "no limit"
        return "; ".join(
            f"{limit.visits} {'' if limit.discipline == 'all' else limit.discipline + ' '}"
            f"visit(s) per {limit.per.replace('_', ' ')}" for limit in rule.limits)
    return str(getattr(rule, "value", ""))


def rule_row(name: str, rule: PublishedRule) -> dict[str, Any]:
    """A rule as a plain record: its words, value, start date, source, confidence and note."""
    value = rule.value
    other = rule.other_reading
    row: dict[str, Any] = {
        "rule": name, "title": RULE_NAMES[name], "answer": rule_words(name, rule),
        "value": str(value) if isinstance(value, Decimal) else value,
        "effective_from": _iso(rule.effective_from),
        "source": rule.source,
        "confidence": rule.confidence,
        "note": rule.note,
    }
    if other is not None:
        row["other_reading"] = {"value": other.value, "effective_from": _iso(other.effective_from),
                                "source": other.source, "confidence": other.confidence,
                                "note": other.note}
    return row


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def settings_rows(policy: PayerPolicy) -> list[dict[str, Any]]:
    """For a file without published rules (Medicare, the contract examples): what its settings
    do, each citing the file's own sources."""
    pricing = policy.pricing
    cap = policy.unit_cap
    lmt = policy.performer_allowed("massage_therapist", MASSAGE)
    medicare = bool(policy.medicare_coverage)
    rows = [
        ("ncci", "follows NCCI" if policy.ncci else "does not follow NCCI",
         sources.NCCI_I_E if medicare and policy.ncci else ""),
        ("unit_method", METHOD_WORDS[policy.unit_method], policy.unit_method_source),
        ("daily_cap", f"{cap.timed_units_per_day} timed units a day, all disciplines together, "
         "highest-paying kept" if cap else "no cap", cap.source if cap else ""),
        ("assistant_rate", "CQ/CO at the dated Medicare rate (85% from 2022)"
         if pricing.assistant_reduction else "no reduction",
         sources.CPM5_20_1 if medicare else pricing.source),
        ("mppr", "the dated Medicare MPPR (50% of practice expense)" if pricing.mppr
         else "no reduction", sources.CPM5_10_7 if medicare else pricing.source),
        ("massage_therapist", "paid" if lmt else "not paid",
         lmt.source if lmt else sources.BPM15_230_1 if medicare
         else "the file's performers list"),
    ]
    return [{"rule": name, "title": RULE_NAMES[name], "answer": answer, "value": None,
             "effective_from": None, "source": source or f"payer file {policy.id}",
             "confidence": None, "note": "the file's settings (no published rules held)"}
            for name, answer, source in rows]


def payer_rows(policy: PayerPolicy) -> list[dict[str, Any]]:
    if policy.rules is None:
        return settings_rows(policy)
    return [rule_row(name, rule) for name, rule in policy.rules.items()]


def ncci_basis(policy: PayerPolicy, day: date) -> TextAndSource | None:
    """What the payer has published about the NCCI edits, for an answer that relies on them."""
    if policy.rules is None:
        return None
    rule = policy.rules.ncci
    if not rule.known:
        return (f"whether {policy.who} applies the NCCI edits is not published: assumed "
                f"{'it does' if policy.ncci else 'it does not'}",
                f"therabill payer file {policy.id}.yaml ({rule.note})")
    if rule.value == "follows" and not policy.ncci_on(day):
        return (f"{policy.who} applies the NCCI edits only from {rule.effective_from}",
                rule.source)
    verb = "applies" if rule.value == "follows" else "does not apply"
    return f"{policy.who} {verb} the NCCI edits", rule.source


def code_notes(code: str, policy: PayerPolicy) -> list[TextAndSource]:
    """The payer's published rules that bear on one code, in words with their sources."""
    rules = policy.rules
    if rules is None:
        return []
    notes: list[TextAndSource] = []
    confidence = " (confidence {})"
    if code == MASSAGE:
        for name in ("massage_97124", "massage_therapist"):
            rule: PublishedRule = getattr(rules, name)
            if rule.known:
                notes.append((f"{policy.who}: {RULE_NAMES[name]}: {rule_words(name, rule)}"
                              + confidence.format(rule.confidence),
                              rule.source))
            else:
                notes.append((f"{policy.who}: {RULE_NAMES[name]}: unknown — "
                              f"{rule.note}", f"therabill payer file {policy.id}"))
    cap = rules.daily_cap
    if cap.value == "capped" and (not cap.codes or code in cap.codes):
        notes.append((f"{policy.who}: {rule_words('daily_cap', cap)}"
                      + confidence.format(cap.confidence), cap.source))
    one = rules.one_code_per_discipline
    if one.value == "applies":
        notes.append((f"{policy.who}: {rule_words('one_code_per_discipline', one)}"
                      + confidence.format(one.confidence), one.source))
    unknown = [RULE_NAMES[name] for name in policy.unknown_rules()
               if name not in ("massage_97124", "massage_therapist") or code != MASSAGE]
    if unknown:
        notes.append((f"{policy.who} has published nothing found on: {', '.join(unknown)}",
                      f"therabill payer file {policy.id} (as of {policy.as_of})"))
    return notes
