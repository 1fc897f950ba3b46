"""The engine's working form of a visit: one mutable record per service while the rules run."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from therabill.decision import Decision, Severity, decide
from therabill.memo import ObjectMemo
from therabill.model import Discipline, LineStatus
from therabill.reference.catalogue import CodeInfo
from therabill.reference.records import RvuRecord

# Time bases whose units do not come from minutes (one a day, or one per item).
NO_MINUTES_BASES = ("untimed", "per_item")


class WorkLine:
    """A service (input lines of one code combined) and, later, one claim line of it.

    A plain class, not a dataclass: compiled, its __init__ is native, where a dataclass's
    generated __init__ stays interpreted (and the engine builds several of these per visit).
    """

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
    # How the code is counted and whether it is an evaluation, from its catalogue entry
    # ("untimed", 15, no without one): read by several rules per line, so copied here once.
    basis: str
    unit_minutes: int
    evaluation: bool
    status: LineStatus
    units: int
    steps: list[Decision]
    # filled by pricing
    fee_schedule_amount: Decimal | None
    allowed: Decimal | None
    payer_paid: Decimal | None
    patient_owes: Decimal | None
    reductions: Decimal | None

    def __init__(self, code: str, discipline: Discipline, minutes: int | None,
                 assistant_minutes: int, modifiers: list[str], charge: Decimal | None,
                 performed_by: str, info: CodeInfo | None, rvu: RvuRecord | None,
                 inputs: tuple[int, ...], status: LineStatus = "payable", units: int = 0,
                 steps: list[Decision] | None = None, allowed: Decimal | None = None) -> None:
        self.code = code
        self.discipline = discipline
        self.minutes = minutes
        self.assistant_minutes = assistant_minutes
        self.modifiers = modifiers
        self.charge = charge
        self.performed_by = performed_by
        self.info = info
        self.rvu = rvu
        self.inputs = inputs
        if info is None:
            self.basis, self.unit_minutes, self.evaluation = "untimed", 15, False
        else:
            self.basis, self.unit_minutes, self.evaluation = _facts(info)
        self.status = status
        self.units = units
        self.steps = [] if steps is None else steps
        self.fee_schedule_amount = None
        self.allowed = allowed
        self.payer_paid = None
        self.patient_owes = None
        self.reductions = None

    def __repr__(self) -> str:
        return (f"WorkLine({self.code} {self.discipline} {self.units} unit(s) {self.modifiers} "
                f"{self.status})")

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


# A catalogue entry's counting facts, copied once per entry: reading a pydantic model's fields
# costs several times a plain attribute, and every line reads them.
_FACTS: ObjectMemo[tuple[str, int, bool]] = ObjectMemo()


def _facts(info: CodeInfo) -> tuple[str, int, bool]:
    found = _FACTS.get(info)
    if found is None:
        timing = info.time
        found = _FACTS.put(info, (timing.basis, timing.unit_minutes or 15, info.evaluation))
    return found


# What a per-line rule did to a line: its status, units, modifiers, the steps it added, and
# what it returned. The catalogue entry is kept so the memo key may hold its id safely.
Outcome = tuple[CodeInfo | None, LineStatus, int, tuple[str, ...], tuple[Decision, ...],
                tuple[Decision, ...]]


class LineMemo:
    """Replays a per-line rule whose result depends only on the key it is given.

    The first time, the rule runs on a copy of the line and what it changed is recorded; after
    that the record is applied to the line directly. Bounded: cleared past ``limit`` entries.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self._outcomes: dict[tuple[object, ...], Outcome] = {}
        self._limit = limit

    def apply(self, key: tuple[object, ...], line: WorkLine,
              rule: Callable[[WorkLine, bool], list[Decision]], flag: bool) -> list[Decision]:
        """``rule(line, flag)``, replayed when ``key`` was seen (the flag belongs in the key;
        passing it here spares building a closure per line)."""
        outcome = self._outcomes.get(key)
        if outcome is None or outcome[0] is not line.info:
            probe = WorkLine(line.code, line.discipline, line.minutes, line.assistant_minutes,
                             list(line.modifiers), line.charge, line.performed_by, line.info,
                             line.rvu, line.inputs, status=line.status, units=line.units)
            returned = rule(probe, flag)
            outcome = (line.info, probe.status, probe.units, tuple(probe.modifiers),
                       tuple(probe.steps), tuple(returned))
            if len(self._outcomes) >= self._limit:
                self._outcomes.clear()
            self._outcomes[key] = outcome
        _, line.status, line.units, modifiers, steps, returned_again = outcome
        line.modifiers = list(modifiers)
        line.steps.extend(steps)
        return list(returned_again)
