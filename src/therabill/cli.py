"""The ``therabill`` command line: check visits, manage reference data, answer coding questions."""

from __future__ import annotations

import json
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from therabill.cli_views.guide_commands import register as register_guide
from therabill.cli_views.payer_commands import register as register_payers
from therabill.interchange import read_visits
from therabill.render import render_result, result_json

# -h as well as --help, on the app and (inherited by every command's context) on each command.
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=HELP_OPTIONS,
                  help="Outpatient therapy claims: units, NCCI edits, modifiers and payment, "
                       "each decision explained with its source.")
data_app = typer.Typer(no_args_is_help=True, context_settings=HELP_OPTIONS,
                       help="Reference data: build, list, import.")
app.add_typer(data_app, name="data")
console = Console()
errors = Console(stderr=True)


def _show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"therabill {package_version('therabill')}")
        raise typer.Exit()


@app.callback()
def _app_options(
    version: Annotated[bool, typer.Option(
        "--version", "-V", is_eager=True, callback=_show_version,
        help="Print the therabill version and exit")] = False,
) -> None:
    """Outpatient therapy claims: units, NCCI edits, modifiers and payment, each explained."""


def fail(message: str, code: int = 2) -> None:
    # One plain line, never wrapped, so scripts can read it.
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def check(
    path: Annotated[str, typer.Argument(help="Visit file (JSON object, array or JSON Lines); "
                                        "- reads standard input")],
    format: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    explain: Annotated[str | None, typer.Option(
        "--explain", help="Lay out the arithmetic of one code's lines")] = None,
) -> None:
    """Check visits: claim lines, units, modifiers, edits and payment, with reasons."""
    from therabill.engine import check as check_visit

    if format not in ("table", "json"):
        fail(f"--format must be table or json, not {format!r}")
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
    batch = read_visits(text)
    if batch.unreadable:
        fail(batch.unreadable)
    results = [check_visit(item) if isinstance(item, dict) else item
               for item in _with_progress(batch.items, "checking visits")]
    if format == "json":
        rendered: list[Any] = [result_json(r) for r in results]
        if batch.shape == "object":
            print(json.dumps(rendered[0], indent=2, ensure_ascii=False))
        elif batch.shape == "array":
            print(json.dumps(rendered, indent=2, ensure_ascii=False))
        else:
            for item in rendered:
                print(json.dumps(item, ensure_ascii=False))
        return
    for result in results:
        render_result(console, result, explain)


def _with_progress(items: list[Any], label: str) -> Any:
    """Long inputs show a progress bar on standard error (only where it is a terminal)."""
    if len(items) < 1_000:
        return items
    from rich.progress import track

    return track(items, description=label, console=errors, transient=True)


@data_app.command("build")
def data_build(
    source: Annotated[Path | None, typer.Option(help="Folder of the official CMS files")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the tables")] = None,
) -> None:
    """Rebuild the bundled tables from the official CMS files (developers)."""
    from rich.progress import Progress

    from therabill.reference.build import SOURCES, build
    from therabill.reference.importers.common import DataFileError
    from therabill.reference.paths import BUNDLED_DIR, cms_source_dir

    source = source or cms_source_dir()
    out = out or BUNDLED_DIR
    if not source.is_dir():
        fail(f"no CMS source folder at {source}; pass --source")
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("reading CMS files", total=len(SOURCES))

        def step(name: str) -> None:
            progress.update(task, advance=1, description=name)

        try:
            count = build(source, out, step)
        except DataFileError as exc:
            fail(str(exc))
    console.print(f"wrote {count} releases to {out}")


@data_app.command("import")
def data_import(
    files: Annotated[list[Path], typer.Argument(help="Official CMS files (RVU, GPCI, locality, "
                                                "NCCI PTP parts, MUE)")],
    partial: Annotated[bool, typer.Option(
        "--partial", help="Accept extracts smaller than a whole official file")] = False,
) -> None:
    """Import newer official files; they take precedence for the dates they cover."""
    from rich.progress import Progress

    from therabill.reference.importers.common import DataFileError
    from therabill.reference.paths import user_data_dir
    from therabill.reference.user_import import import_files

    target = user_data_dir()
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("reading", total=len(files))
        try:
            new = import_files(files, target,
                               lambda name: progress.update(task, advance=1, description=name),
                               partial)
        except DataFileError as exc:
            fail(f"{exc} — nothing was imported")
    for release in new:
        console.print(f"imported {release.release_id} from {release.source.file_name}")
    console.print(f"into {target}")


@data_app.command("info")
def data_info(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    hashes: Annotated[bool, typer.Option(
        "--hashes", help="Print each source file's SHA-256 whole (the table shortens them)")
    ] = False,
) -> None:
    """List the loaded releases, the dates they cover, their sources, and the parameters."""
    from therabill.cli_views.info import render_info
    from therabill.reference.info import info_json
    from therabill.reference.store import default_reference

    info = info_json(default_reference())
    if format == "json":
        print(json.dumps(info, indent=2))
    elif format == "table":
        render_info(console, info, hashes)
    else:
        fail(f"--format must be table or json, not {format!r}")


# The console is looked up when a command runs, so it can be swapped (tests, other widths).
register_guide(app, lambda: console, fail)
register_payers(app, console, fail)
app.command("batch")(__import__("therabill.batch.cli", fromlist=["batch"]).batch)


def main() -> None:
    app()
