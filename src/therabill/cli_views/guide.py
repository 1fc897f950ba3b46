"""Rich tables for the guide commands; every figure is printed with its source."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from therabill.guide.compare import Comparison
from therabill.guide.explain import CodeExplanation, MueFacts, PtpFacts
from therabill.guide.facts import Price, Sourced
from therabill.guide.history import History
from therabill.guide.suggest import Suggestion

ANSWER_STYLE = {"yes": "green", "yes, under supervision": "green", "no": "bold red",
                "not applicable": "dim", "with_modifier": "yellow"}


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _line(console: Console, text: str, source: str = "") -> None:
    tail = f" [dim]({escape(source)})[/]" if source else ""
    console.print(f"{escape(text)}{tail}", highlight=False)


def _heading(console: Console, text: str) -> None:
    console.print(f"\n[bold]{escape(text)}[/]", highlight=False)


def _notes(console: Console, notes: list[Sourced]) -> None:
    for note in notes:
        _line(console, f"• {note.text}", note.source)


def _price_lines(console: Console, price: Price) -> None:
    place, cf = price.place, price.conversion_factor
    _line(console, f"place: {place.name}; GPCIs work {place.work_gpci}, PE {place.pe_gpci}, "
                   f"MP {place.mp_gpci}", place.source)
    _line(console, f"conversion factor {cf.value} from {cf.effective_from}", cf.source)
    if price.payable:
        _line(console, f"{price.arithmetic} = {_money(price.full)} a unit; "
                       f"MPPR-reduced unit {_money(price.reduced)}", price.source)
        _line(console, price.note)
    else:
        _line(console, price.note, price.source)


# --------------------------------------------------------------------------- explain
def _ptp(console: Console, ptp: PtpFacts) -> None:
    _heading(console, f"NCCI pairs with other catalogue codes ({ptp.release}, effective "
                      f"{ptp.effective_from})")
    if not ptp.payer_applies_ncci:
        _line(console, "this payer's policy file does not apply NCCI edits; listed for reference")
    if ptp.edits:
        table = Table(show_lines=False, expand=True)
        for name in ("column 1", "column 2", "ind."):
            table.add_column(name, no_wrap=True)
        table.add_column("what unlocks it", overflow="fold", ratio=3)
        table.add_column("rationale", overflow="fold", ratio=1)
        for edit in ptp.edits:
            table.add_row(edit.column_1, edit.column_2,
                          f"[{'bold red' if edit.modifier_indicator == 0 else 'yellow'}]"
                          f"{edit.modifier_indicator}[/]", escape(edit.unlock),
                          escape(edit.rationale))
        console.print(table)
    else:
        _line(console, "no edit in force with another catalogue code on this date")
    for text in (ptp.note, ptp.caveat):
        if text:
            _line(console, f"note: {text}")
    console.print(f"[dim]{escape(ptp.source)}[/]", highlight=False)


def _mue(console: Console, mue: MueFacts) -> None:
    _heading(console, f"MUE ({mue.release})")
    if mue.value is not None:
        _line(console, f"at most {mue.value} unit(s) a day, MAI {mue.mai} ({mue.mai_meaning}); "
                       f"{mue.rationale}", mue.source)
    else:
        _line(console, mue.mai_meaning, mue.source)
    for text in (mue.note, mue.caveat):
        if text:
            _line(console, f"note: {text}")


def explanation(console: Console, result: CodeExplanation) -> None:
    console.print(f"[bold cyan]{result.code}[/] · {result.date_of_service} · "
                  f"{escape(result.payer.name)}", highlight=False)
    info = result.catalogue
    if info is not None:
        _line(console, info.summary, info.source)
        _line(console, f"{info.timing.text}; disciplines {', '.join(info.disciplines) or '—'}; "
                       f"{info.therapy_meaning}")
    else:
        _line(console, "not in the therabill catalogue: no summary")
    medicare = result.medicare
    _heading(console, "Medicare status")
    _line(console, f"{medicare.status or '—'} in {medicare.rvu_release}: {medicare.meaning}",
          medicare.source)
    if result.coverage:
        _heading(console, "Coverage notes")
        _notes(console, result.coverage)
    _heading(console, f"Who may furnish it ({result.payer.name})")
    table = Table(expand=True)
    for name, ratio in (("who", 2), ("may furnish", 2), ("why", 5), ("source", 3)):
        table.add_column(name, overflow="fold", ratio=ratio)
    for answer in result.performers:
        style = ANSWER_STYLE.get(answer.may_furnish, "")
        table.add_row(answer.who, f"[{style}]{answer.may_furnish}[/]", escape(answer.text),
                      f"[dim]{escape(answer.source)}[/]")
    console.print(table)
    _heading(console, "RVUs and payment")
    if result.rvu is not None:
        rvus = result.rvu.rvus
        _line(console, f"work {rvus.work}, non-facility PE {rvus.pe_nonfacility}, MP {rvus.mp} "
                       f"= {rvus.total} RVUs", result.rvu.source)
    _price_lines(console, result.price)
    if result.payer_price is not None:
        pp = result.payer_price
        _line(console, f"{result.payer.name}: {_money(pp.full)} a unit, reduced "
                       f"{_money(pp.reduced)} ({pp.text})", pp.source)
    if result.ptp is not None:
        _ptp(console, result.ptp)
    if result.mue is not None:
        _mue(console, result.mue)


# --------------------------------------------------------------------------- compare
def comparison(console: Console, result: Comparison) -> None:
    console.print(f"[bold]compare[/] {' · '.join(result.codes)} · {result.date_of_service} · "
                  f"{escape(result.payer.name)}", highlight=False)
    table = Table(expand=True, show_lines=True)
    table.add_column("", style="bold", ratio=2)
    for side in result.sides:
        table.add_column(side.code, overflow="fold", ratio=4)
    local = result.sides[0].local
    rows: list[tuple[str, list[str]]] = [
        ("summary", [escape(s.summary or "—") for s in result.sides]),
        ("Medicare status", [s.rvu.status if s.rvu else "—" for s in result.sides]),
        ("work / PE / MP RVU", [f"{s.rvu.rvus.work} / {s.rvu.rvus.pe_nonfacility} / "
                                f"{s.rvu.rvus.mp} = {s.rvu.rvus.total}" if s.rvu else "—"
                                for s in result.sides]),
        ("national", [f"{_money(s.national.full)} (MPPR {_money(s.national.reduced)})"
                      for s in result.sides]),
    ]
    if local is not None:
        rows.append((f"{local.place.locality}", [
            f"{_money(s.local.full)} (MPPR {_money(s.local.reduced)})" if s.local else "—"
            for s in result.sides]))
    if any(s.payer_price for s in result.sides):
        rows.append((result.payer.id, [f"{_money(s.payer_price.full)}" if s.payer_price else "—"
                                       for s in result.sides]))
    for label, cells in rows:
        table.add_row(label, *cells)
    console.print(table)
    side = result.sides[0]
    cf = side.national.conversion_factor
    _line(console, f"RVUs from {side.rvu.release if side.rvu else '—'}; conversion factor "
                   f"{cf.value} from {cf.effective_from}", cf.source)
    if local is not None:
        _line(console, f"{local.place.locality} {local.place.name}: GPCIs work "
                       f"{local.place.work_gpci}, PE {local.place.pe_gpci}, MP "
                       f"{local.place.mp_gpci}", local.place.source)
    for gap in result.differences:
        _heading(console, f"Difference ({gap.place})")
        parts = ", ".join(f"{g.component} {g.difference:+.2f}" for g in gap.components)
        _line(console, f"{gap.text}. Per component (dollars, first minus second): {parts}",
              gap.source)
    _heading(console, "Billed together the same day?")
    for pair in result.together:
        style = ANSWER_STYLE.get(pair.verdict, "")
        console.print(f"[{style}]{'/'.join(pair.codes)}: {pair.verdict}[/] — "
                      f"{escape(pair.text)} [dim]({escape(pair.source)})[/]", highlight=False)
    for side in result.sides:
        if side.coverage:
            _heading(console, f"Coverage notes: {side.code}")
            _notes(console, side.coverage)
    for note in result.notes:
        _line(console, f"note: {note}")


# --------------------------------------------------------------------------- history
def history(console: Console, result: History) -> None:
    place = "national (GPCIs 1.000)"
    if result.locality != "national":
        named = next((row.place.name for row in reversed(result.rows) if row.place), "")
        place = f"{result.locality} {named}"
    table = Table(title=f"Medicare payment per unit, {result.from_year}–{result.to_year}, "
                        f"{place}", title_justify="left", expand=True)
    table.add_column("from")
    table.add_column("RVU file")
    table.add_column("CF", justify="right")
    for code in result.codes:
        table.add_column(f"{code} W/PE/MP", justify="right")
        table.add_column(f"{code} $", justify="right")
    for row in result.rows:
        cells = []
        for point in row.points:
            rvus = point.rvus
            cells.append(f"{rvus.work}/{rvus.pe_nonfacility}/{rvus.mp}" if rvus else "—")
            cells.append(_money(point.full))
        table.add_row(row.label, row.rvu_release, str(row.conversion_factor.value), *cells)
    console.print(table)
    for row in result.rows:
        if result.locality != "national" and row.place and row.place.note:
            _line(console, f"{row.label}: {row.place.note}")
        for point in row.points:
            if point.note and row.place is not None:
                _line(console, f"{row.label} {point.code}: {point.note}")
    sources = dict.fromkeys(f"{row.conversion_factor.effective_from}: "
                            f"{row.conversion_factor.source}" for row in result.rows)
    _line(console, "conversion factors: " + "; ".join(sources))
    _line(console, "RVUs: CMS PFS national RVU files " + ", ".join(
        dict.fromkeys(row.rvu_release for row in result.rows)) + " (non-facility)")
    for note in result.notes:
        _line(console, f"note: {note}")
    if result.plot:
        _line(console, f"chart written to {result.plot}")


# --------------------------------------------------------------------------- suggest
def suggestions(console: Console, text: str, found: list[Suggestion]) -> None:
    if not found:
        _line(console, f"No technique in therabill's vocabulary matched {text!r}. Try the "
                       "technique's usual name (e.g. \"joint mobilization\", \"effleurage\"), "
                       "or `therabill explain CODE` if you already have a code.")
        return
    for item in found:
        console.print(f"\n[bold]{escape(item.term)}[/] → "
                      f"[cyan]{', '.join(item.codes)}[/]", highlight=False)
        for candidate in item.candidates:
            _line(console, f"  {candidate.code}: {candidate.when}")
        _line(console, f"why: {item.reason}")
        _line(console, f"document: {item.documentation}")
        if item.ask:
            console.print(f"[yellow]ask:[/] {escape(item.ask)}", highlight=False)
        for note in item.payer_notes:
            _line(console, f"{note.payer}: {note.text}")
        console.print(f"[dim]source: {escape(item.source)}[/]", highlight=False)
