"""``therabill data info`` for people: releases, the dates they cover, sources, parameters.

A terminal wide enough gets tables; a narrower one (80 columns) gets the same facts as a list,
two lines a release, so no value is cut or broken mid-word.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from therabill.cli_views.layout import fits, longest_word

SHORT_HASH = 12
COVERS_WIDTH = len("2017-01-01 … 2017-12-31")
SOURCE_MIN = 30  # the parameter source column is prose: below this a list reads better


def _table(title: str, columns: list[str], rows: list[list[str]],
           keep_whole: tuple[str, ...], prose: str = "") -> Table:
    """A table whose ``keep_whole`` columns never wrap; the others wrap between words only."""
    table = Table(title=title, title_justify="left")
    for index, name in enumerate(columns):
        cells = [name, *(row[index] for row in rows)]
        if name in keep_whole:
            table.add_column(name, no_wrap=True, min_width=max(len(c) for c in cells))
        else:
            least = max(longest_word(cells), SOURCE_MIN if name == prose else 0)
            # rich narrows the widest wrapping column first, whatever its minimum: a cap on
            # the date range keeps that from landing on a file name that cannot wrap.
            table.add_column(name, min_width=least,
                             max_width=COVERS_WIDTH if name == "covers" else None)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _hanging(console: Console, head: str, body: str) -> None:
    """``head`` on its line, ``body`` wrapped under it, indented."""
    console.print(Text(head))
    if body:
        console.print(Padding(Text(body, style="dim"), (0, 0, 0, 4)))


def _releases(console: Console, releases: list[dict[str, Any]], hashes: bool) -> None:
    columns = ["kind", "release", "covers", "rows", "source file", "sha256", "origin"]
    rows = [[r["kind"], r["release"], r["covers"], f"{r['rows']:,}", r["source_file"],
             r["sha256"] if hashes else r["sha256"][:SHORT_HASH] + "…", r["origin"]]
            for r in releases]
    table = _table("reference releases", columns, rows,
                   keep_whole=("kind", "release", "rows", "sha256"))
    if fits(console, table, wrapped=False):
        console.print(table)
        return
    console.print(Text("reference releases", style="bold"))
    width = max(len(r["release"]) for r in releases)
    for r, cells in zip(releases, rows, strict=True):
        _hanging(console, f"{r['release']:<{width}}  {r['kind']:<8} {r['covers']}  "
                          f"{cells[3]} rows  {r['origin']}",
                 f"{r['source_file']}  sha256 {cells[5]}")


def _parameters(console: Console, parameters: list[dict[str, Any]]) -> None:
    rows = [[p["parameter"], p["value"], p["from"], p["to"] or "",
             p["source"] + (f" — {p['note']}" if p["note"] else "")] for p in parameters]
    table = _table("dated parameters", ["parameter", "value", "from", "to", "source"], rows,
                   keep_whole=("parameter", "value", "from", "to"), prose="source")
    if fits(console, table):
        console.print(table)
        return
    console.print(Text("\ndated parameters", style="bold"))
    for name, value, start, end, source in rows:
        _hanging(console, f"{name} = {value}  from {start}" + (f" to {end}" if end else ""),
                 source)


def render_info(console: Console, info: dict[str, Any], hashes: bool = False) -> None:
    """Print ``reference.info.info_json``'s answer; ``hashes`` keeps each SHA-256 whole."""
    _releases(console, info["releases"], hashes)
    if not hashes:
        console.print(Text("(SHA-256 shortened: --hashes or --format json prints them whole)",
                           style="dim"))
    _parameters(console, info["parameters"])
    console.print(f"code catalogue: {info['catalogue_codes']} therapy codes")
