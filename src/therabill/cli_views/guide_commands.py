"""The coding-guide commands: ``explain``, ``compare``, ``history`` and ``suggest``.

``therabill.cli`` calls ``register``. Each command builds a pydantic model with the pure
functions of ``therabill.guide`` and prints it as JSON (``--format json``, Decimal as strings) or
as rich tables (``therabill.cli_views.guide``). A question the data cannot answer
(unknown code, locality or payer, a date with no CMS file held) is one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from therabill.guide.facts import NATIONAL, GuideError
from therabill.guide.history import History
from therabill.reference.catalogue import Catalogue

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Fail = Callable[[str], Any]

FORMAT_HELP = "table (readable) or json (machine-readable, amounts as strings)"
DATE_HELP = "Date of service, YYYY-MM-DD (default: today)"
LOCALITY_HELP = "Medicare locality as MAC-locality, e.g. 01182-18 (default: national)"
PAYER_HELP = "Payer policy id: medicare, a real payer (see `therabill payers`) or your own"

# The options the commands share, declared once.
DateOption = Annotated[str | None, typer.Option("--date", "-d", help=DATE_HELP)]
LocalityOption = Annotated[str, typer.Option("--locality", "-l", help=LOCALITY_HELP)]
PayerOption = Annotated[str, typer.Option("--payer", "-p", help=PAYER_HELP)]
FormatOption = Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)]


def _answer(fail: Fail, build: Callable[[], T]) -> T:
    """Run ``build``; a GuideError becomes one line on stderr and exit code 2."""
    try:
        return build()
    except GuideError as exc:
        fail(str(exc))
        raise  # fail() exits; this keeps the type checker honest


def _check_format(fail: Fail, format: str) -> None:
    if format not in ("table", "json"):
        fail(f"--format must be table or json, not {format!r}")


def _print_json(model: BaseModel | dict[str, Any]) -> None:
    data = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _respond(console: Console, fail: Fail, format: str, build: Callable[[], M],
             show: Callable[[Console, M], None]) -> None:
    """Check the format, answer the question, print it as JSON or through ``show``."""
    _check_format(fail, format)
    result = _answer(fail, build)
    if format == "json":
        _print_json(result)
    else:
        show(console, result)


def _plotter(fail: Fail) -> Callable[[History, Path, Catalogue], Path]:
    """The chart writer; without matplotlib (the ``plot`` extra), one line on how to add it."""
    try:
        from therabill.cli_views.plot import plot_history
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "matplotlib":
            raise
        fail("--plot needs matplotlib, which is not installed: "
             "pip install 'therabill[plot]'")
        raise  # fail() exits
    return plot_history


def register(app: typer.Typer, console: Callable[[], Console], fail: Fail) -> None:
    """Add the guide commands to ``app``; ``console()`` gives the console to print on."""
    from therabill.cli_views import guide as render

    @app.command()
    def explain(
        code: Annotated[str, typer.Argument(help="HCPCS/CPT code, e.g. 97124")],
        date: DateOption = None,
        locality: LocalityOption = NATIONAL,
        payer: PayerOption = "medicare",
        format: FormatOption = "table",
    ) -> None:
        """Explain a code: what it is, who may furnish it, what it pays, its NCCI edits."""
        from therabill.guide.explain import explain_code
        from therabill.guide.facts import parse_day
        from therabill.reference.store import default_reference

        _respond(console(), fail, format,
                 lambda: explain_code(code, parse_day(date), locality, payer,
                                      default_reference()), render.explanation)

    @app.command()
    def compare(
        codes: Annotated[list[str], typer.Argument(help="Two or more codes, e.g. 97124 97140")],
        date: DateOption = None,
        locality: LocalityOption = NATIONAL,
        payer: PayerOption = "medicare",
        format: FormatOption = "table",
    ) -> None:
        """Compare codes side by side: RVUs, payment, what drives the gap, billed together?"""
        from therabill.guide.compare import compare_codes
        from therabill.guide.facts import parse_day
        from therabill.reference.store import default_reference

        _respond(console(), fail, format,
                 lambda: compare_codes(codes, parse_day(date), locality, payer,
                                       default_reference()), render.comparison)

    @app.command()
    def history(
        codes: Annotated[list[str], typer.Argument(help="One or more codes, e.g. 97124 97140")],
        from_year: Annotated[int | None, typer.Option(
            "--from", help="First year (default: the oldest RVU file held)")] = None,
        to_year: Annotated[int | None, typer.Option(
            "--to", help="Last year (default: the newest RVU file held)")] = None,
        locality: LocalityOption = NATIONAL,
        plot: Annotated[Path | None, typer.Option(
            "--plot", help="Also draw a line chart to this .png or .svg file")] = None,
        format: FormatOption = "table",
    ) -> None:
        """Payment per RVU release and conversion-factor change, with RVUs and CF."""
        from therabill.guide.history import code_history
        from therabill.reference.store import default_reference

        _check_format(fail, format)
        reference = default_reference()
        result = _answer(fail, lambda: code_history(codes, from_year, to_year, locality,
                                                    reference))
        if plot is not None:
            plot_history = _plotter(fail)
            _answer(fail, lambda: plot_history(result, plot, reference.catalogue))
            result = result.model_copy(update={"plot": str(plot)})
        if format == "json":
            _print_json(result)
        else:
            render.history(console(), result)

    @app.command()
    def suggest(
        text: Annotated[str, typer.Argument(help="Words from the visit note, e.g. "
                                            "\"manual lymphatic drainage\"")],
        format: FormatOption = "table",
    ) -> None:
        """Suggest candidate codes for the techniques a note documents, with the reasons."""
        from therabill.guide.suggest import suggest as find
        from therabill.guide.suggest import unmatched_phrases

        _check_format(fail, format)
        found = find(text)
        missed = unmatched_phrases(text)
        if format == "json":
            _print_json({"text": text, "suggestions": [s.model_dump(mode="json")
                                                       for s in found],
                         "unmatched": missed})
        else:
            render.suggestions(console(), text, found, missed)
