"""An interim CSV reader for uploads: one row per service line, grouped into visits by visit_id.

The batch package's CSV reader replaces this module when it is merged; until then the service
reads CSV with this small one. Columns are the visit fields and the line fields of the README's
visit format (``visit_id``, ``patient_id``, ``date_of_service``, ``payer``, ``locality``,
``claim_type``, ``provider_type``, ``discipline``, ``qualifying_apm``, ``deductible_remaining``,
``ytd_pt_slp``, ``ytd_ot``; ``code``, ``minutes``, ``assistant_minutes``, ``line_discipline``,
``modifiers`` (separated by blanks, commas or semicolons), ``charge``, ``performed_by``). Empty
cells are left out, so the engine's defaults apply. Rows of one visit need not be adjacent; visits
come out in the order of their first row. A row that cannot be used (no visit_id, a visit field
that disagrees with the visit's first row, an unknown column) is never dropped: it becomes an
``input`` finding on its visit, or a visit of its own.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

VISIT_COLUMNS = ("visit_id", "patient_id", "date_of_service", "payer", "locality", "claim_type",
                 "provider_type", "discipline", "qualifying_apm", "deductible_remaining")
THRESHOLD_COLUMNS = {"ytd_pt_slp": "pt_slp", "ytd_ot": "ot"}
LINE_COLUMNS = {"code": "code", "minutes": "minutes", "assistant_minutes": "assistant_minutes",
                "line_discipline": "discipline", "modifiers": "modifiers", "charge": "charge",
                "performed_by": "performed_by"}
KNOWN = frozenset((*VISIT_COLUMNS, *THRESHOLD_COLUMNS, *LINE_COLUMNS))


class CsvError(ValueError):
    """The text cannot be read as a CSV of visits at all (one line for the user)."""


@dataclass
class CsvVisit:
    visit: dict[str, Any]
    rows: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # become input findings


def read_csv_visits(text: str) -> list[CsvVisit]:
    """The visits of a CSV text, in the order of their first row (raises CsvError)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvError(f"not readable as CSV: {exc}") from None
    if not header or not any(cell.strip() for cell in header):
        raise CsvError("the CSV file is empty: the first row must name the columns")
    names = [cell.strip().lower() for cell in header]
    if "visit_id" not in names:
        raise CsvError("the CSV header has no visit_id column (columns: "
                       f"{', '.join(n for n in names if n) or 'none'})")
    unknown = [n for n in names if n and n not in KNOWN]
    visits: dict[str, CsvVisit] = {}
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            _add_row(visits, names, cells, number, unknown)
    except csv.Error as exc:
        raise CsvError(f"not readable as CSV at row {reader.line_num}: {exc}") from None
    if not visits:
        raise CsvError("the CSV file has a header but no rows")
    return list(visits.values())


def _add_row(visits: dict[str, CsvVisit], names: list[str], cells: list[str], number: int,
             unknown: list[str]) -> None:
    row = {name: cell.strip() for name, cell in zip(names, cells, strict=False) if name}
    problems = []
    if len(cells) > len(names):
        problems.append(f"row {number}: {len(cells)} cells but {len(names)} columns")
    if unknown:
        problems.append(f"row {number}: unknown column(s) {', '.join(unknown)} ignored")
    visit_id = row.get("visit_id", "")
    key = visit_id or f"(row {number})"
    entry = visits.get(key)
    if entry is None:
        visit: dict[str, Any] = {name: row[name] for name in VISIT_COLUMNS if row.get(name)}
        if "qualifying_apm" in visit:
            visit["qualifying_apm"] = _flag(visit["qualifying_apm"])
        ytd = {target: row[column] for column, target in THRESHOLD_COLUMNS.items()
               if row.get(column)}
        if ytd:
            visit["ytd_threshold_amount"] = ytd
        visit["lines"] = []
        entry = visits[key] = CsvVisit(visit)
        if not visit_id:
            problems.append(f"row {number}: visit_id is empty")
    else:
        for name in (*VISIT_COLUMNS, *THRESHOLD_COLUMNS):
            value = row.get(name, "")
            first = _first_value(entry.visit, name)
            if value and first is not None and value != first:
                problems.append(f"row {number}: {name} {value!r} differs from the visit's "
                                f"first row ({first!r}); the first row's value is used")
    entry.rows.append(number)
    entry.problems.extend(problems)
    line: dict[str, Any] = {target: row[column] for column, target in LINE_COLUMNS.items()
                            if row.get(column)}
    if "modifiers" in line:
        line["modifiers"] = line["modifiers"].replace(",", " ").replace(";", " ").split()
    if line:
        entry.visit["lines"].append(line)


def _first_value(visit: dict[str, Any], name: str) -> str | None:
    if name in THRESHOLD_COLUMNS:
        value = visit.get("ytd_threshold_amount", {}).get(THRESHOLD_COLUMNS[name])
    else:
        value = visit.get(name)
    if isinstance(value, bool):
        return None
    return value if isinstance(value, str) else None


def _flag(text: str) -> bool | str:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "y"):
        return True
    if lowered in ("0", "false", "no", "n"):
        return False
    return text  # left for the engine to report
