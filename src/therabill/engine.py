"""Check a visit: from documented services to claim lines, each decision explained.

The engine is pure: reference data and payer policies come in already loaded, a result goes out.
This module only sets the order, which follows CMS Pub 100-04 ch.5; each step lives in the module
named for its rule: intake (input to work lines), rules.coverage, rules.units_step,
rules.modifiers, rules.assistant_step (CQ/CO), rules.ncci, rules.payer_edits, then pricing
(fee schedule, MPPR, allowed, deductible and coinsurance, CQ/CO, sequestration, KX threshold).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from therabill import sources
from therabill.decision import Decision, decide
from therabill.intake import echoed, parse_visit, work_lines
from therabill.memo import BoundedMemo, memo_on
from therabill.model import CheckResult, ClaimLine, DataUsed, Totals, Visit
from therabill.money import ZERO
from therabill.payers.policy import PayerPolicy, load_policies
from therabill.pricing.engine import price_visit
from therabill.reference.parameters import DatedValue
from therabill.reference.records import RvuRelease
from therabill.reference.store import ReferenceData, default_reference, load_reference
from therabill.rules import coverage
from therabill.rules.assistant_step import assistant_modifiers
from therabill.rules.modifiers import settle_modifiers
from therabill.rules.ncci import apply_ncci
from therabill.rules.payer_edits import apply_denied_pairs, apply_unit_cap
from therabill.rules.units_step import assign_units
from therabill.rules.worklist import WorkLine


class Engine:
    """One checker: the reference data, the payer policies and the caches worked out from them.

    Build one per process (or per data directory) and share it: ``check`` one visit,
    ``check_many`` a stream of them. ``therabill.check`` uses a default engine.
    """

    def __init__(self, reference: ReferenceData | None = None,
                 policies: Mapping[str, PayerPolicy] | None = None,
                 data_dir: Path | None = None) -> None:
        if reference is None:
            reference = (default_reference() if data_dir is None
                         else load_reference(data_dir))
        if policies is None:
            policies = load_policies(None if data_dir is None else data_dir / "payers")
        self.reference = reference
        self.policies = dict(policies)

    def check(self, visit: Visit | Mapping[str, Any]) -> CheckResult:
        """Check one visit (a dict or a ``Visit``): its claim lines and findings."""
        return check(visit, reference=self.reference, policies=self.policies)

    def check_many(self, visits: Iterable[Visit | Mapping[str, Any]]) -> Iterator[CheckResult]:
        """Check visits one after another, yielding each result as soon as it is ready (in
        input order, holding none of them)."""
        for visit in visits:
            yield self.check(visit)


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
        parsed, bad_lines, positions = parse_visit(visit, findings)
        if parsed is None:
            raw = visit if isinstance(visit, Mapping) else {}
            return CheckResult(
                visit_id=echoed(raw.get("visit_id")), patient_id=_text(raw.get("patient_id")),
                date_of_service=None,
                payer=echoed(raw.get("payer"), "medicare"), unit_method=None, lines=[],
                totals=Totals(), findings=findings, data=DataUsed())
    return _check(parsed, bad_lines, positions, findings, reference, policies)


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
    rvu_release, rvu_label, de_minimis = _day_facts(reference, dos)
    if rvu_release is None:
        findings.append(decide(
            "data", f"no fee schedule (RVU) data is loaded for {dos}: releases held cover "
            f"{_years(reference)}; import the CMS RVU file for that year with "
            "`therabill data import`", "therabill reference data", "error"))
    else:
        data.releases["rvu"] = rvu_label
    lines = work_lines(visit, positions, rvu_release, reference, findings)
    unit_values = coverage.screen(lines, policy, findings)
    findings.extend(assign_units(lines, policy.unit_method, policy.pool_disciplines, unit_values))
    for line in lines:
        if line.billable and line.units == 0:
            line.stop("not_billable", "units." + policy.unit_method,
                      f"{line.code}: {line.minutes} minutes earn no unit on this day; document "
                      "the service, do not bill it", sources.CPM5_20_2, "info")
    claim_lines: list[WorkLine] = []
    for line in lines:
        # a line denied while screening (an evaluation) still goes on the claim: settle it too
        findings.extend(settle_modifiers(line, policy.discipline_modifiers))
        claim_lines.extend(assistant_modifiers(line, policy, de_minimis, findings))
    apply_ncci(claim_lines, policy, dos, reference, findings, data)
    findings.extend(apply_denied_pairs(claim_lines, policy))
    if policy.unit_cap is not None:
        findings.extend(apply_unit_cap(claim_lines, policy.unit_cap, unit_values))
    price_visit(visit, claim_lines, policy, reference, findings, data)
    return _result(visit, policy, claim_lines, findings, data, bad_lines)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _day_facts(reference: ReferenceData, dos: date
               ) -> tuple[RvuRelease | None, str, DatedValue | None]:
    """The RVU release in force on a date (and how results name it) and the assistant de
    minimis share, looked up once a date (a claims file repeats its dates)."""
    cache: BoundedMemo[tuple[RvuRelease | None, str, DatedValue | None]] = memo_on(
        reference, "_day_facts")
    found = cache.get(dos)
    if found is None:
        release = reference.rvu_release(dos)
        label = (f"{release.release_id} (effective {release.effective_from})"
                 if release is not None else "")
        found = cache.put(dos, (release, label,
                                reference.parameters.at("assistant_de_minimis", dos)))
    return found


def _years(reference: ReferenceData) -> str:
    years = sorted({r.effective_from.year for r in reference.rvu})
    return f"{years[0]}–{years[-1]}" if years else "no years"


def _result(visit: Visit, policy: PayerPolicy | None, lines: list[WorkLine],
            findings: list[Decision], data: DataUsed,
            bad_lines: dict[int, Mapping[str, Any]]) -> CheckResult:
    claim_lines = [_claim_line(line) for line in lines]
    for index, raw in sorted(bad_lines.items()) if bad_lines else ():
        claim_lines.append(ClaimLine(
            code=str(raw.get("code", "")), units=0, modifiers=[], status="invalid",
            discipline=None, minutes=None, assistant_minutes=0, charge=None,
            fee_schedule_amount=None, allowed=None, payer_paid=None, patient_owes=None,
            reductions=None,
            steps=[decide("input", f"lines.{index} could not be read; see the findings",
                          "therabill visit format", "error")]))
    # Positional, in CheckResult's field order (visit_id, patient_id, date_of_service, payer,
    # unit_method, lines, totals, findings, data): the cheapest call from compiled code.
    return CheckResult(visit.visit_id, visit.patient_id, visit.date_of_service, visit.payer,
                       policy.unit_method if policy else None, claim_lines, _totals(lines),
                       findings, data)


def _totals(lines: list[WorkLine]) -> Totals:
    """Payable units and money totals to the cent; a line without an amount adds nothing, and
    a visit with no priced line has no money totals at all. (Lines that could not be read are
    neither payable nor priced, so the work lines give the same totals as the claim lines.)"""
    units = 0
    allowed = payer_paid = patient_owes = ZERO
    priced = False
    for line in lines:
        if line.status == "payable":
            units += line.units
        if line.allowed is None:
            continue
        priced = True
        allowed += line.allowed
        if line.payer_paid is not None:
            payer_paid += line.payer_paid
        if line.patient_owes is not None:
            patient_owes += line.patient_owes
    if not priced:
        return Totals(units)
    return Totals(units, allowed, payer_paid, patient_owes)


def _claim_line(line: WorkLine) -> ClaimLine:
    # Positional, in ClaimLine's field order: the cheapest call from compiled code.
    return ClaimLine(line.code, line.units, line.modifiers, line.status, line.discipline,
                     line.minutes, line.assistant_minutes, line.charge, line.fee_schedule_amount,
                     line.allowed, line.payer_paid, line.patient_owes, line.reductions,
                     line.steps)
