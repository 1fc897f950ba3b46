"""The ``therabill`` command line: check visits, manage reference data, answer coding questions."""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import os
import sys
import time
from collections.abc import Callable
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console

from therabill.batch.cli import batch as batch_command
from therabill.cli_views.check import DataNotes
from therabill.cli_views.guide_commands import register as register_guide
from therabill.cli_views.payer_commands import register as register_payers
from therabill.ledger.cli import ledger_app
from therabill.render import render_result
from therabill.web.serve import register as register_serve

# -h as well as --help, on the app and (inherited by every command's context) on each command.
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=HELP_OPTIONS,
                  help="Outpatient therapy claims: units, NCCI edits, modifiers and payment, "
                       "each decision explained with its source.")
data_app = typer.Typer(no_args_is_help=True, context_settings=HELP_OPTIONS,
                       help="Reference data: build, list, import.")
app.add_typer(data_app, name="data")
app.add_typer(ledger_app, name="ledger")
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


# Exit status of `therabill check` (documented in the README).
EXIT_OK, EXIT_INPUT_ERRORS, EXIT_UNREADABLE, EXIT_OUTPUT = 0, 1, 2, 3


@app.command()
def check(
    path: Annotated[str, typer.Argument(help="Visit file (JSON object, array or JSON Lines); "
                                        "- reads standard input")],
    format: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    explain: Annotated[str | None, typer.Option(
        "--explain", help="Lay out the arithmetic of one code's lines")] = None,
    detail: Annotated[str, typer.Option(
        "--detail", help="JSON detail: full (every decision explained), lines (rule ids, "
                         "units, modifiers and amounts, no prose) or totals")] = "full",
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with status 1 when any visit had an input error")] = False,
    ledger: Annotated[bool | None, typer.Option(
        "--ledger/--no-ledger", help="Take a known patient's year-to-date figures from the "
        "ledger (default: when THERABILL_DATABASE_URL names one)")] = None,
) -> None:
    """Check visits: claim lines, units, modifiers, edits and payment, with reasons.

    Visits are read and results written one at a time. Exit status: 0 done; 1 with --strict
    when a visit had an input error; 2 input that cannot be read, or a bad option; 3 the
    results could not be written."""
    from therabill.interchange import UnreadableInput, VisitReader

    if format not in ("table", "json"):
        fail(f"--format must be table or json, not {format!r}")
    if detail not in ("full", "lines", "totals"):
        fail(f"--detail must be full, lines or totals, not {detail!r}")
    if detail != "full" and format != "json":
        fail("--detail applies to --format json")
    source = _open_input(path)
    try:
        with source:
            try:
                reader = VisitReader(source)
            except UnreadableInput as exc:
                fail(str(exc))
            _check_stream(reader, format, detail, explain, strict, _ledger_for_check(ledger))
    except OSError as exc:  # closing the input
        fail(f"cannot read {path}: {exc.strerror or exc}")


def _open_input(path: str) -> BinaryIO:
    if path == "-":
        stdin = sys.stdin
        if stdin is None or getattr(stdin, "closed", False):
            fail("standard input is closed; give a file or pipe visits in")
        assert stdin is not None
        return stdin.buffer
    try:
        return open(path, "rb")  # closed by the caller
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    raise AssertionError  # fail() does not return


def _ledger_for_check(wanted: bool | None) -> Any:
    """The ledger ``check`` reads year-to-date figures from, or None."""
    from therabill.ledger.checking import ledger_in_use, open_ledger

    if wanted is False or (wanted is None and not ledger_in_use()):
        return None
    try:
        return open_ledger()
    except ImportError as exc:
        fail(f"--ledger needs the ledger extra ({exc.name}): pip install 'therabill[ledger]'")
    except Exception as exc:  # the ledger's own errors: one line, never a traceback
        fail(f"cannot open the ledger: {exc}")


def _check_stream(reader: Any, format: str, detail: str, explain: str | None,
                  strict: bool, ledger: Any = None) -> None:
    """Check visits as they are read and write each result at once; one summary line."""
    from collections import deque

    import therabill
    from therabill.interchange import UnreadableInput
    from therabill.model import CheckResult

    written = with_errors = 0
    progress = _Progress()
    out = sys.stdout
    if out is None or getattr(out, "closed", False):
        fail("standard output is closed; redirect it to a file", EXIT_OUTPUT)
    writer: Any = None
    table = console  # looked up now: tests and callers may have replaced it
    notes = DataNotes()  # the table's data notes, said once per run
    if format == "json":
        from therabill.output import ResultWriter

        writer = ResultWriter(out.buffer, reader.shape, detail)  # type: ignore[arg-type]

    def emit(result: CheckResult) -> None:
        nonlocal written, with_errors
        if writer is not None:
            writer.write(result)
        else:
            render_result(table, result, explain, show_data=False)
            notes.add(result.data)
        written += 1
        if any(f.rule == "input" and f.severity == "error" for f in result.findings):
            with_errors += 1
        progress.tick(written)

    # Records that could not be read are results already: each is written in its place
    # between the engine's results (held only while the engine is ahead of the reader).
    held: deque[tuple[int, CheckResult]] = deque()
    sent = checked = 0

    def visits() -> Any:
        nonlocal sent
        for item in reader:
            if isinstance(item, dict):
                sent += 1
                yield item
            elif sent == checked and not held:
                emit(item)
            else:
                held.append((sent, item))

    try:
        try:
            engine = therabill.Engine()
            # The reference data lives as long as the run: out of the collector's way, so a
            # long stream does not walk it again and again.
            gc.freeze()
            ledger_notes: list[list[Any]] = []
            stream: Any = visits()
            if ledger is not None:
                from therabill.ledger.checking import prefilled

                stream = prefilled(ledger, stream, ledger_notes)
            for result in engine.check_many(stream):
                while held and held[0][0] <= checked:
                    emit(held.popleft()[1])
                if ledger_notes:
                    result.findings.extend(ledger_notes.pop(0))
                emit(result)
                checked += 1
            while held:
                emit(held.popleft()[1])
            if writer is None:
                notes.render(table)
        finally:
            progress.done()
            if writer is not None:
                writer.close()
    except UnreadableInput as exc:
        fail(f"{exc} ({written:,} result(s) written before it)")
    except SystemExit:
        # rich answers a closed pipe under the table by going quiet and exiting with status 1
        # without a word: said here like any failed write
        if writer is None and table.quiet:
            fail(f"cannot write the results: the reader went away (broken pipe) ({written:,} "
                 "written)", EXIT_OUTPUT)
        raise
    except OSError as exc:
        _silence_stdout()
        cause = "the reader went away (broken pipe)" if isinstance(exc, BrokenPipeError) \
            else exc.strerror or str(exc)
        fail(f"cannot write the results: {cause} ({written:,} written)", EXIT_OUTPUT)
    typer.echo(f"therabill check: {reader.records:,} visit(s) read, {written:,} result(s) "
               f"written, {with_errors:,} with input errors", err=True)
    if strict and with_errors:
        raise typer.Exit(EXIT_INPUT_ERRORS)


def _silence_stdout() -> None:
    """After a failed write, point standard output at /dev/null so that the interpreter's own
    flush at exit does not fail a second time with a traceback."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


class _Progress:
    """A count of checked visits on standard error, only where it is a terminal."""

    def __init__(self) -> None:
        self.on = sys.stderr is not None and sys.stderr.isatty()
        self.shown = False
        self.last = time.monotonic()

    def tick(self, count: int) -> None:
        if not self.on or count % 256:
            return
        now = time.monotonic()
        if now - self.last >= 0.25:
            self.last = now
            self.shown = True
            sys.stderr.write(f"\rchecking visits: {count:,}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _quiet_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _plain_errors(command: Callable[..., None]) -> Callable[..., None]:
    """The ``data`` commands end with one line, never a traceback, when their output cannot be
    written (a full device, a closed or broken pipe) or a file cannot be read or written."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(1) from None
        except OSError as exc:
            _quiet_stdout()
            fail(f"{exc.filename or 'standard output'}: {exc.strerror or exc}")

    return run


@data_app.command("build")
@_plain_errors
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
@_plain_errors
def data_import(
    files: Annotated[list[Path], typer.Argument(help="Official CMS files (RVU, GPCI, locality, "
                                                "NCCI PTP parts, MUE)")],
    partial: Annotated[bool, typer.Option(
        "--partial", help="Accept a file that is not a whole release (an extract, some parts "
        "of a quarter); it is recorded as partial and results dated in it say so")] = False,
) -> None:
    """Import newer official files; they take precedence for the dates they cover."""
    from rich.progress import Progress

    from therabill.reference.importers.common import DataFileError
    from therabill.reference.paths import DataDirError, user_data_dir
    from therabill.reference.user_import import import_files

    target = user_data_dir()
    said: list[str] = []
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("reading", total=len(files))
        try:
            new = import_files(files, target,
                               lambda name: progress.update(task, advance=1, description=name),
                               partial, said.append)
        except DataFileError as exc:
            fail(f"{exc} — nothing was imported")
        except DataDirError as exc:
            fail(f"{exc} — nothing was imported")
        except OSError as exc:
            fail(f"{exc.filename or target}: {exc.strerror or exc} — nothing was imported")
    # Plain lines, never wrapped: paths and reasons stay whole for scripts and for copying.
    for message in said:
        typer.echo(message, err=True)
    for item in new:
        release = item.release
        state = f" (partial: {item.partial})" if item.partial else ""
        typer.echo(f"imported {release.release_id} from {release.source.file_name}{state}")
    typer.echo(f"into {target}")


@data_app.command("info")
@_plain_errors
def data_info(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    hashes: Annotated[bool, typer.Option(
        "--hashes", help="Print each source file's SHA-256 whole (the table shortens them)")
    ] = False,
) -> None:
    """List the loaded releases, the dates they cover, their sources, and the parameters."""
    import warnings

    from therabill.cli_views.info import render_info
    from therabill.reference.info import info_json
    from therabill.reference.store import DataDirWarning, load_reference

    if format not in ("table", "json"):
        fail(f"--format must be table or json, not {format!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDirWarning)  # said below, after the listing
        reference = load_reference()
    info = info_json(reference)
    if format == "json":
        print(json.dumps(info, indent=2))
    else:
        # People read a partial table's state beside its origin ("imported (partial: …)").
        shown = [{**row, "origin": row["origin"] + (f" ({row['partial']})" if row["partial"]
                                                    else "")} for row in info["releases"]]
        render_info(console, {**info, "releases": shown}, hashes)
    for problem in reference.problems:
        typer.echo(f"damaged: {problem}", err=True)
    if reference.problems:
        raise typer.Exit(1)


def _data_dir_command(action: str) -> None:
    from therabill.reference import datadir
    from therabill.reference.paths import DataDirError, user_data_dir

    target = user_data_dir()
    try:
        said = datadir.repair(target) if action == "repair" else datadir.reset(target)
    except DataDirError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or target}: {exc.strerror or exc}")
    for message in said or [f"{target}: nothing to repair"]:
        typer.echo(message)


@data_app.command("repair")
@_plain_errors
def data_repair() -> None:
    """Recover or remove what an interrupted import left in the data directory."""
    _data_dir_command("repair")


@data_app.command("reset")
@_plain_errors
def data_reset() -> None:
    """Forget every imported release (the bundled data answers); payer files stay."""
    _data_dir_command("reset")


def _plain_data_warnings() -> None:
    """A damaged data directory is said in one line on standard error, not as a Python
    warning with its file and line; other warnings are shown as usual."""
    import warnings

    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if category.__name__ == "DataDirWarning":
            typer.echo(f"warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


_plain_data_warnings()


# The console is looked up when a command runs, so it can be swapped (tests, other widths).
register_guide(app, lambda: console, fail)
register_payers(app, console, fail)
register_serve(app, fail)
app.command("batch")(batch_command)


def main() -> None:
    app()
