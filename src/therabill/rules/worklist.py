"""The engine's working form of a visit: one mutable record per service while the rules run."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from therabill.decision import Decision, decide
from therabill.reference.catalogue import CodeInfo
from therabill.reference.records import RvuRecord


@dataclass(slots=True)
class WorkLine:
    """A service (input lines of one code combined) and, later, one claim line of it."""

    code: str
    discipline: str
    minutes: int | None
    assistant_minutes: int
    modifiers: list[str]
    charge: Decimal | None
    performed_by: str
    info: CodeInfo | None
    rvu: RvuRecord | None
    inputs: tuple[int, ...]  # indexes of the visit lines it came from
    status: str = "payable"
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

    def note(self, rule: str, message: str, source: str, severity: str = "info") -> Decision:
        decision = decide(rule, message, source, severity, (self.code,))  # type: ignore[arg-type]
        self.steps.append(decision)
        return decision

    def stop(self, status: str, rule: str, message: str, source: str,
             severity: str = "error") -> Decision:
        """Take the line out of payment with the reason, and return the decision for findings."""
        self.status = status
        if status != "payable":
            self.units = self.units if status == "denied" else 0
        return self.note(rule, message, source, severity)
