"""From what the biller entered to the engine's work lines.

A well-formed visit is validated in one pass; otherwise line by line, so a bad line is reported
(an ``input`` finding naming the field, with its original index) and set aside while the others
are still checked. Codes and minutes are checked against the catalogue and the RVU release, and
lines of one code and discipline are combined into one claim line, as MACs require.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from therabill import sources
from therabill.decision import Decision, decide
from therabill.model import LINE_ADAPTER, VISIT_ADAPTER, Visit
from therabill.reference.records import RvuRelease
from therabill.reference.store import ReferenceData
from therabill.rules.modifiers import line_discipline
from therabill.vocabulary import NO_MINUTES_BASES
from therabill.worksheet import WorkLine


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "visit"


def _message(error: Mapping[str, Any]) -> str:
    """Pydantic's words, except where a plain sentence says more (the shapes of codes, unknown
    fields)."""
    if error["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
        return "extra field, not part of the visit format (check its spelling)"
    if error["type"] == "string_pattern_mismatch":
        field = next((part for part in reversed(error["loc"]) if isinstance(part, str)), "")
        if field == "code":
            return "a HCPCS/CPT code is five letters or digits, like 97110 or G0283"
        if field == "modifiers":
            return f"{_shown(error['input'])} is not a two-character modifier"
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])  # therabill's own sentence, without pydantic's prefix
    return str(error["msg"])


def echoed(value: object, default: str = "") -> str:
    """A field of input that could not be read, as its result shows it: text as entered (cut
    to 200 characters), a whole number as written, anything else the default (a nested or
    huge value is never turned into text)."""
    if isinstance(value, str):
        return value[:200]
    if isinstance(value, int) and not isinstance(value, bool) and -(10**30) < value < 10**30:
        return str(value)
    return default


def _shown(value: Any) -> str:
    """An entered value as messages quote it: never more than a few dozen characters."""
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else f"{text[:36]}…{text[-1]}"


# The core validator, without the adapter's interpreted wrapper (called once per visit).
_VALIDATE = VISIT_ADAPTER.validator.validate_python


def parse_visit(raw: Mapping[str, Any], findings: list[Decision]
                ) -> tuple[Visit | None, dict[int, Mapping[str, Any]], list[int]]:
    """Most visits are well formed: validate them in one go, and look line by line only when
    something is wrong, so a bad line can be set aside while the others are still checked."""
    try:
        visit = _VALIDATE(raw)
    except ValidationError:
        return _parse_by_line(raw, findings)
    return visit, {}, list(range(len(visit.lines)))


def _parse_by_line(raw: Mapping[str, Any], findings: list[Decision]
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
                good.append(LINE_ADAPTER.validate_python(line))
                positions.append(index)
            except ValidationError as exc:
                bad[index] = {"code": echoed(line.get("code"))} if isinstance(
                    line, Mapping) else {}
                for error in exc.errors():
                    where = ".".join(str(p) for p in (index, *error["loc"]))
                    findings.append(decide(
                        "input", f"lines.{where}: {_message(error)}",
                        "therabill visit format", "error"))
        header = {**raw, "lines": good}
    else:
        header = dict(raw)
    try:
        return _VALIDATE(header), bad, positions
    except ValidationError as exc:
        for error in exc.errors():
            findings.append(decide("input", f"{_field(error['loc'])}: {_message(error)}",
                                   "therabill visit format", "error"))
        return None, bad, positions


def work_lines(visit: Visit, positions: list[int], rvu_release: RvuRelease | None,
                reference: ReferenceData, findings: list[Decision]) -> list[WorkLine]:
    """Validate codes and minutes and combine lines of one code and discipline (one line per
    code per day, as MACs require)."""
    combined: dict[tuple[str, str], WorkLine] = {}
    merged_from: dict[tuple[str, str], list[int]] = {}  # input indexes of combined lines
    catalogue = reference.catalogue.by_code
    records = rvu_release.records if rvu_release is not None else {}
    default_discipline = visit.discipline
    # positions and lines have the same length by construction (parse_visit)
    for index, entered in zip(positions, visit.lines):  # noqa: B905
        code = entered.code
        modifiers = entered.modifiers
        info = catalogue.get(code)
        rvu = records.get((code, ""))
        # Entered modifiers without repeats, in order (most lines have none).
        line = WorkLine(code, default_discipline, entered.minutes, entered.assistant_minutes,
                        list(dict.fromkeys(modifiers)) if modifiers else [], entered.charge,
                        entered.performed_by, info, rvu, (index,),
                        billed_units=entered.units)
        discipline = line.discipline = line_discipline(entered.discipline, default_discipline)
        problem = _line_problem(line, reference)
        if problem:
            findings.append(line.stop("invalid", "input", f"lines.{index}.{problem}",
                                      "therabill visit format"))
            combined[(f"#{index}", "")] = line
            continue
        key: tuple[str, str] = (code, discipline)
        into = combined.get(key)
        if into is not None and line.basis in NO_MINUTES_BASES:
            # An untimed service billed twice is two services, not one: each line keeps its
            # unit, and the evaluation-a-day rule and the MUE decide about them.
            line.note("units.untimed", f"{code} is billed on more than one line; each line is "
                      "a service of its own (one unit), checked by the day's edits",
                      sources.CPM5_20_2, "warning")
            combined[(f"#{index}", discipline)] = line
            continue
        if into is None:
            combined[key] = line
            continue
        merged_from.setdefault(key, [into.inputs[0]]).append(index)
        _merge(into, line)
        problem = _line_problem(into, reference)
        if problem:
            # Lines fine one by one can contradict each other once combined (assistant minutes
            # on one line, the minutes on another): the combined line is not billed.
            findings.append(into.stop(
                "invalid", "input", f"lines.{index}.{problem}, once input lines "
                f"{_ranges(merged_from[key])} of {code} are combined", "therabill visit format"))
            del combined[key]
            combined[(f"#{into.inputs[0]}", "")] = into
            merged_from.pop(key)
    for key, indexes in merged_from.items():
        line = combined[key]
        line.inputs = tuple(indexes)
        line.note("units.combine", f"input lines {_ranges(indexes)} of {line.code} combined "
                  "into one claim line", sources.MAC_ONE_LINE)
    return list(combined.values())


def _line_problem(line: WorkLine, reference: ReferenceData) -> str:
    """What makes a line unusable, as "field: why" (the line still holds what was entered)."""
    if line.info is None and line.rvu is None and line.code not in reference.known_codes:
        return f"code: {line.code} is not a code therabill knows (therapy codes only)"
    if line.basis not in NO_MINUTES_BASES and line.minutes is None \
            and line.billed_units is None:
        return (f"minutes: {line.code} is a timed code; its minutes are required (or, where "
                "no minutes were documented, the units billed)")
    if line.minutes is None and line.assistant_minutes:
        return (f"assistant_minutes: {line.assistant_minutes} assistant minutes given without "
                f"the minutes of the {line.code} service they are part of")
    if line.minutes is not None and line.assistant_minutes > line.minutes:
        return (f"assistant_minutes: {line.assistant_minutes} assistant minutes exceed the "
                f"{line.minutes} minutes of the service")
    return ""


def _ranges(indexes: list[int]) -> str:
    """Line indexes as short text: 0, 2, 5-9 (a visit may repeat one code hundreds of times)."""
    parts: list[str] = []
    start = end = indexes[0]
    for index in indexes[1:]:
        if index == end + 1:
            end = index
            continue
        parts.append(str(start) if start == end else f"{start}-{end}")
        start = end = index
    parts.append(str(start) if start == end else f"{start}-{end}")
    return ", ".join(parts)


def _merge(into: WorkLine, other: WorkLine) -> None:
    """Add one more input line of the same code and discipline (its index is recorded by the
    caller, and the combined line notes them all once: output stays linear in the lines)."""
    if into.billed_units is not None or other.billed_units is not None:
        into.billed_units = (into.billed_units or 0) + (other.billed_units or 0)
    if into.minutes is not None or other.minutes is not None:
        into.minutes = (into.minutes or 0) + (other.minutes or 0)
    into.assistant_minutes += other.assistant_minutes
    if other.charge is not None:
        into.charge = (into.charge or Decimal(0)) + other.charge
    for modifier in other.modifiers:
        if modifier not in into.modifiers:
            into.modifiers.append(modifier)
