"""The worksheet: what the rules and pricing work on, passed from step to step.

The engine builds one ``Worksheet`` per visit and runs its steps over it in order (see
``therabill.engine.STEPS``): intake fills ``lines``, each rule changes lines and adds findings,
pricing fills the money. Steps read and write only the worksheet, so a new rule is one module
with one function taking a worksheet, plus its place in the order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from therabill.decision import Decision, Severity, decide
from therabill.memo import Caches
from therabill.model import DataUsed, LineStatus, Visit
from therabill.money import ZERO
from therabill.reference.catalogue import CodeInfo
from therabill.reference.parameters import DatedValue
from therabill.reference.records import RvuRecord, RvuRelease
from therabill.reference.store import ReferenceData
from therabill.vocabulary import Discipline

if TYPE_CHECKING:
    from therabill.payers.policy import PayerPolicy
    from therabill.pricing.context import PriceDay


class WorkLine:
    """A service (input lines of one code combined) and, later, one claim line of it."""

    code: str
    discipline: Discipline
    minutes: int | None
    assistant_minutes: int
    billed_units: int | None  # units as billed, where no minutes were documented (an 837P)
    modifiers: list[str]
    charge: Decimal | None
    performed_by: str
    info: CodeInfo | None
    rvu: RvuRecord | None
    inputs: tuple[int, ...]  # indexes of the visit lines it came from
    # How the code is counted and whether it is an evaluation, from its catalogue entry
    # ("untimed", 15, no without one).
    basis: str
    unit_minutes: int
    evaluation: bool
    status: LineStatus
    units: int
    steps: list[Decision]
    # Money, filled by pricing (None: not priced). fee_schedule_amount is per unit, in full.
    fee_schedule_amount: Decimal | None
    mppr_reduction: Decimal | None
    charge_reduction: Decimal | None
    allowed: Decimal | None
    deductible: Decimal | None
    coinsurance: Decimal | None
    assistant_reduction: Decimal | None
    sequestration: Decimal | None
    payer_paid: Decimal | None
    patient_owes: Decimal | None
    reductions: Decimal | None
    threshold_amount: Decimal | None  # what the line adds toward the year's therapy threshold

    def __init__(self, code: str, discipline: Discipline, minutes: int | None,
                 assistant_minutes: int, modifiers: list[str], charge: Decimal | None,
                 performed_by: str, info: CodeInfo | None, rvu: RvuRecord | None,
                 inputs: tuple[int, ...], status: LineStatus = "payable", units: int = 0,
                 steps: list[Decision] | None = None, billed_units: int | None = None) -> None:
        self.code = code
        self.discipline = discipline
        self.minutes = minutes
        self.assistant_minutes = assistant_minutes
        self.billed_units = billed_units
        self.modifiers = modifiers
        self.charge = charge
        self.performed_by = performed_by
        self.info = info
        self.rvu = rvu
        self.inputs = inputs
        if info is None:
            self.basis, self.unit_minutes, self.evaluation = "untimed", 15, False
        else:
            timing = info.time
            self.basis, self.unit_minutes = timing.basis, timing.unit_minutes or 15
            self.evaluation = info.evaluation
        self.status = status
        self.units = units
        self.steps = [] if steps is None else steps
        self.fee_schedule_amount = self.mppr_reduction = self.charge_reduction = None
        self.allowed = self.deductible = self.coinsurance = None
        self.assistant_reduction = self.sequestration = None
        self.payer_paid = self.patient_owes = self.reductions = self.threshold_amount = None

    def __repr__(self) -> str:
        return (f"WorkLine({self.code} {self.discipline} {self.units} unit(s) {self.modifiers} "
                f"{self.status})")

    @property
    def billable(self) -> bool:
        return self.status == "payable"

    def copy(self) -> WorkLine:
        """The line as entered and counted so far (a CQ/CO split makes a second line of it)."""
        twin = WorkLine(self.code, self.discipline, self.minutes, self.assistant_minutes,
                        list(self.modifiers), self.charge, self.performed_by, self.info,
                        self.rvu, self.inputs, self.status, self.units, list(self.steps),
                        self.billed_units)
        return twin

    def note(self, rule: str, message: str, source: str, severity: Severity = "info"
             ) -> Decision:
        decision = decide(rule, message, source, severity, (self.code,))
        self.steps.append(decision)
        return decision

    def stop(self, status: LineStatus, rule: str, message: str, source: str,
             severity: Severity = "error") -> Decision:
        """Take the line out of payment with the reason, and return the decision for findings."""
        self.status = status
        if status != "payable":
            self.units = self.units if status == "denied" else 0
        return self.note(rule, message, source, severity)

    def clear_money(self) -> None:
        """A line that is not paid: every amount zero (its unit price stays, for reference)."""
        self.mppr_reduction = self.charge_reduction = ZERO
        self.allowed = self.deductible = self.coinsurance = self.assistant_reduction = \
            self.sequestration = self.payer_paid = self.patient_owes = self.reductions = ZERO


class Worksheet:
    """One visit on its way through the steps: its lines, findings and the data used."""

    visit: Visit
    dos: date
    policy: PayerPolicy
    reference: ReferenceData
    caches: Caches
    positions: list[int]  # where each readable visit line stood in the input
    lines: list[WorkLine]
    findings: list[Decision]
    data: DataUsed
    rvu_release: RvuRelease | None
    de_minimis: DatedValue | None  # the assistant share allowed without CQ/CO on the date
    unit_values: dict[str, Decimal]  # each code's total RVUs: tie-break for units and caps
    price_day: PriceDay | None  # set by pricing
    threshold_after: dict[str, Decimal] | None  # year-to-date threshold amounts after the visit

    def __init__(self, visit: Visit, policy: PayerPolicy, reference: ReferenceData,
                 caches: Caches, positions: list[int], findings: list[Decision]) -> None:
        self.visit = visit
        self.dos = visit.date_of_service
        self.policy = policy
        self.reference = reference
        self.caches = caches
        self.positions = positions
        self.lines = []
        self.findings = findings
        self.data = DataUsed(releases={}, parameters={}, notes=[])
        self.rvu_release = None
        self.de_minimis = None
        self.unit_values = {}
        self.price_day = None
        self.threshold_after = None


Step = Callable[[Worksheet], None]
