"""The ``therabill payers`` commands: list the payers held, show one, compare codes across all.

Interface only: the answers are built by ``therabill.payers.answers`` (plain data) and printed
here as rich tables or as JSON (``--format json``). A question that cannot be answered (unknown
payer or code, a date with no CMS file, a payer file that does not load) is one line on stderr
and exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

Fail = Callable[[str], Any]
FORMAT_HELP = "table (readable) or json (machine-readable)"


def register(app: typer.Typer, console: Console, fail: Fail) -> None:
    """Add ``payers`` (list), ``payers show`` and ``payers compare`` to ``app``."""
    payers_app = typer.Typer(help="Real payers' published rules, each with its source, date "
                                  "and confidence; `unknown` where no source says.")
    app.add_typer(payers_app, name="payers")

    def policies() -> dict[str, Any]:
        from therabill.payers.policy import PolicyError, load_policies

        try:
            return load_policies()
        except PolicyError as exc:
            fail(f"a payer policy file does not load: {exc}")
            raise

    def check_format(format: str) -> None:
        if format not in ("table", "json"):
            fail(f"--format must be table or json, not {format!r}")

    @payers_app.callback(invoke_without_command=True)
    def payers(ctx: typer.Context,
               format: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)]
               = "table") -> None:
        """List the payers held (shipped files and your own)."""
        if ctx.invoked_subcommand is not None:
            return
        from therabill.payers.answers import payer_list

        check_format(format)
        rows = payer_list(policies())
        if format == "json":
            print(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        table = Table(title="Payers held")
        for column in ("id", "name", "kind", "as of", "rules known / unknown"):
            table.add_column(column)
        for row in rows:
            counts = (f"{row['known']} / {len(row['unknown'])}" if row["published_rules"]
                      else "settings only")
            table.add_row(row["id"], escape(row["name"]), row["kind"], row["as_of"] or "—",
                          counts)
        console.print(table)
        console.print("`therabill payers show ID` gives a payer's rules with their sources.")

    @payers_app.command("show")
    def show(name: Annotated[str, typer.Argument(help="Payer id, e.g. cigna-commercial")],
             format: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)]
             = "table") -> None:
        """A payer's rules, each with its value, start date, source and confidence."""
        from therabill.payers.answers import payer_detail

        check_format(format)
        held = policies()
        if name not in held:
            fail(f"unknown payer {name!r}: choose one of {', '.join(sorted(held))}")
        detail = payer_detail(held[name])
        if format == "json":
            print(json.dumps(detail, indent=2, ensure_ascii=False))
            return
        as_of = f" (as of {detail['as_of']})" if detail["as_of"] else ""
        console.print(f"[bold]{escape(detail['name'])}[/bold] · {detail['id']} · "
                      f"{detail['kind']}{as_of}", highlight=False)
        if not detail["published_rules"]:
            console.print("No published rules held: what the file's settings do is shown.")
        for row in detail["rules"]:
            start = f" from {row['effective_from']}" if row["effective_from"] else ""
            grade = f" [confidence {row['confidence']}]" if row["confidence"] else ""
            console.print(f"\n[bold]{escape(row['title'])}[/bold]: "
                          f"{escape(row['answer'])}{start}{escape(grade)}", highlight=False)
            if row["note"]:
                console.print(f"  {escape(row['note'])}", highlight=False)
            if row["source"]:
                console.print(f"  source: {escape(row['source'])}", highlight=False)
            other = row.get("other_reading")
            if other:
                when = f" from {other['effective_from']}" if other["effective_from"] else ""
                console.print(f"  other reading: {escape(str(other['value']))}{when} "
                              + escape(f"[confidence {other['confidence']}]")
                              + f": {escape(other['note'])} "
                              f"(source: {escape(other['source'])})", highlight=False)
        for pair in detail["denied_pairs"]:
            console.print(f"\n[bold]denied pair[/bold]: {pair['column_2']} with "
                          f"{pair['column_1']}"
                          f"{'' if pair['modifier_unlocks'] else ', no modifier unlocks it'}"
                          f"\n  source: {escape(pair['source'])}", highlight=False)
        for rule in detail["not_covered"]:
            console.print(f"\n[bold]not covered[/bold]: {rule['code']}: "
                          f"{escape(rule['reason'])}\n  source: {escape(rule['source'])}",
                          highlight=False)
        pricing = detail["pricing"]
        console.print(f"\n[bold]fees[/bold]: {escape(pricing['stand_in'] or pricing['source'])}",
                      highlight=False)

    @payers_app.command("compare")
    def compare(codes: Annotated[list[str], typer.Argument(help="Codes, e.g. 97124 97140")],
                date: Annotated[str | None, typer.Option(
                    "--date", "-d", help="Date of service, YYYY-MM-DD (default: today)")]
                = None,
                format: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)]
                = "table") -> None:
        """The codes under every payer: covered?, same day?, units, cap, CQ/CO and MPPR."""
        from therabill.guide.facts import GuideError, parse_code, parse_day, rvu_release_for
        from therabill.payers.answers import compare_payers
        from therabill.reference.store import default_reference

        check_format(format)
        reference = default_reference()
        try:
            day = parse_day(date)
            rvu_release_for(reference, day)
            parsed = [parse_code(code, reference) for code in codes]
        except GuideError as exc:
            fail(str(exc))
            raise
        answer = compare_payers(parsed, day, policies(), reference)
        if format == "json":
            print(json.dumps(answer, indent=2, ensure_ascii=False))
            return
        _print_comparison(console, answer)


def _cell(item: dict[str, Any] | None) -> str:
    if item is None:
        return "—"
    grade = f" [{item['confidence']}]" if item.get("confidence") else ""
    flag = " *" if item.get("other_reading") else ""
    return escape(f"{item['answer']}{grade}{flag}")


def _print_comparison(console: Console, answer: dict[str, Any]) -> None:
    codes = answer["codes"]
    table = Table(title=f"{' · '.join(codes)} across payers · {answer['date_of_service']}",
                  show_lines=True)
    table.add_column("payer")
    for code in codes:
        table.add_column(f"{code} covered?")
    has_lmt = any(p["massage_therapist"] for p in answer["payers"])
    if has_lmt:
        table.add_column("massage therapist paid?")
    pairs = [p["codes"] for p in answer["payers"][0]["same_day"]] if answer["payers"] else []
    for first, second in pairs:
        table.add_column(f"{first} with {second} same day?")
    for title in ("units", "daily cap", "CQ/CO", "MPPR"):
        table.add_column(title)
    for payer in answer["payers"]:
        cells = [escape(payer["id"])]
        cells += [_cell(payer["coverage"][code]) for code in codes]
        if has_lmt:
            cells.append(_cell(payer["massage_therapist"]))
        cells += [escape(pair["verdict"].replace("_", " ")
                         + (" (if NCCI applies: unknown)" if pair["ncci_assumed"] else ""))
                  for pair in payer["same_day"]]
        cells += [_cell(payer["rules"][name]) for name in
                  ("unit_method", "daily_cap", "assistant_rate", "mppr")]
        table.add_row(*cells)
    console.print(table)
    console.print("[A] payer's own text · [B] association or reputable secondary source · "
                  "[C] secondary, unquoted · * sources disagree (see `payers show`)")
    console.print(escape(answer["caveat"]), highlight=False)
    console.print("\n[bold]Sources[/bold]")
    for payer in answer["payers"]:
        seen: list[str] = []
        items = [*payer["coverage"].values(), payer["massage_therapist"], *payer["same_day"],
                 *payer["rules"].values()]
        for item in items:
            if item and item.get("source") and item["source"] not in seen:
                seen.append(item["source"])
        console.print(f"{escape(payer['id'])}: " + escape(" | ".join(seen)), highlight=False)
