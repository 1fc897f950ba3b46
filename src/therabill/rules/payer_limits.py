"""A payer's published rules, applied to a visit: massage coverage, daily caps, one code a day.

Two steps, each a no-op for a policy without published rules (and the daily cap also serves the
older ``unit_cap`` setting):

- ``screen_massage`` runs with coverage, before units: 97124 covered, only within a PT/OT plan
  of care, only as an adjunct to another procedure that day, or excluded.
- ``apply_payer_limits`` runs after the NCCI and payer pair edits: it cites the payer's source
  beside the NCCI and unit decisions it relies on, keeps one procedure code per discipline
  where the payer says so, cuts timed units over a daily cap (per discipline or combined,
  keeping the highest-paying units or the first claim lines), states published visit limits,
  and says in one finding which rules the payer's file holds as unknown and what the engine
  did in their place.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from therabill.decision import Decision, decide
from therabill.payers.policy import RULE_NAMES, DailyCapRule, PayerPolicy, UnitCap
from therabill.vocabulary import NO_MINUTES_BASES
from therabill.worksheet import WorkLine, Worksheet

MASSAGE = "97124"
PLAN_OF_CARE_DISCIPLINES = ("PT", "OT")


def massage_step(sheet: Worksheet) -> None:
    screen_massage(sheet.lines, sheet.policy, sheet.dos, sheet.findings)


def limits_step(sheet: Worksheet) -> None:
    apply_payer_limits(sheet.lines, sheet.policy, sheet.unit_values, sheet.dos, sheet.findings)


def screen_massage(lines: list[WorkLine], policy: PayerPolicy, dos: date,
                   findings: list[Decision]) -> None:
    """Apply the payer's published 97124 coverage to the visit's massage lines."""
    rules = policy.rules
    if rules is None or not rules.massage_97124.in_force(dos):
        return
    rule = rules.massage_97124
    for line in lines:
        if line.code != MASSAGE or not line.billable:
            continue
        reason = ""
        if rule.value == "excluded":
            reason = f"{policy.who} does not cover massage (97124)"
        elif rule.value == "plan_of_care_only" and (
                line.discipline not in PLAN_OF_CARE_DISCIPLINES):
            reason = (f"{policy.who} pays massage only within a PT or OT plan of care, and "
                      f"this line is billed under {line.discipline}")
        elif rule.value == "adjunct_only" and not any(
                other.billable and other.code != MASSAGE and not other.evaluation
                for other in lines):
            reason = (f"{policy.who} pays massage only as an adjunct to another therapy "
                      "procedure on the same day, and none is billed")
        if reason:
            findings.append(line.stop("non_covered", "payer.massage", reason, rule.source))
            continue
        words = {"covered": "covers massage (97124)",
                 "plan_of_care_only": "pays massage only within a PT or OT plan of care, as "
                 "this line is",
                 "adjunct_only": "pays massage only as an adjunct to another procedure the "
                 "same day, as here"}[rule.value]
        line.note("payer.massage", f"{policy.who} {words}", rule.source)


def apply_payer_limits(lines: list[WorkLine], policy: PayerPolicy, values: dict[str, Decimal],
                       dos: date, findings: list[Decision]) -> None:
    """The payer's limits and citations, after the edits (see the module text)."""
    rules = policy.rules
    if rules is None:
        if policy.unit_cap is not None:
            findings.extend(apply_daily_cap(lines, policy.unit_cap, values, "the plan"))
        return
    _cite(lines, policy, dos, findings)
    one_code = rules.one_code_per_discipline
    if one_code.value == "applies" and one_code.in_force(dos):
        findings.extend(_one_code_per_discipline(lines, policy, values))
    if rules.daily_cap.value == "capped" and rules.daily_cap.in_force(dos):
        findings.extend(apply_daily_cap(lines, rules.daily_cap, values, policy.who))
    limits = rules.visit_limits
    if limits.value == "limited" and limits.in_force(dos):
        stated = "; ".join(
            f"{limit.visits} {_discipline_words(limit.discipline)}visit(s) per "
            f"{limit.per.replace('_', ' ')}" + (f" ({limit.note})" if limit.note else "")
            for limit in limits.limits)
        findings.append(decide("payer.visit_limit", f"{policy.who} limits visits: {stated}. "
                               "The visit does not carry the count to date, so check it "
                               "against the patient's visits", limits.source, "info"))
    unknown = policy.unknown_rules()
    if unknown or policy.pricing.stand_in:
        said = "; ".join([f"{RULE_NAMES[name]} (checked as: {_assumed(policy, name)})"
                          for name in unknown]
                         + ([f"fees ({policy.pricing.stand_in})"]
                            if policy.pricing.stand_in else []))
        findings.append(decide(
            "payer.unknown", f"{policy.who}'s published rules do not say, as of "
            f"{policy.as_of}: {said}. Check the contract or plan documents",
            f"therabill payer file {policy.id}.yaml (as of {policy.as_of})", "info"))


def _discipline_words(discipline: str) -> str:
    return "" if discipline == "all" else f"{discipline} "


def _assumed(policy: PayerPolicy, name: str) -> str:
    """What the engine does in place of an unknown rule: the file's working settings."""
    pricing = policy.pricing
    lmt = policy.performer_allowed("massage_therapist", MASSAGE) is not None
    return {
        "ncci": "edits applied" if policy.ncci else "edits not applied",
        "unit_method": policy.unit_method.replace("_", " "),
        "daily_cap": "no cap",
        "assistant_rate": "Medicare's dated rate" if pricing.assistant_reduction
        else "paid in full",
        "mppr": "Medicare's MPPR" if pricing.mppr else "no reduction",
        "massage_97124": "covered like any therapy code",
        "massage_therapist": "paid" if lmt else "not paid",
        "one_code_per_discipline": "not applied",
        "visit_limits": "none checked",
    }[name]


def _cite(lines: list[WorkLine], policy: PayerPolicy, dos: date,
          findings: list[Decision]) -> None:
    """Beside each unit and NCCI decision, the payer text that makes it this payer's rule."""
    rules = policy.rules
    assert rules is not None
    ncci = rules.ncci
    method = rules.unit_method
    ncci_text = ""
    if ncci.known and policy.ncci:
        since = f" from {ncci.effective_from}" if ncci.effective_from else ""
        if policy.ncci_on(dos):
            ncci_text = f"{policy.who} applies the NCCI edits to its claims{since}"
        else:
            findings.append(decide("payer.ncci", f"NCCI edits not applied: {policy.who} "
                                   f"applies them only{since}", ncci.source, "info"))
    method_text = ""
    if method.known:
        method_text = {"cms_total_time": "counts timed units by CMS total time (8-minute rule)",
                       "cpt_per_code": "counts units code by code (CPT midpoint rule)",
                       "hybrid_per_code": "counts units code by code from each code's own time "
                       "(time in and out per code)"}[method.value]
    for line in lines:
        rules_seen = {step.rule for step in line.steps}
        if method_text and rules_seen & {"units.cms_total_time", "units.cpt_per_code"}:
            line.note("payer.units", f"{policy.who} {method_text}", method.source)
        if ncci_text and rules_seen & {"ncci.ptp", "ncci.mue", "modifier.ncci"}:
            line.note("payer.ncci", ncci_text, ncci.source)


def _one_code_per_discipline(lines: list[WorkLine], policy: PayerPolicy,
                             values: dict[str, Decimal]) -> list[Decision]:
    """Keep one procedure code per discipline (the highest-paying: the payer's text does not
    say which), and none on the day of a same-discipline evaluation when the payer says so."""
    assert policy.rules is not None
    rule = policy.rules.one_code_per_discipline
    findings: list[Decision] = []
    by_discipline: dict[str, list[WorkLine]] = {}
    evaluated: set[str] = set()
    for line in lines:
        if not line.billable:
            continue
        if line.evaluation:
            evaluated.add(line.discipline)
        else:
            by_discipline.setdefault(line.discipline, []).append(line)
    for discipline, group in by_discipline.items():
        if rule.none_with_evaluation and discipline in evaluated:
            for line in group:
                message = (f"{policy.who} pays no {discipline} procedure on the day of a "
                           f"{discipline} evaluation; {line.code} is denied (modifiers do not "
                           "change that)")
                findings.append(line.stop("denied", "payer.one_code", message, rule.source))
            continue
        codes = {line.code for line in group}
        if len(codes) < 2:
            continue
        worth: dict[str, Decimal] = {}
        for line in group:
            worth[line.code] = worth.get(line.code, Decimal(0)) + (
                values.get(line.code, Decimal(0)) * line.units)
        kept = max(sorted(codes), key=lambda code: worth[code])
        for line in group:
            if line.code == kept:
                line.note("payer.one_code", f"{policy.who} pays one {discipline} procedure "
                          f"code a day: {kept} is kept as the highest-paying (the policy does "
                          "not say which one is paid)", rule.source)
                continue
            message = (f"{policy.who} pays one {discipline} procedure code per day: "
                       f"{line.code} is denied, {kept} is paid")
            findings.append(line.stop("denied", "payer.one_code", message, rule.source))
    return findings


def _timed(line: WorkLine) -> bool:
    return line.basis not in NO_MINUTES_BASES


def cap_cut(cut: int, code: str, limit: int, group: str, paid_first: str) -> str:
    """What a daily cap cut from a line (``group``: the discipline capped, or "" for all)."""
    scope = f" of {group}" if group else ""
    which = ("the lowest-paying units are the ones cut" if paid_first == "highest_paying"
             else "units are paid in claim-line order, so the last lines are cut")
    return (f"{cut} unit(s) of {code} cut: the plan pays at most {limit} timed units{scope} "
            f"a day, and {which}")


def apply_daily_cap(lines: list[WorkLine], cap: UnitCap | DailyCapRule,
                    values: dict[str, Decimal], who: str) -> list[Decision]:
    """Cut timed units over a daily cap, per discipline or over the day, from the units the
    payer does not pay first: the lowest-paying ones, or the last claim lines."""
    codes: tuple[str, ...] = ()
    if isinstance(cap, UnitCap):
        limit, per, paid_first = cap.timed_units_per_day, "combined", "highest_paying"
        source = cap.source
    else:
        limit, per, paid_first, codes = cap.units, cap.per, cap.paid_first, cap.codes
        source = cap.source
    groups: dict[str, list[WorkLine]] = {}
    for line in lines:
        if (line.billable and _timed(line) and line.units > 0
                and (not codes or line.code in codes)):
            groups.setdefault(line.discipline if per == "discipline" else "", []).append(line)
    findings: list[Decision] = []
    for group, timed in groups.items():
        excess = sum(line.units for line in timed) - limit
        if excess <= 0:
            continue

        def cut_order(ln: WorkLine) -> tuple[object, ...]:
            # lowest value first; lines of one code (two plans of care, CQ/CO splits) are
            # ordered by what they are, never by input order: an assistant line pays less
            assistant = "CQ" in ln.modifiers or "CO" in ln.modifiers
            return (values.get(ln.code, Decimal(0)), ln.code, not assistant, ln.discipline,
                    sorted(ln.modifiers))

        order = (sorted(timed, key=cut_order) if paid_first == "highest_paying"
                 else list(reversed(timed)))
        for line in order:
            if excess <= 0:
                break
            cut = min(excess, line.units)
            excess -= cut
            line.units -= cut
            message = cap_cut(cut, line.code, limit, group, paid_first)
            line.note("payer.unit_cap", message, source, "warning")
            findings.append(decide("payer.unit_cap", message, source, "warning", (line.code,)))
            if line.units == 0:
                line.stop("not_billable", "payer.unit_cap", f"no units of {line.code} left "
                          f"under {who}'s daily cap", source, "warning")
    return findings
