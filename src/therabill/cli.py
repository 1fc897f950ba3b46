"""The ``therabill`` command line: check visits, manage reference data, answer coding questions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from therabill.interchange import read_visits
from therabill.render import render_result, result_json

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Outpatient therapy claims: units, NCCI edits, modifiers and payment, "
                       "each decision explained with its source.")
data_app = typer.Typer(no_args_is_help=True, help="Reference data: build, list, import.")
app.add_typer(data_app, name="data")
console = Console()
errors = Console(stderr=True)


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
) -> None:
    """List the loaded releases, the dates they cover, their sources, and the parameters."""
    from therabill.reference.info import info_json, render_info
    from therabill.reference.store import default_reference

    reference = default_reference()
    if format == "json":
        print(json.dumps(info_json(reference), indent=2))
    else:
        render_info(console, reference)


def _register_guide() -> None:
    try:
        from therabill.guide.commands import register
    except ImportError:
        return
    register(app, console, fail)


_register_guide()
app.command("batch")(__import__("therabill.batch.cli", fromlist=["batch"]).batch)


def main() -> None:
    app()
