"""The audit report of a batch run: one self-contained HTML file (inline SVG charts, no script,
no fonts or images fetched), built from the lines and findings rows as they stream past.

Sections: volume by month and code; units per visit; timed minutes past the last unit boundary
(the 8-minute rule pattern: a visit 23 minutes in earns 2 units, at 22 only 1); 59/X modifier use
and the NCCI pairs it bypassed; lines not paid, by the rule that stopped them; KX threshold
crossings by patient; CQ/CO share of payable units; expected payment by payer; the most common
findings with examples.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from therabill.batch.tables import FINDING_COLUMNS, LINE_COLUMNS, Row
from therabill.batch.writers import AtomicFile

if TYPE_CHECKING:
    from therabill.batch.pipeline import SliceOut, Summary

_L = {name: index for index, (name, _) in enumerate(LINE_COLUMNS)}
_F = {name: index for index, (name, _) in enumerate(FINDING_COLUMNS)}
BYPASS = ("59", "XU", "XS", "XE", "XP")
ZERO = Decimal("0.00")
EXAMPLES = 3


@dataclass
class ReportData:
    """Counts for the report, added slice by slice (rows of a visit arrive together)."""

    visits: int = 0
    visits_by_month: Counter[str] = field(default_factory=Counter)
    units_by_month_code: Counter[tuple[str, str]] = field(default_factory=Counter)
    units_by_code: Counter[str] = field(default_factory=Counter)
    units_per_visit: Counter[int] = field(default_factory=Counter)
    minutes_past_boundary: Counter[int] = field(default_factory=Counter)
    bypass_by_code: Counter[tuple[str, str]] = field(default_factory=Counter)
    pairs_unlocked: Counter[str] = field(default_factory=Counter)
    not_paid: Counter[tuple[str, str]] = field(default_factory=Counter)
    kx: dict[str, list[str]] = field(default_factory=dict)  # patient -> dates of KX findings
    assistant_units: Counter[str] = field(default_factory=Counter)  # CQ, CO, none
    by_payer: dict[str, list[Any]] = field(default_factory=dict)  # visits, allowed, paid, owes
    findings: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, out: SliceOut) -> None:
        self.add_rows(out.lines, out.findings)

    def add_rows(self, lines: Sequence[Row], findings: Sequence[Row]) -> None:
        visit: tuple[Any, ...] | None = None
        units = 0
        minutes: dict[str, int] = {}
        for row in lines:
            key = (row[_L["visit_id"]], row[_L["patient_id"]], row[_L["date_of_service"]])
            if key != visit:
                if visit is not None:
                    self._close_visit(units, minutes)
                visit, units, minutes = key, 0, {}
                self._open_visit(row)
            self._line(row)
            if row[_L["status"]] == "payable":
                units += row[_L["units"]]
            if row[_L["minutes"]] is not None and row[_L["code"]] not in minutes:
                minutes[row[_L["code"]]] = row[_L["minutes"]]  # split CQ lines repeat them
        if visit is not None:
            self._close_visit(units, minutes)
        for row in findings:
            self._finding(row)

    def _open_visit(self, row: Row) -> None:
        self.visits += 1
        month = (row[_L["date_of_service"]] or "no date")[:7]
        self.visits_by_month[month] += 1
        payer = self.by_payer.setdefault(row[_L["payer"]], [0, ZERO, ZERO, ZERO])
        payer[0] += 1

    def _close_visit(self, units: int, minutes: dict[str, int]) -> None:
        self.units_per_visit[units] += 1
        total = sum(minutes.values())
        if total >= 8:
            self.minutes_past_boundary[(total - 8) % 15] += 1

    def _line(self, row: Row) -> None:
        code, status, count = row[_L["code"]], row[_L["status"]], row[_L["units"]]
        month = (row[_L["date_of_service"]] or "no date")[:7]
        modifiers = (row[_L["modifiers"]] or "").split()
        if status != "invalid":
            self.units_by_month_code[(month, code)] += count
            self.units_by_code[code] += count
        for modifier in modifiers:
            if modifier in BYPASS:
                self.bypass_by_code[(modifier, code)] += 1
        if row[_L["ncci_unlocked"]]:
            self.pairs_unlocked[row[_L["ncci_unlocked"]]] += 1
        if status != "payable":
            self.not_paid[(row[_L["status_rule"]] or "—", status)] += 1
        else:
            kind = "CQ" if "CQ" in modifiers else "CO" if "CO" in modifiers else "therapist"
            self.assistant_units[kind] += count
        payer = self.by_payer.setdefault(row[_L["payer"]], [0, ZERO, ZERO, ZERO])
        for slot, name in ((1, "allowed"), (2, "payer_paid"), (3, "patient_owes")):
            value = row[_L[name]] if name in _L else None
            if value is not None:
                payer[slot] += value

    def _finding(self, row: Row) -> None:
        rule, severity = row[_F["rule"]], row[_F["severity"]]
        if rule == "threshold.kx":
            dates = self.kx.setdefault(row[_F["patient_id"]] or row[_F["visit_id"]], [])
            if row[_F["date_of_service"]] not in dates:
                dates.append(row[_F["date_of_service"]])
        key = (rule, severity)
        self.findings[key] += 1
        examples = self.examples.setdefault(key, [])
        if len(examples) < EXAMPLES:
            examples.append((row[_F["visit_id"]], row[_F["message"]]))


# --- rendering --------------------------------------------------------------------------------

def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def bars(items: Sequence[tuple[str, float]], unit: str = "", width: int = 760,
         value_text: Sequence[str] | None = None) -> str:
    """A horizontal bar chart as inline SVG (labels left, values right)."""
    if not items:
        return "<p class=none>nothing to show</p>"
    row, label_w, value_w = 22, 280, 110
    top = max((value for _, value in items), default=0) or 1
    height = row * len(items) + 6
    parts = [f'<svg class=chart role=img width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    span = width - label_w - value_w
    for index, (label, value) in enumerate(items):
        y = index * row + 3
        length = max(1.0, span * value / top) if value else 0.0
        shown = value_text[index] if value_text else f"{value:,.0f}{unit}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'class=bar><title>{_e(label)}: {_e(shown)}</title></rect>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 15}">{_e(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(items: Sequence[tuple[str, float]], width: int = 640, height: int = 180,
            marked: Sequence[str] = ()) -> str:
    """A vertical bar chart as inline SVG; ``marked`` labels are drawn in the accent colour."""
    if not items:
        return "<p class=none>nothing to show</p>"
    top = max(value for _, value in items) or 1
    slot = (width - 20) / len(items)
    chart_h = height - 36
    parts = [f'<svg class=chart role=img width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for index, (label, value) in enumerate(items):
        h = chart_h * value / top
        x = 10 + index * slot
        css = "bar mark" if label in marked else "bar"
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{10 + chart_h - h:.1f}" width="{slot - 4:.1f}" '
            f'height="{h:.1f}" class="{css}"><title>{_e(label)}: {value:,.0f}</title></rect>'
            f'<text x="{x + slot / 2:.1f}" y="{height - 12}" text-anchor="middle">'
            f'{_e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]],
           numeric: Sequence[int] | None = None) -> str:
    """A table; ``numeric`` columns (by index; default all but the first) align right."""
    if not rows:
        return "<p class=none>none</p>"
    right = set(range(1, len(head)) if numeric is None else numeric)
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i in right else ""}>{_e(v)}</td>'
                         for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _usd(value: Decimal) -> str:
    return f"${value:,.2f}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#1d2430;
padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.2em .6em;border-bottom:1px solid #e3e6ee}
th{text-align:left;background:#f4f6fa}.num{text-align:right;font-variant-numeric:tabular-nums}
.chart text{font-size:12px;fill:#1d2430}.bar{fill:#4c72b0}.bar.mark{fill:#dd8452}
.none{color:#778}.note{color:#556;font-size:.92em}
dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}
"""


def render(data: ReportData, summary: Summary) -> str:
    """The report as one HTML document."""
    s = summary
    months = sorted(data.visits_by_month)
    top_codes = [code for code, _ in data.units_by_code.most_common(8)]
    volume_rows = [[month, f"{data.visits_by_month[month]:,}",
                    *(f"{data.units_by_month_code.get((month, code), 0):,}" for code in top_codes)]
                   for month in months]
    per_visit = sorted(data.units_per_visit.items())
    past = [(str(minute), float(data.minutes_past_boundary.get(minute, 0)))
            for minute in range(15)]
    timed_visits = sum(data.minutes_past_boundary.values())
    just_over = sum(data.minutes_past_boundary.get(m, 0) for m in (0, 1, 2))
    assistant_total = sum(data.assistant_units.values())
    payer_rows = [[payer, f"{v[0]:,}", _usd(v[1]), _usd(v[2]), _usd(v[3])]
                  for payer, v in sorted(data.by_payer.items())]
    kx_rows = sorted(data.kx.items(), key=lambda item: (min(d or "" for d in item[1]), item[0]))
    top_findings = data.findings.most_common(12)
    sections = [
        f"<h1>Claims file audit: {_e(', '.join(s.inputs))}</h1>",
        "<dl>",
        f"<dt>records read</dt><dd>{s.records:,} {_e(s.unit)} ({s.rejected_records:,} rejected,"
        f" {s.rejects:,} entries in the rejects file)</dd>",
        f"<dt>visits</dt><dd>{s.visits_read:,} read, {s.merged:,} merged into a same-day "
        f"visit, {s.visits:,} checked</dd>",
        f"<dt>claim lines</dt><dd>{s.lines:,}: " + ", ".join(
            f"{n:,} {_e(k)}" for k, n in sorted(s.status.items())) + "</dd>",
        f"<dt>allowed</dt><dd>{_usd(s.allowed)} (payer {_usd(s.payer_paid)}, patient "
        f"{_usd(s.patient_owes)})</dd>",
        "</dl>",
        "<h2 id=volume>Volume by month and code</h2>",
        columns([(m, float(data.visits_by_month[m])) for m in months]),
        "<p class=note>Visits by month; the table gives units by month for the most billed "
        "codes.</p>",
        _table(["month", "visits", *top_codes], volume_rows),
        "<h2 id=units>Units per visit</h2>",
        columns([(str(units), float(n)) for units, n in per_visit]),
        _table(["payable units", "visits"], [[u, f"{n:,}"] for u, n in per_visit]),
        "<h2 id=minutes>Timed minutes past the last unit boundary</h2>",
        "<p class=note>Per visit, the timed minutes beyond the last 8-minute rule boundary "
        "(8, 23, 38, 53…): 0 means exactly on a boundary. A pile at 0–2 means many visits "
        "just reach the next unit.</p>",
        columns(past, marked=("0", "1", "2")),
        f"<p>{just_over:,} of {timed_visits:,} visits with timed minutes "
        f"({_pct(just_over, timed_visits)}) are 0–2 minutes past a boundary; an even spread "
        f"would put {_pct(3, 15)} there.</p>",
        "<h2 id=bypass>59/X modifiers and NCCI pairs bypassed</h2>",
        _table(["modifier", "code", "lines"],
               [[m, c, f"{n:,}"] for (m, c), n in data.bypass_by_code.most_common(20)], (2,)),
        _table(["pair bypassed (column 1/column 2)", "lines"],
               [[p, f"{n:,}"] for p, n in data.pairs_unlocked.most_common(20)]),
        "<h2 id=denials>Lines not paid, by rule</h2>",
        bars([(f"{rule} ({status})", float(n))
              for (rule, status), n in data.not_paid.most_common(15)]),
        "<h2 id=kx>KX threshold crossings by patient</h2>",
        _table(["patient", "dates with a KX finding"],
               [[p, ", ".join(d for d in dates if d)] for p, dates in kx_rows[:50]], ()),
        f"<p class=note>{len(data.kx):,} patients reached the threshold in this file.</p>",
        "<h2 id=assistants>CQ/CO share of payable units</h2>",
        bars([(kind, float(n)) for kind, n in sorted(data.assistant_units.items())],
             value_text=[f"{n:,} ({_pct(n, assistant_total)})"
                         for _, n in sorted(data.assistant_units.items())]),
        "<h2 id=payers>Expected payment by payer</h2>",
        bars([(p, float(v[2])) for p, v in sorted(data.by_payer.items())],
             value_text=[_usd(v[2]) for _, v in sorted(data.by_payer.items())]),
        _table(["payer", "visits", "allowed", "payer pays", "patient owes"], payer_rows),
        "<h2 id=findings>Most common findings</h2>",
        _table(["rule", "severity", "count", "examples"],
               [[rule, sev, f"{n:,}", " · ".join(f"{v}: {m}" for v, m in
                                                  data.examples.get((rule, sev), []))]
                for (rule, sev), n in top_findings], (2,)),
    ]
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<title>therabill audit: {_e(', '.join(s.inputs))}</title>"
            f"<style>{_STYLE}</style></head><body>" + "\n".join(sections) + "</body></html>\n")


def write_report(path: Path, data: ReportData, summary: Summary) -> None:
    target = AtomicFile(path)
    try:
        target.temporary.write_text(render(data, summary), encoding="utf-8")
        target.commit()
    except BaseException:
        target.discard()
        raise

