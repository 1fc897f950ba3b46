"""Presenting results: JSON for programs, rich tables for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console, JustifyMethod
from rich.panel import Panel
from rich.table import Table

from therabill.model import RESULT_ADAPTER, CheckResult

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
STATUS_STYLE = {"payable": "green", "denied": "bold red", "not_billable": "dim",
                "bundled": "magenta", "non_covered": "red", "invalid": "red"}
RESULT_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("code", "left"), ("units", "right"), ("modifiers", "left"), ("status", "left"),
    ("min", "right"), ("allowed", "right"), ("payer", "right"), ("patient", "right"),
    ("why", "left"))


def result_json(result: CheckResult) -> dict[str, Any]:
    return RESULT_ADAPTER.dump_python(result, mode="json")


def _money(value: Any) -> str:
    return "—" if value is None else f"{value:,.2f}"


def render_result(console: Console, result: CheckResult, explain: str | None = None) -> None:
    title = (f"visit {result.visit_id or '?'} · {result.date_of_service or '?'} · "
             f"{result.payer} · {result.unit_method or ''}")
    table = Table(title=title, title_justify="left", show_lines=True, expand=True)
    for name, justify in RESULT_COLUMNS:
        table.add_column(name, justify=justify, ratio=6 if name == "why" else None,
                         overflow="fold")
    for line in result.lines:
        why = "\n".join(f"[{SEVERITY_STYLE[s.severity]}]{s.rule}[/]: {s.message}"
                        for s in line.steps if not s.rule.startswith("pricing."))
        table.add_row(line.code, str(line.units), " ".join(line.modifiers),
                      f"[{STATUS_STYLE.get(line.status, '')}]{line.status}[/]",
                      "" if line.minutes is None else str(line.minutes), _money(line.allowed),
                      _money(line.payer_paid), _money(line.patient_owes), why)
    totals = result.totals
    table.add_row("total", str(totals.units), "", "", "", _money(totals.allowed),
                  _money(totals.payer_paid), _money(totals.patient_owes), "", style="bold")
    console.print(table)
    if result.findings:
        findings = Table(title="findings", title_justify="left", expand=True, show_header=True)
        findings.add_column("severity")
        findings.add_column("rule")
        findings.add_column("message", ratio=5, overflow="fold")
        findings.add_column("source", ratio=2, overflow="fold")
        for f in result.findings:
            findings.add_row(f"[{SEVERITY_STYLE[f.severity]}]{f.severity}[/]", f.rule,
                             f.message, f.source)
        console.print(findings)
    data = result.data
    if data.releases or data.notes:
        used = ", ".join(f"{k} {v}" for k, v in data.releases.items())
        console.print(f"[dim]data: {used}[/]", highlight=False)
        for note in data.notes:
            console.print(f"[dim]note: {note}[/]", highlight=False)
    if explain:
        _explain(console, result, explain.upper())


def _explain(console: Console, result: CheckResult, code: str) -> None:
    lines = [ln for ln in result.lines if ln.code == code]
    if not lines:
        console.print(f"[yellow]no line with code {code} in visit {result.visit_id}[/]")
        return
    for line in lines:
        body = "\n".join(f"[bold]{s.rule}[/] {s.message}\n   [dim]source: {s.source}[/]"
                         for s in line.steps)
        body += (f"\n\n[bold]allowed {_money(line.allowed)} = payer {_money(line.payer_paid)} + "
                 f"patient {_money(line.patient_owes)} + reductions {_money(line.reductions)}[/]")
        console.print(Panel(body, title=f"{line.code} {' '.join(line.modifiers)} × {line.units}",
                            title_align="left"))
