"""Replaying a per-line rule whose outcome depends only on what it reads of the line."""

from __future__ import annotations

from collections.abc import Callable

from therabill.decision import Decision
from therabill.model import LineStatus
from therabill.reference.catalogue import CodeInfo
from therabill.worksheet import WorkLine

# What a per-line rule did to a line: its status, units, modifiers, the steps it added, and
# what it returned. The catalogue entry is kept so the memo key may hold its id safely.
Outcome = tuple[CodeInfo | None, LineStatus, int, tuple[str, ...], tuple[Decision, ...],
                tuple[Decision, ...]]


class LineMemo:
    """Replays a per-line rule whose result depends only on the key it is given.

    The first time, the rule runs on a copy of the line and what it changed is recorded; after
    that the record is applied to the line directly. Bounded: cleared past ``limit`` entries.
    """

    def __init__(self, limit: int) -> None:
        self._outcomes: dict[tuple[object, ...], Outcome] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._outcomes)

    def clear(self) -> None:
        self._outcomes.clear()

    def apply(self, key: tuple[object, ...], line: WorkLine,
              rule: Callable[[WorkLine, bool], list[Decision]], flag: bool) -> list[Decision]:
        """``rule(line, flag)``, replayed when ``key`` was seen (the flag belongs in the key)."""
        outcome = self._outcomes.get(key)
        if outcome is None or outcome[0] is not line.info:
            probe = line.copy()
            probe.steps = []
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
