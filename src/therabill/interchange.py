"""Reading visits from text: one JSON object, a JSON array, or JSON Lines.

A malformed record in JSON Lines does not stop the others: it becomes a result with an ``input``
finding. Only text that cannot be read as any of the three shapes is an error for the caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from therabill.decision import decide
from therabill.model import CheckResult, DataUsed, Totals

Shape = Literal["object", "array", "lines"]


@dataclass
class VisitBatch:
    shape: Shape = "object"
    items: list[dict[str, Any] | CheckResult] = field(default_factory=list)
    unreadable: str = ""


def _bad_record(where: str, problem: str) -> CheckResult:
    return CheckResult(
        visit_id="", patient_id=None, date_of_service=None, payer="", unit_method=None,
        lines=[], totals=Totals(),
        findings=[decide("input", f"{where}: {problem}", "therabill visit format", "error")],
        data=DataUsed())


def read_visits(text: str) -> VisitBatch:
    stripped = text.strip()
    if not stripped:
        return VisitBatch(unreadable="the input is empty")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped.startswith("[") or "\n" not in stripped:
            return VisitBatch(unreadable=f"not valid JSON (line {exc.lineno}, column "
                                         f"{exc.colno}): {exc.msg}")
        return _lines(stripped)
    if isinstance(whole, dict):
        return VisitBatch("object", [whole])
    if isinstance(whole, list):
        items: list[dict[str, Any] | CheckResult] = [
            v if isinstance(v, dict) else _bad_record(f"item {i}", "a visit must be an object")
            for i, v in enumerate(whole)]
        return VisitBatch("array", items)
    return VisitBatch(unreadable="the input must be a visit object, an array of visits or "
                                 "JSON Lines")


def _lines(text: str) -> VisitBatch:
    batch = VisitBatch("lines")
    readable = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            batch.items.append(_bad_record(f"line {number}", f"malformed JSON ({exc.msg}, "
                                                             f"column {exc.colno})"))
            continue
        if isinstance(value, dict):
            readable += 1
            batch.items.append(value)
        else:
            batch.items.append(_bad_record(f"line {number}", "a visit must be an object"))
    if readable == 0:
        batch.unreadable = "no line of the input is a JSON object"
    return batch
