"""The engine's working form of a visit: one mutable record per service while the rules run."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from therabill.decision import Decision, Severity, decide
from therabill.model import Discipline, LineStatus
from therabill.reference.catalogue import CodeInfo
from therabill.reference.records import RvuRecord

# Time bases whose units do not come from minutes (one a day, or one per item).
NO_MINUTES_BASES = ("untimed", "per_item")


@dataclass(slots=True)
class WorkLine:
    """A service (input lines of one code combined) and, later, one claim line of it."""

    code: str
    discipline: Discipline
    minutes: int | None
    assistant_minutes: int
    modifiers: list[str]
    charge: Decimal | None
    performed_by: str
    info: CodeInfo | None
    rvu: RvuRecord | None
    inputs: tuple[int, ...]  # indexes of the visit lines it came from
    status: LineStatus = "payable"
    units: int = 0
    steps: list[Decision] = field(default_factory=list)
    # filled by pricing
    fee_schedule_amount: Decimal | None = None
    allowed: Decimal | None = None
    payer_paid: Decimal | None = None
    patient_owes: Decimal | None = None
    reductions: Decimal | None = None

    @property
    def billable(self) -> bool:
        return self.status == "payable"

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
