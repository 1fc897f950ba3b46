"""Check a visit: from documented services to claim lines, each decision explained.

``Engine`` owns the reference data, the payer policies and every cache worked out from them;
it is pure otherwise: a visit comes in, a result goes out. A visit becomes a worksheet
(``therabill.worksheet``) that the steps below change in order, which follows CMS Pub 100-04
ch.5. Each step lives in the module named for its rule; a new rule is a module with one step
function and its place in ``STEPS``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from therabill.decision import Decision, decide
from therabill.intake import echoed, parse_visit, work_lines
from therabill.memo import BoundedMemo, Caches
from therabill.model import MONEY_FIELDS, CheckResult, ClaimLine, ThresholdYear, Totals, Visit
from therabill.payers.policy import PayerPolicy, load_policies
from therabill.pricing.engine import price_lines, share_lines
from therabill.reference.parameters import DatedValue
from therabill.reference.records import RvuRelease
from therabill.reference.store import ReferenceData, default_reference, load_reference
from therabill.rules.assistant_step import assistant_step
from therabill.rules.coverage import screen
from therabill.rules.documentation import documentation_step
from therabill.rules.modifiers import settle_step
from therabill.rules.ncci import apply_ncci
from therabill.rules.payer_edits import denied_pairs_step
from therabill.rules.payer_limits import limits_step, massage_step
from therabill.rules.thresholds import apply_thresholds
from therabill.rules.units_step import units_step
from therabill.worksheet import Step, WorkLine, Worksheet

# The order the rules run in, after intake has made the work lines.
STEPS: tuple[Step, ...] = (
    screen,             # rules.coverage: status, catalogue facts, performer, evaluations a day
    massage_step,       # rules.payer_limits: the payer's published 97124 coverage
    units_step,         # rules.units_step: the payer's unit method
    documentation_step,  # rules.documentation: the note's time totals against the lines
    settle_step,        # rules.modifiers: GP/GO/GN, unknown modifiers
    assistant_step,     # rules.assistant_step: CQ/CO splits
    apply_ncci,         # rules.ncci: PTP pairs, MUEs
    denied_pairs_step,  # rules.payer_edits: the payer's own pairs
    limits_step,        # rules.payer_limits: one code a day, daily caps, citations, unknowns
    price_lines,        # pricing: unit prices, MPPR, allowed
    apply_thresholds,   # rules.thresholds: KX and targeted review
    share_lines,        # pricing: deductible, coinsurance, CQ/CO, sequestration
)


class Engine:
    """One checker: the reference data, the payer policies and the caches worked out from them.

    Build one per process (or per data directory) and share it, across threads too: ``check``
    one visit, ``check_many`` a stream of them. Every cache is bounded (``therabill.memo``) and
    counted by ``stats()``. ``therabill.check`` uses a default engine.
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
        self.caches = Caches()

    def check(self, visit: Visit | Mapping[str, Any]) -> CheckResult:
        """Check one visit (a dict or a ``Visit``): its claim lines and findings."""
        findings: list[Decision] = []
        bad_lines: dict[int, Mapping[str, Any]]
        parsed: Visit | None
        if isinstance(visit, Visit):
            parsed, bad_lines, positions = visit, {}, list(range(len(visit.lines)))
        else:
            parsed, bad_lines, positions = parse_visit(visit, findings)
            if parsed is None:
                raw = visit if isinstance(visit, Mapping) else {}
                return CheckResult(
                    visit_id=echoed(raw.get("visit_id")),
                    patient_id=echoed(raw.get("patient_id")) or None, date_of_service=None,
                    payer=echoed(raw.get("payer"), "medicare"), unit_method=None, lines=[],
                    totals=Totals(), findings=findings)
        return self._check(parsed, bad_lines, positions, findings)

    def check_many(self, visits: Iterable[Visit | Mapping[str, Any]]) -> Iterator[CheckResult]:
        """Check visits one after another, yielding each result as soon as it is ready (in
        input order, holding none of them). A visit id seen before in the same stream gets a
        finding; only the ids are kept for that (a few dozen bytes a visit)."""
        seen: dict[str, int] = {}
        for number, visit in enumerate(visits):
            result = self.check(visit)
            if result.visit_id:
                first = seen.setdefault(result.visit_id, number)
                if first != number:
                    result.findings.append(decide(
                        "input", f"visit_id {result.visit_id!r} was already used by visit "
                        f"{first + 1} of this input: both are checked, but a claim system "
                        "would take one for the other", "therabill visit format", "warning"))
            yield result

    def stats(self) -> dict[str, dict[str, int]]:
        """Entries and limit of every cache, by name."""
        return self.caches.stats()

    def clear_caches(self) -> None:
        self.caches.clear()

    def _check(self, visit: Visit, bad_lines: dict[int, Mapping[str, Any]],
               positions: list[int], findings: list[Decision]) -> CheckResult:
        policy = self.policies.get(visit.payer)
        if policy is None:
            findings.append(decide("input", f"payer: no policy named {visit.payer!r}; known: "
                                   f"{', '.join(sorted(self.policies))}",
                                   "therabill payer policies", "error"))
            return _result(visit, None, [], findings, bad_lines, None)
        reference = self.reference
        _state_assumptions(visit, policy, findings)
        if not visit.lines and not bad_lines:
            findings.append(decide("input", "the visit has no lines: nothing to bill",
                                   "therabill visit format", "warning"))
        sheet = Worksheet(visit, policy, reference, self.caches, positions, findings)
        if reference.problems:  # the user's imports are damaged: said on every result
            sheet.data.notes.extend(reference.problems)
        rvu_release, rvu_label, sheet.de_minimis = _day_facts(
            reference, sheet.dos, self.caches.memo("engine.days"))
        if rvu_release is None:
            findings.append(decide(
                "data", f"no fee schedule (RVU) data is loaded for {sheet.dos}: releases held "
                f"cover {_years(reference)}; import the CMS RVU file for that year with "
                "`therabill data import`", "therabill reference data", "error"))
        else:
            sheet.data.releases["rvu"] = rvu_label
        sheet.rvu_release = rvu_release
        sheet.lines = work_lines(visit, positions, rvu_release, reference, findings)
        for step in STEPS:
            step(sheet)
        result = _result(visit, policy, sheet.lines, findings, bad_lines, sheet.threshold_after)
        result.data = sheet.data
        return result


_DEFAULT: list[Engine] = []  # the default engine, made on first use (one slot, never grown)
_DEFAULT_LOCK = threading.Lock()


def default_engine() -> Engine:
    """The engine ``therabill.check`` uses: bundled data plus the user's imports."""
    if not _DEFAULT:
        with _DEFAULT_LOCK:
            if not _DEFAULT:
                _DEFAULT.append(Engine())
    return _DEFAULT[0]


def check(visit: Visit | Mapping[str, Any], *, reference: ReferenceData | None = None,
          policies: Mapping[str, PayerPolicy] | None = None) -> CheckResult:
    """Check one visit with the default engine, or with an engine over the reference data and
    policies given (built for this call: keep an ``Engine`` to check many)."""
    if reference is None and policies is None:
        return default_engine().check(visit)
    return Engine(reference, policies).check(visit)


def _state_assumptions(visit: Visit, policy: PayerPolicy, findings: list[Decision]) -> None:
    """What the engine takes for granted when the visit leaves it out, said once."""
    message = assumptions(visit.deductible_remaining is None and policy.pricing.deductible,
                          visit.ytd_threshold_amount is None and policy.kx_threshold)
    if message:
        findings.append(decide("input.assumed", message, "therabill visit format", "info"))


def assumptions(no_deductible: bool, no_year_to_date: bool) -> str:
    """What is taken for granted when the deductible left or the year's spending is not given
    (empty when both are)."""
    assumed = []
    if no_deductible:
        assumed.append("no deductible_remaining given, so the Part B deductible is taken as "
                       "already met this year")
    if no_year_to_date:
        assumed.append("no ytd_threshold_amount given, so no therapy spending is counted "
                       "before this visit toward the KX threshold")
    return "; ".join(assumed) + (" (give them on the visit, or keep the patient's year in "
                                 "the ledger)") if assumed else ""


def _day_facts(reference: ReferenceData, dos: date,
               cache: BoundedMemo[tuple[RvuRelease | None, str, DatedValue | None]]
               ) -> tuple[RvuRelease | None, str, DatedValue | None]:
    """The RVU release in force on a date (and how results name it) and the assistant de
    minimis share, looked up once a date (a claims file repeats its dates)."""
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
            findings: list[Decision], bad_lines: dict[int, Mapping[str, Any]],
            threshold_after: dict[str, Decimal] | None) -> CheckResult:
    claim_lines = [_claim_line(line) for line in lines]
    for index, raw in sorted(bad_lines.items()) if bad_lines else ():
        claim_lines.append(ClaimLine(
            code=echoed(raw.get("code")), units=0, modifiers=[], status="invalid",
            steps=[decide("input", f"lines.{index} could not be read; see the findings",
                          "therabill visit format", "error")]))
    year = (ThresholdYear(threshold_after["pt_slp"], threshold_after["ot"])
            if threshold_after is not None else None)
    return CheckResult(visit_id=visit.visit_id, patient_id=visit.patient_id,
                       date_of_service=visit.date_of_service, payer=visit.payer,
                       unit_method=policy.unit_method if policy else None, lines=claim_lines,
                       totals=_totals(lines), findings=findings, threshold_to_date=year)


def _totals(lines: list[WorkLine]) -> Totals:
    """Payable units and each money field added up to the cent; a line without an amount adds
    nothing, and a visit with no priced line has no money totals at all. (Lines that could not
    be read are neither payable nor priced, so the work lines give the same totals as the claim
    lines.)"""
    totals = Totals(sum(line.units for line in lines if line.status == "payable"))
    priced = [line for line in lines if line.allowed is not None]
    if not priced:
        return totals
    for name in MONEY_FIELDS:
        total = None
        for line in priced:
            value = getattr(line, name)
            if value is not None:
                total = value if total is None else total + value
        if total is not None:
            setattr(totals, name, total)
    return totals


def _claim_line(line: WorkLine) -> ClaimLine:
    return ClaimLine(
        code=line.code, units=line.units, modifiers=line.modifiers, status=line.status,
        discipline=line.discipline, minutes=line.minutes,
        assistant_minutes=line.assistant_minutes, charge=line.charge,
        fee_schedule_amount=line.fee_schedule_amount, mppr_reduction=line.mppr_reduction,
        charge_reduction=line.charge_reduction, allowed=line.allowed,
        deductible=line.deductible, coinsurance=line.coinsurance,
        assistant_reduction=line.assistant_reduction, sequestration=line.sequestration,
        payer_paid=line.payer_paid, patient_owes=line.patient_owes,
        reductions=line.reductions, threshold_amount=line.threshold_amount, steps=line.steps)
