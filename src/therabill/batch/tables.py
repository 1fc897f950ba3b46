"""The batch output tables: their columns, and one result's rows.

Lines table: one row per claim line (visit, patient, date, payer, line index, code, units,
modifiers, status and the rule that set a status other than payable, discipline, minutes, the
NCCI pair a 59/X modifier bypassed, then
every money field ``ClaimLine`` has, read from the dataclass so fields added later appear as
columns). Findings table: one row per visit finding, with the index of the claim line it came
from when there is one. Rows are plain tuples (text, integers, ``Decimal``), in column order, so
any writer (CSV, Parquet, Spark) can take them.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from decimal import Decimal
from typing import Any

from therabill.model import CheckResult, ClaimLine

# ClaimLine fields that are not money; every other field typed Decimal is a money column.
_NOT_MONEY = frozenset({"code", "units", "modifiers", "status", "discipline", "minutes",
                        "assistant_minutes", "steps"})


def _money_fields() -> tuple[str, ...]:
    hints = typing.get_type_hints(ClaimLine)
    names = []
    for item in dataclasses.fields(ClaimLine):
        hint = hints[item.name]
        if item.name not in _NOT_MONEY and (hint is Decimal or Decimal in typing.get_args(hint)):
            names.append(item.name)
    return tuple(names)


MONEY_COLUMNS: tuple[str, ...] = _money_fields()

# (name, kind): kind is str, int or money; dates are ISO text, modifiers are space-separated.
LINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("visit_id", "str"), ("patient_id", "str"), ("date_of_service", "str"), ("payer", "str"),
    ("line", "int"), ("code", "str"), ("units", "int"), ("modifiers", "str"),
    ("status", "str"), ("status_rule", "str"), ("discipline", "str"), ("minutes", "int"),
    ("assistant_minutes", "int"), ("ncci_unlocked", "str"),
    *((name, "money") for name in MONEY_COLUMNS),
)
FINDING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("visit_id", "str"), ("patient_id", "str"), ("date_of_service", "str"), ("payer", "str"),
    ("line", "int"), ("rule", "str"), ("severity", "str"), ("codes", "str"),
    ("message", "str"), ("source", "str"),
)
REJECT_COLUMNS: tuple[tuple[str, str], ...] = (("position", "str"), ("reason", "str"))

Row = tuple[Any, ...]


def status_rule(line: ClaimLine) -> str | None:
    """The rule behind a status other than payable: the line's last error or warning step
    (the last step of all when it has none of those)."""
    if line.status == "payable" or not line.steps:
        return None
    for step in reversed(line.steps):
        if step.severity != "info":
            return step.rule
    return line.steps[-1].rule


_PAIR = re.compile(r"\b([0-9A-Z]{5}/[0-9A-Z]{5})\b")


def ncci_unlocked(line: ClaimLine) -> str | None:
    """The NCCI pair (``column1/column2``) a modifier on this line bypassed, if any."""
    for step in line.steps:
        if step.rule == "modifier.ncci":
            found = _PAIR.search(step.message)
            if found:
                return found.group(1)
    return None


def line_rows(result: CheckResult) -> list[Row]:
    head = (result.visit_id, result.patient_id,
            result.date_of_service.isoformat() if result.date_of_service else None,
            result.payer)
    rows = []
    for index, line in enumerate(result.lines):
        money = tuple(getattr(line, name, None) for name in MONEY_COLUMNS)
        rows.append((*head, index, line.code, line.units, " ".join(line.modifiers),
                     line.status, status_rule(line), line.discipline, line.minutes,
                     line.assistant_minutes, ncci_unlocked(line), *money))
    return rows


def finding_rows(result: CheckResult) -> list[Row]:
    head = (result.visit_id, result.patient_id,
            result.date_of_service.isoformat() if result.date_of_service else None,
            result.payer)
    rows = []
    for finding in result.findings:
        where = next((index for index, line in enumerate(result.lines)
                      if finding in line.steps), None)
        rows.append((*head, where, finding.rule, finding.severity, " ".join(finding.codes),
                     finding.message, finding.source))
    return rows
