"""The check view: one visit's claim lines, each with its decisions underneath, for people.

Each claim line is one row of a framed table: a summary line (code, units, modifiers, status,
minutes, amounts) in aligned columns, and below it the line's decisions as wrapped text the full
width of the frame, so nothing is squeezed into a narrow column at 80 columns and a wide terminal
gets longer lines instead of taller rows. Visit-level findings follow as a list; the data notes
(releases used and their caveats) are printed by ``render_data_notes``, once per visit or, when
many visits are rendered, once per run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group, JustifyMethod, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from therabill.model import CheckResult, ClaimLine, DataUsed
from therabill.money import usd

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
# A mark per severity, so the kind of decision reads without colour (a redirected terminal).
SEVERITY_MARK = {"error": "✗", "warning": "!", "info": "·"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}  # visit findings: errors first
STATUS_STYLE = {"payable": "green", "denied": "bold red", "not_billable": "dim",
                "bundled": "magenta", "non_covered": "red", "invalid": "red"}
COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("code", "left"), ("units", "right"), ("modifiers", "left"), ("status", "left"),
    ("minutes", "right"), ("allowed", "right"), ("payer", "right"), ("patient", "right"))
ASSISTANT_MODIFIERS = frozenset({"CQ", "CO"})
FRAME = 4  # the frame's two borders and their padding


def _amount(value: Any) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _own_minutes(lines: Sequence[ClaimLine]) -> list[str]:
    """Each line's minutes; a CQ/CO split shows the minutes of its own part.

    A code split into units with and without CQ/CO comes back as two lines carrying the code's
    minutes. When both still carry the same total, the line with CQ/CO shows the assistant's
    minutes and the other the therapist's; lines that already carry their own minutes are shown
    as they are.
    """
    by_code = Counter(line.code for line in lines)
    shown = []
    for line in lines:
        minutes = line.minutes
        if minutes is None:
            shown.append("")
            continue
        twins = [other for other in lines if other.code == line.code]
        split = (by_code[line.code] == 2 and len({other.minutes for other in twins}) == 1
                 and 0 < line.assistant_minutes < minutes
                 and sum(bool(ASSISTANT_MODIFIERS & set(o.modifiers)) for o in twins) == 1)
        if split:
            assisted = bool(ASSISTANT_MODIFIERS & set(line.modifiers))
            minutes = line.assistant_minutes if assisted else minutes - line.assistant_minutes
        shown.append(str(minutes))
    return shown


def _summary_cells(result: CheckResult) -> list[list[Text]]:
    rows = []
    for line, minutes in zip(result.lines, _own_minutes(result.lines), strict=True):
        rows.append([Text(line.code, style="bold"), Text(str(line.units)),
                     Text(" ".join(line.modifiers)),
                     Text(line.status, style=STATUS_STYLE.get(line.status, "")), Text(minutes),
                     Text(_amount(line.allowed)), Text(_amount(line.payer_paid)),
                     Text(_amount(line.patient_owes))])
    totals = result.totals
    rows.append([Text(text, style="bold") for text in (
        "total", str(totals.units), "", "", "", _amount(totals.allowed),
        _amount(totals.payer_paid), _amount(totals.patient_owes))])
    return rows


def _grid(widths: list[int], gap: int, cells: list[Text]) -> Table:
    grid = Table.grid(padding=(0, gap, 0, 0))
    for (_, justify), width in zip(COLUMNS, widths, strict=True):
        grid.add_column(justify=justify, width=width, no_wrap=True)
    grid.add_row(*cells)
    return grid


def decision_list(decisions: Iterable[Any], indent: int = 0,
                  with_source: bool = False) -> RenderableType:
    """Decisions as marked, wrapped lines; continuation lines hang under the text."""
    listing = Table.grid(padding=(0, 1, 0, 0))
    listing.add_column(no_wrap=True)
    listing.add_column(ratio=1)
    for decision in decisions:
        style = SEVERITY_STYLE.get(decision.severity, "")
        mark = SEVERITY_MARK.get(decision.severity, "·")
        words = Text.assemble((decision.rule, "bold"), ": ", decision.message)
        if with_source and decision.source:
            words.append(f" ({decision.source})", style="dim")
        listing.add_row(Text(mark, style=style), words)
    return Padding(listing, (0, 0, 0, indent)) if indent else listing


class DataNotes:
    """The data notes of a run, each printed once: add every result's ``data``, then print.

    Holds one entry per distinct release and note, not per visit, so it stays small however
    many visits stream past.
    """

    def __init__(self) -> None:
        self.releases: dict[str, None] = {}
        self.notes: dict[str, None] = {}

    def add(self, data: DataUsed) -> None:
        for kind, release in data.releases.items():
            self.releases.setdefault(f"{kind} {release}")
        for note in data.notes:
            self.notes.setdefault(note)

    def render(self, console: Console) -> None:
        listing = Table.grid(padding=(0, 1, 0, 0))
        listing.add_column(no_wrap=True, style="dim")
        listing.add_column(ratio=1, style="dim")
        if self.releases:
            listing.add_row("data:", ", ".join(self.releases))
        for note in self.notes:
            listing.add_row("note:", note)
        if listing.row_count:
            console.print(listing)


def render_data_notes(console: Console, data: DataUsed | Iterable[DataUsed]) -> None:
    """The releases used and the notes on them: of one result, or of a run (each once)."""
    notes = DataNotes()
    for one in [data] if isinstance(data, DataUsed) else data:
        notes.add(one)
    notes.render(console)


def render_result(console: Console, result: CheckResult, explain: str | None = None,
                  show_data: bool = True) -> None:
    """Print one result; ``show_data=False`` leaves the data notes to ``render_data_notes``."""
    title = (f"visit {result.visit_id or '?'} · {result.date_of_service or '?'} · "
             f"{result.payer}" + (f" · units by {result.unit_method}" if result.unit_method
                                   else ""))
    if result.patient_id:
        title += f" · patient {result.patient_id}"
    rows = _summary_cells(result)
    headers = [Text(name, style="bold") for name, _ in COLUMNS]
    widths = [max(cell.cell_len for cell in column) for column in zip(headers, *rows, strict=True)]
    # Two spaces between columns when the console has room, one when it is narrow.
    gap = 2 if sum(widths) + 2 * (len(widths) - 1) + FRAME <= console.width else 1
    frame = Table(box=box.ROUNDED, show_header=False, show_lines=True, expand=True,
                  title=Text(title), title_justify="left")
    frame.add_column(ratio=1)
    frame.add_row(_grid(widths, gap, headers))
    for line, cells in zip(result.lines, rows, strict=False):
        # The pricing arithmetic is for --explain; a pricing warning or error is shown here.
        decisions = [s for s in line.steps
                     if not (s.rule.startswith("pricing.") and s.severity == "info")]
        parts: list[Any] = [_grid(widths, gap, cells)]
        if decisions:
            parts.append(decision_list(decisions, indent=2))
        frame.add_row(Group(*parts))
    frame.add_row(_grid(widths, gap, rows[-1]))
    console.print(frame)
    # A finding that repeats a decision already printed under its line is not printed twice.
    shown = {(s.rule, s.message) for line in result.lines for s in line.steps}
    findings = [f for f in result.findings if (f.rule, f.message) not in shown]
    findings.sort(key=lambda f: SEVERITY_ORDER.get(f.severity, len(SEVERITY_ORDER)))
    if findings:
        console.print(Text("visit findings", style="bold"))
        console.print(decision_list(findings, indent=2, with_source=True))
    if show_data:
        render_data_notes(console, result.data)
    if explain:
        _explain(console, result, explain.upper())


def _explain(console: Console, result: CheckResult, code: str) -> None:
    lines = [ln for ln in result.lines if ln.code == code]
    if not lines:
        console.print(Text(f"no line with code {code} in visit {result.visit_id}",
                           style="yellow"))
        return
    for line in lines:
        body = "\n".join(f"[bold]{escape(s.rule)}[/] {escape(s.message)}\n"
                         f"   [dim]source: {escape(s.source)}[/]" for s in line.steps)
        if line.allowed is not None:
            body += (f"\n\n[bold]allowed {usd(line.allowed)} = payer "
                     f"{_dollars(line.payer_paid)} + patient {_dollars(line.patient_owes)} + "
                     f"reductions {_dollars(line.reductions)}[/]")
        console.print(Panel(body, title=escape(f"{line.code} {' '.join(line.modifiers)} × "
                                               f"{line.units}"), title_align="left"))


def _dollars(value: Any) -> str:
    return "—" if value is None else usd(value)
