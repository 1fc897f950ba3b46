"""The guide commands for people: every figure with its source, readable at 80 columns.

Prose (reasons, sources, notes) is printed as wrapped lines with a hanging indent, never in a
narrow table column, so no word is broken. Tables hold figures only; a table with more codes than
the console has room for is split into several, each keeping its leading columns, so no number
is cut short. A wide console gets the figures side by side in one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from therabill.cli_views.layout import fits, in_groups
from therabill.guide.compare import Comparison
from therabill.guide.explain import CodeExplanation, MueFacts, PtpFacts
from therabill.guide.facts import NCCI_UNLOCK, PairEdit, Price, Rvus, Sourced
from therabill.guide.history import History, HistoryRow
from therabill.guide.suggest import Suggestion
from therabill.money import usd, usd_signed

ANSWER_STYLE = {"yes": "green", "yes, under supervision": "green", "no": "bold red",
                "not applicable": "dim", "with_modifier": "yellow"}
INDICATOR_WORDS = {
    0: "modifier indicator 0: never paid together the same day; no modifier unlocks the "
       "column 2 code",
    1: f"modifier indicator 1: the column 2 code is paid only with {NCCI_UNLOCK}, when the two "
       "were distinct services (separate time blocks or body regions) and the notes show it",
}


def _money(value: Decimal | None) -> str:
    return "—" if value is None else usd(value)


def _line(console: Console, text: str, source: str = "") -> None:
    """One statement, wrapped at word boundaries, its source after it in dim."""
    words = Text(text)
    if source:
        words.append(f" ({source})", style="dim")
    console.print(words)


def _item(console: Console, text: str | Text, source: str = "", mark: str = "•",
          indent: int = 0) -> None:
    """A list item whose wrapped lines hang under its text, not under the mark."""
    words = text if isinstance(text, Text) else Text(text)
    if source:
        words.append(f" ({source})", style="dim")
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(mark, words)
    console.print(Padding(grid, (0, 0, 0, indent)) if indent else grid)


def _heading(console: Console, text: str) -> None:
    console.print()
    console.print(Text(text, style="bold"))


def _notes(console: Console, notes: list[Sourced]) -> None:
    for note in notes:
        _item(console, note.text, note.source)


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
def _edits(console: Console, edits: Sequence[PairEdit]) -> None:
    """Edits grouped by modifier indicator: what the indicator means once, then the pairs."""
    for indicator in sorted({edit.modifier_indicator for edit in edits}):
        group = [edit for edit in edits if edit.modifier_indicator == indicator]
        style = "bold red" if indicator == 0 else "yellow"
        words = INDICATOR_WORDS.get(indicator, f"modifier indicator {indicator}")
        console.print(Text(words, style=style))
        for edit in group:
            text = Text.assemble((f"{edit.column_1} / {edit.column_2}", "bold"),
                                 f": {edit.rationale}")
            if indicator not in INDICATOR_WORDS:
                text.append(f"; {edit.unlock}")
            _item(console, text, indent=2)


def _ptp(console: Console, ptp: PtpFacts) -> None:
    _heading(console, f"NCCI pairs with other catalogue codes ({ptp.release}, effective "
                      f"{ptp.effective_from}), column 1 / column 2")
    if not ptp.payer_applies_ncci:
        _line(console, "this payer's policy file does not apply NCCI edits; listed for reference")
    if ptp.edits:
        _edits(console, ptp.edits)
    else:
        _line(console, "no edit in force with another catalogue code on this date")
    for text in (ptp.note, ptp.caveat):
        if text:
            _line(console, f"note: {text}")
    console.print(Text(ptp.source, style="dim"))


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
    console.print(Text.assemble((result.code, "bold cyan"),
                                f" · {result.date_of_service} · {result.payer.name}"))
    info = result.catalogue
    if info is not None:
        _line(console, info.summary, info.source)
        _line(console, f"{info.timing.text}; disciplines {', '.join(info.disciplines) or '—'}; "
                       f"{info.therapy_meaning}")
    else:
        _line(console, f"{result.code} is not a therapy code in the therabill catalogue: no "
                       "summary, timing or therapy rules; the Medicare figures below come from "
                       "the CMS RVU file held")
    medicare = result.medicare
    _heading(console, "Medicare status")
    _line(console, f"{medicare.status or '—'} in {medicare.rvu_release}: {medicare.meaning}",
          medicare.source)
    if result.coverage:
        _heading(console, "Coverage notes")
        _notes(console, result.coverage)
    _heading(console, f"Who may furnish it ({result.payer.name})")
    for answer in result.performers:
        style = ANSWER_STYLE.get(answer.may_furnish, "")
        _item(console, Text.assemble((answer.who, "bold"), ": ",
                                     (answer.may_furnish, style), f" — {answer.text}"),
              answer.source)
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
def _comparison_table(result: Comparison, codes: Sequence[str]) -> Table:
    sides = [side for side in result.sides if side.code in codes]
    local = result.sides[0].local
    rows: list[tuple[str, list[str]]] = [
        ("Medicare status", [s.rvu.status if s.rvu else "—" for s in sides]),
        ("work / PE / MP RVU", [f"{s.rvu.rvus.work} / {s.rvu.rvus.pe_nonfacility} / "
                                f"{s.rvu.rvus.mp} = {s.rvu.rvus.total}" if s.rvu else "—"
                                for s in sides]),
        ("national", [f"{_money(s.national.full)}\nMPPR {_money(s.national.reduced)}"
                      for s in sides]),
    ]
    if local is not None:
        rows.append((local.place.locality, [
            f"{_money(s.local.full)}\nMPPR {_money(s.local.reduced)}" if s.local else "—"
            for s in sides]))
    if any(s.payer_price for s in result.sides):
        rows.append((result.payer.id, [_money(s.payer_price.full) if s.payer_price else "—"
                                       for s in sides]))
    table = Table(expand=True, show_lines=True)
    table.add_column("", style="bold", no_wrap=True,
                     min_width=max(len(label) for label, _ in rows))
    for side in sides:
        table.add_column(side.code, ratio=1)
    for label, cells in rows:
        table.add_row(label, *(Text(cell) for cell in cells))
    return table


def comparison(console: Console, result: Comparison) -> None:
    console.print(Text.assemble(("compare", "bold"),
                                f" {' · '.join(result.codes)} · {result.date_of_service} · "
                                f"{result.payer.name}"))
    for side in result.sides:
        _item(console, Text.assemble((side.code, "bold"), f": {side.summary or '—'}"))
    for table in in_groups(console, result.codes,
                           lambda codes: _comparison_table(result, codes)):
        console.print(table)
    side = result.sides[0]
    cf = side.national.conversion_factor
    _line(console, f"RVUs from {side.rvu.release if side.rvu else '—'}; conversion factor "
                   f"{cf.value} from {cf.effective_from}", cf.source)
    local = side.local
    if local is not None:
        _line(console, f"{local.place.locality} {local.place.name}: GPCIs work "
                       f"{local.place.work_gpci}, PE {local.place.pe_gpci}, MP "
                       f"{local.place.mp_gpci}", local.place.source)
    for gap in result.differences:
        _heading(console, f"Difference ({gap.place})")
        parts = ", ".join(f"{g.component} {usd_signed(g.difference)}" for g in gap.components)
        _line(console, f"{gap.text}. Per component (first minus second): {parts}", gap.source)
    _heading(console, "Billed together the same day?")
    for pair in result.together:
        style = ANSWER_STYLE.get(pair.verdict, "")
        _item(console, Text.assemble((f"{'/'.join(pair.codes)}: {pair.verdict}", style),
                                     f" — {pair.text}"), pair.source)
    for side in result.sides:
        if side.coverage:
            _heading(console, f"Coverage notes: {side.code}")
            _notes(console, side.coverage)
    for note in result.notes:
        _line(console, f"note: {note}")


# --------------------------------------------------------------------------- history
def _payment_table(result: History, codes: Sequence[str], rvus: bool) -> Table:
    """Rows by date: RVU file, CF and each code's amount (with its RVUs when ``rvus``)."""
    index = {code: result.codes.index(code) for code in codes}
    table = Table()
    table.add_column("from", no_wrap=True)
    table.add_column("RVU file", no_wrap=True)
    table.add_column("CF", justify="right", no_wrap=True)
    for code in codes:
        if rvus:
            table.add_column(f"{code} W/PE/MP", justify="right", no_wrap=True)
        table.add_column(code if not rvus else f"{code} $", justify="right", no_wrap=True)
    for row in result.rows:
        cells = []
        for code in codes:
            point = row.points[index[code]]
            if rvus:
                cells.append(_rvu_text(point.rvus))
            cells.append(_money(point.full))
        table.add_row(row.label, row.rvu_release, str(row.conversion_factor.value), *cells)
    return table


def _rvu_text(rvus: Rvus | None) -> str:
    return "—" if rvus is None else f"{rvus.work}/{rvus.pe_nonfacility}/{rvus.mp}"


def _rvu_table(result: History, codes: Sequence[str]) -> Table:
    """One row per RVU release: each code's work / PE / MP RVUs (they change only by release)."""
    index = {code: result.codes.index(code) for code in codes}
    table = Table(title="RVUs per release (work / non-facility PE / MP)", title_justify="left",
                  title_style="bold")
    table.add_column("RVU file", no_wrap=True)
    for code in codes:
        table.add_column(code, justify="right", no_wrap=True)
    seen: dict[str, HistoryRow] = {}
    for row in result.rows:
        seen.setdefault(row.rvu_release, row)
    for release, row in seen.items():
        table.add_row(release, *(_rvu_text(row.points[index[code]].rvus) for code in codes))
    return table


def history(console: Console, result: History) -> None:
    place = "national (GPCIs 1.000)"
    if result.locality != "national":
        named = next((row.place.name for row in reversed(result.rows) if row.place), "")
        place = f"{result.locality} {named}"
    console.print(Text(f"Medicare payment per unit, {result.from_year}–{result.to_year}, "
                       f"{place}", style="bold"))
    together = _payment_table(result, result.codes, rvus=True)
    if fits(console, together, wrapped=False):
        console.print(together)
    else:
        # Narrow console: amounts by date, then RVUs by release, codes in as few tables as fit.
        for table in in_groups(console, result.codes,
                               lambda codes: _payment_table(result, codes, rvus=False)):
            console.print(table)
        for table in in_groups(console, result.codes, lambda codes: _rvu_table(result, codes)):
            console.print(table)
    for row in result.rows:
        if result.locality != "national" and row.place and row.place.note:
            _item(console, f"{row.label}: {row.place.note}")
        for point in row.points:
            if point.note and row.place is not None:
                _item(console, f"{row.label} {point.code}: {point.note}")
    console.print(Text("conversion factors", style="bold"))
    sources = dict.fromkeys((row.conversion_factor.effective_from,
                             row.conversion_factor.source) for row in result.rows)
    for start, source in sources:
        _item(console, f"{start}: {source}")
    _line(console, "RVUs: CMS PFS national RVU files " + ", ".join(
        dict.fromkeys(row.rvu_release for row in result.rows)) + " (non-facility)")
    for note in result.notes:
        _line(console, f"note: {note}")
    if result.plot:
        _line(console, f"chart written to {result.plot}")


# --------------------------------------------------------------------------- suggest
def suggestions(console: Console, text: str, found: list[Suggestion],
                unmatched: Sequence[str] = ()) -> None:
    if not found:
        _line(console, f"No technique in therabill's vocabulary matched {text!r}. Try the "
                       "technique's usual name (e.g. \"joint mobilization\", \"effleurage\"), "
                       "or `therabill explain CODE` if you already have a code.")
    for item in found:
        console.print()
        console.print(Text.assemble((item.term, "bold"), " → ",
                                    (", ".join(item.codes), "cyan")))
        for candidate in item.candidates:
            _item(console, f"{candidate.code}: {candidate.when}", indent=2)
        _line(console, f"why: {item.reason}")
        _line(console, f"document: {item.documentation}")
        if item.ask:
            console.print(Text.assemble(("ask:", "yellow"), f" {item.ask}"))
        for note in item.payer_notes:
            _line(console, f"{note.payer}: {note.text}")
        console.print(Text(f"source: {item.source}", style="dim"))
    if unmatched and found:
        console.print()
        console.print(Text("not matched (no technique found in these words; try the "
                           "technique's usual name):", style="yellow"))
        for phrase in unmatched:
            _item(console, repr(phrase), indent=2)
