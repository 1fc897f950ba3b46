"""Check a visit: from documented services to claim lines, each decision explained.

The engine is pure: reference data and payer policies come in already loaded, a result goes out.
The order follows CMS Pub 100-04 ch.5: coverage, units, modifiers, NCCI edits, then pricing
(fee schedule, MPPR, allowed, deductible and coinsurance, CQ/CO, sequestration) and the KX
threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from therabill import sources
from therabill.decision import Decision, decide
from therabill.model import CheckResult, ClaimLine, DataUsed, Totals, Visit, VisitLine
from therabill.payers.policy import PayerPolicy, load_policies
from therabill.pricing.engine import price_visit
from therabill.reference.records import MueRelease
from therabill.reference.store import EditTable, ReferenceData, default_reference
from therabill.rules import coverage
from therabill.rules.assistant import split_timed_units, split_untimed
from therabill.rules.modifiers import (
    ASSISTANT_MODIFIER,
    flag_unknown_modifiers,
    line_discipline,
    settle_discipline_modifier,
)
from therabill.rules.ncci import apply_mue, apply_ptp
from therabill.rules.payer_edits import apply_denied_pairs, apply_unit_cap
from therabill.rules.units_step import assign_units
from therabill.rules.worklist import WorkLine

NO_MINUTES_BASES = ("untimed", "per_item")


def check(visit: Visit | Mapping[str, Any], *, reference: ReferenceData | None = None,
          policies: Mapping[str, PayerPolicy] | None = None) -> CheckResult:
    """Check one visit (a dict or a ``Visit``) and return its claim lines and findings."""
    reference = reference if reference is not None else default_reference()
    policies = policies if policies is not None else load_policies()
    findings: list[Decision] = []
    parsed: Visit | None
    bad_lines: dict[int, Mapping[str, Any]]
    if isinstance(visit, Visit):
        parsed, bad_lines, positions = visit, {}, list(range(len(visit.lines)))
    else:
        parsed, bad_lines, positions = _parse_fast(visit, findings)
        if parsed is None:
            raw = visit if isinstance(visit, Mapping) else {}
            return CheckResult(
                visit_id=str(raw.get("visit_id", "")), date_of_service=None,
                payer=str(raw.get("payer", "medicare")), unit_method=None, lines=[],
                totals=Totals(), findings=findings, data=DataUsed())
    return _check(parsed, bad_lines, positions, findings, reference, policies)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "visit"


def _parse_fast(raw: Mapping[str, Any], findings: list[Decision]
                ) -> tuple[Visit | None, dict[int, Mapping[str, Any]], list[int]]:
    """Most visits are well formed: validate them in one go, and look line by line only when
    something is wrong, so a bad line can be set aside while the others are still checked."""
    try:
        visit = Visit.model_validate(raw)
    except ValidationError:
        return _parse(raw, findings)
    return visit, {}, list(range(len(visit.lines)))


def _parse(raw: Mapping[str, Any], findings: list[Decision]
           ) -> tuple[Visit | None, dict[int, Mapping[str, Any]], list[int]]:
    """Validate the visit; a bad line is reported and set aside, the others still get checked."""
    if not isinstance(raw, Mapping):
        findings.append(decide("input", "a visit must be a JSON object", "therabill visit format",
                               "error"))
        return None, {}, []
    lines = raw.get("lines", [])
    good: list[Any] = []
    positions: list[int] = []  # where each readable line stood in the input
    bad: dict[int, Mapping[str, Any]] = {}
    if isinstance(lines, list):
        for index, line in enumerate(lines):
            try:
                good.append(VisitLine.model_validate(line))
                positions.append(index)
            except ValidationError as exc:
                bad[index] = line if isinstance(line, Mapping) else {}
                for error in exc.errors():
                    where = ".".join(str(p) for p in (index, *error["loc"]))
                    findings.append(decide(
                        "input", f"lines.{where}: {error['msg']}",
                        "therabill visit format", "error"))
        header = {**raw, "lines": good}
    else:
        header = dict(raw)
    try:
        return Visit.model_validate(header), bad, positions
    except ValidationError as exc:
        for error in exc.errors():
            findings.append(decide("input", f"{_field(error['loc'])}: {error['msg']}",
                                   "therabill visit format", "error"))
        return None, bad, positions


def _check(visit: Visit, bad_lines: dict[int, Mapping[str, Any]], positions: list[int],
           findings: list[Decision],
           reference: ReferenceData, policies: Mapping[str, PayerPolicy]) -> CheckResult:
    dos = visit.date_of_service
    data = DataUsed(releases={}, parameters={}, notes=[])
    policy = policies.get(visit.payer)
    if policy is None:
        findings.append(decide("input", f"payer: no policy named {visit.payer!r}; known: "
                               f"{', '.join(sorted(policies))}", "therabill payer policies",
                               "error"))
        return _result(visit, None, [], findings, data, bad_lines)
    rvu_release = reference.rvu_release(dos)
    if rvu_release is None:
        findings.append(decide(
            "data", f"no fee schedule (RVU) data is loaded for {dos}: releases held cover "
            f"{_years(reference)}; import the CMS RVU file for that year with "
            "`therabill data import`", "therabill reference data", "error"))
    else:
        data.releases["rvu"] = f"{rvu_release.release_id} (effective {rvu_release.effective_from})"
    lines = _work_lines(visit, positions, rvu_release, reference, findings)
    unit_values = _screen(lines, visit, policy, dos, findings)
    findings.extend(assign_units(lines, policy.unit_method, policy.pool_disciplines, unit_values))
    for line in lines:
        if line.billable and line.units == 0:
            line.stop("not_billable", "units." + policy.unit_method,
                      f"{line.code}: {line.minutes} minutes earn no unit on this day; document "
                      "the service, do not bill it", sources.CPM5_20_2, "info")
    claim_lines: list[WorkLine] = []
    for line in lines:
        # a line denied while screening (an evaluation) still goes on the claim: settle it too
        on_claim = line.status in ("payable", "denied")
        findings.extend(settle_discipline_modifier(line) if on_claim
                        and policy.discipline_modifiers else [])
        findings.extend(flag_unknown_modifiers(line))
        claim_lines.extend(_assistant_split(line, dos, policy, reference, findings))
    _ncci(claim_lines, policy, dos, reference, findings, data)
    findings.extend(apply_denied_pairs(claim_lines, policy))
    if policy.unit_cap is not None:
        findings.extend(apply_unit_cap(claim_lines, policy.unit_cap, unit_values))
    price_visit(visit, claim_lines, policy, reference, findings, data)
    return _result(visit, policy, claim_lines, findings, data, bad_lines)


def _years(reference: ReferenceData) -> str:
    years = sorted({r.effective_from.year for r in reference.rvu})
    return f"{years[0]}–{years[-1]}" if years else "no years"


def _work_lines(visit: Visit, positions: list[int], rvu_release: Any,
                reference: ReferenceData, findings: list[Decision]) -> list[WorkLine]:
    """Validate codes and minutes and combine lines of one code and discipline (one line per
    code per day, as MACs require)."""
    combined: dict[tuple[str, str], WorkLine] = {}
    catalogue = reference.catalogue
    for index, entered in zip(positions, visit.lines, strict=True):
        info = catalogue.get(entered.code)
        rvu = rvu_release.records.get((entered.code, "")) if rvu_release is not None else None
        fixed = info.disciplines if info is not None and info.evaluation else None
        discipline = line_discipline(entered.modifiers, entered.discipline, visit.discipline,
                                     fixed)
        line = WorkLine(entered.code, discipline, entered.minutes, entered.assistant_minutes,
                        list(dict.fromkeys(entered.modifiers)), entered.charge,
                        entered.performed_by, info, rvu, (index,))
        problem = _line_problem(entered, info, rvu, reference)
        if problem:
            findings.append(line.stop("invalid", "input", f"lines.{index}.{problem}",
                                      "therabill visit format"))
            combined[(f"#{index}", "")] = line
            continue
        key = (entered.code, discipline)
        if key in combined:
            _merge(combined[key], line)
        else:
            combined[key] = line
    return list(combined.values())


def _line_problem(entered: VisitLine, info: Any, rvu: Any, reference: ReferenceData) -> str:
    if info is None and rvu is None and entered.code not in reference.known_codes:
        return f"code: {entered.code} is not a code therabill knows (therapy codes only)"
    basis = info.time.basis if info is not None else "untimed"
    if basis not in NO_MINUTES_BASES and entered.minutes is None:
        return f"minutes: {entered.code} is a timed code; its minutes are required"
    if entered.minutes is not None and entered.assistant_minutes > entered.minutes:
        return (f"assistant_minutes: {entered.assistant_minutes} assistant minutes exceed the "
                f"{entered.minutes} minutes of the service")
    return ""


def _merge(into: WorkLine, other: WorkLine) -> None:
    if into.minutes is not None or other.minutes is not None:
        into.minutes = (into.minutes or 0) + (other.minutes or 0)
    into.assistant_minutes += other.assistant_minutes
    if other.charge is not None:
        into.charge = (into.charge or Decimal(0)) + other.charge
    into.modifiers = list(dict.fromkeys([*into.modifiers, *other.modifiers]))
    into.inputs = (*into.inputs, *other.inputs)
    into.note("units.combine", f"input lines {', '.join(str(i) for i in into.inputs)} of "
              f"{into.code} combined into one claim line", sources.MAC_ONE_LINE)


def _screen(lines: list[WorkLine], visit: Visit, policy: PayerPolicy, dos: date,
            findings: list[Decision]) -> dict[str, Decimal]:
    """Coverage and who-may-furnish checks; returns each line's value for tie-breaks."""
    evaluations: dict[str, WorkLine] = {}
    values: dict[str, Decimal] = {}
    for line in lines:
        if not line.billable:
            continue
        for rule in (coverage.check_performer, coverage.check_medicare_status,
                     coverage.check_catalogue_coverage, coverage.check_payer_rules):
            decision = rule(line, policy)
            if decision is not None:
                findings.append(decision)
                break
        if not line.billable:
            continue
        if line.info is not None and line.info.evaluation:
            fixed = line.info.disciplines
            if fixed and line.discipline not in fixed:
                findings.append(line.stop(
                    "invalid", "modifier.discipline",
                    f"{line.code} is an evaluation of the {'/'.join(fixed)} plan of care and "
                    f"cannot be billed under {line.discipline}", sources.CPM5_20_1))
                continue
            if line.assistant_minutes:
                # units are not assigned yet; a denied line keeps the unit billed
                line.units = 1 if line.info.time.basis == "untimed" else 0
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
                    "denied", "coverage.medicare" if policy.kind == "medicare"
                    else "coverage.payer",
                    f"only one {line.discipline} evaluation or re-evaluation a day; "
                    f"{first.code} is already billed", sources.NCCI_XI_P))
                continue
            evaluations[line.discipline] = line
        if line.rvu is not None:
            values[line.code] = line.rvu.work + line.rvu.pe_nonfacility + line.rvu.mp
    return values


def _assistant_split(line: WorkLine, dos: date, policy: PayerPolicy, reference: ReferenceData,
                     findings: list[Decision]) -> list[WorkLine]:
    """Split a line into units with and without CQ/CO by who furnished the minutes."""
    if line.status not in ("payable", "denied"):
        return [line]
    de_minimis = reference.parameters.at("assistant_de_minimis", dos)
    modifier = ASSISTANT_MODIFIER.get(line.discipline) if de_minimis is not None else None
    wrong = [m for m in line.modifiers if m in ("CQ", "CO") and m != modifier]
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
    share = Fraction(str(de_minimis.value))
    basis = line.info.time.basis if line.info is not None else "untimed"
    if basis in NO_MINUTES_BASES:
        split = split_untimed(line.minutes, line.assistant_minutes, share)
    else:
        block = line.info.time.unit_minutes if line.info is not None else 15
        split = split_timed_units(line.units, line.minutes or 0, line.assistant_minutes,
                                  block or 15, share)
    source = f"{sources.CPM5_20_1}; {sources.CQ_EXAMPLES}; {de_minimis.source}"
    if split.with_modifier == 0:
        line.modifiers = [m for m in line.modifiers if m not in ("CQ", "CO")]
        line.note("modifier.assistant", f"no {modifier}: {split.reason}", source)
        return [line]
    base = [m for m in line.modifiers if m not in ("CQ", "CO")]
    with_mod = WorkLine(line.code, line.discipline, line.minutes, line.assistant_minutes,
                        [*base[:1], modifier, *base[1:]], line.charge, line.performed_by,
                        line.info, line.rvu, line.inputs, steps=list(line.steps))
    with_mod.units = split.with_modifier
    findings.append(with_mod.note(
        "modifier.assistant", f"{modifier} on {split.with_modifier} unit(s): {split.reason}",
        source, "warning" if modifier not in line.modifiers else "info"))
    if split.without_modifier == 0:
        return [with_mod]
    line.units = split.without_modifier
    line.modifiers = base
    line.note("modifier.assistant", f"{split.without_modifier} unit(s) without {modifier}: "
              f"{split.reason}", source)
    if line.charge is not None:
        total = split.with_modifier + split.without_modifier
        with_mod.charge = (line.charge * split.with_modifier / total).quantize(Decimal("0.01"))
        line.charge = line.charge - with_mod.charge
    return [line, with_mod]


@dataclass(frozen=True, slots=True)
class _NcciDay:
    """The edit tables for a date and what a result says about them, worked out once a day."""

    table: EditTable | None
    table_note: str
    mue: MueRelease | None
    mue_note: str
    releases: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def _ncci_day(reference: ReferenceData, dos: date) -> _NcciDay:
    cache: dict[date, _NcciDay] = reference.__dict__.setdefault("_ncci_days", {})
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
    found = _NcciDay(table.value if table else None, table.note if table else "",
                     mue.value if mue else None, mue.note if mue else "", tuple(releases),
                     tuple(dict.fromkeys(notes)))
    if len(cache) < 20_000:
        cache[dos] = found
    return found


def _ncci(lines: list[WorkLine], policy: PayerPolicy, dos: date, reference: ReferenceData,
          findings: list[Decision], data: DataUsed) -> None:
    if not policy.ncci:
        return
    day = _ncci_day(reference, dos)
    data.releases.update(day.releases)
    data.notes.extend(n for n in day.notes if n not in data.notes)
    if day.table is None:
        findings.append(decide("data", "no NCCI PTP table is loaded: pair edits not checked",
                               "therabill reference data", "warning"))
    else:
        findings.extend(apply_ptp(lines, day.table, dos, day.table_note))
    if day.mue is not None:
        findings.extend(apply_mue(lines, day.mue, day.mue_note))


def _result(visit: Visit, policy: PayerPolicy | None, lines: list[WorkLine],
            findings: list[Decision], data: DataUsed,
            bad_lines: dict[int, Mapping[str, Any]]) -> CheckResult:
    claim_lines = [_claim_line(line) for line in lines]
    for index, raw in sorted(bad_lines.items()):
        claim_lines.append(ClaimLine(
            code=str(raw.get("code", "")), units=0, modifiers=[], status="invalid",
            discipline=None, minutes=None, assistant_minutes=0, charge=None,
            fee_schedule_amount=None, allowed=None, payer_paid=None, patient_owes=None,
            reductions=None,
            steps=[decide("input", f"lines.{index} could not be read; see the findings",
                          "therabill visit format", "error")]))
    priced = [ln for ln in claim_lines if ln.allowed is not None]
    totals = Totals(
        units=sum(ln.units for ln in claim_lines if ln.status == "payable"),
        allowed=_sum_amounts(ln.allowed for ln in priced) if priced else None,
        payer_paid=_sum_amounts(ln.payer_paid for ln in priced) if priced else None,
        patient_owes=_sum_amounts(ln.patient_owes for ln in priced) if priced else None)
    return CheckResult(
        visit_id=visit.visit_id, date_of_service=visit.date_of_service, payer=visit.payer,
        unit_method=policy.unit_method if policy else None, lines=claim_lines, totals=totals,
        findings=findings, data=data)


def _sum_amounts(amounts: Iterable[Decimal | None]) -> Decimal:
    """A visit total to the cent; a line without that amount adds nothing to it."""
    return sum((amount for amount in amounts if amount is not None), Decimal("0.00"))


def _claim_line(line: WorkLine) -> ClaimLine:
    return ClaimLine(
        code=line.code, units=line.units, modifiers=line.modifiers, status=line.status,
        discipline=line.discipline, minutes=line.minutes, assistant_minutes=line.assistant_minutes,
        charge=line.charge, fee_schedule_amount=line.fee_schedule_amount, allowed=line.allowed,
        payer_paid=line.payer_paid, patient_owes=line.patient_owes, reductions=line.reductions,
        steps=line.steps)
