"""``therabill batch``: check claims files (CSV, TSV, Parquet, JSON, JSON Lines, X12 837P) and
write the lines and findings tables, the results, the rejects and an audit report."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated, Any

import typer

from therabill.batch.pipeline import DETAILS, Summary, plan_outputs, run
from therabill.batch.readers import InputError, parse_mapping
from therabill.batch.writers import TABLE_FORMATS


def batch(
    inputs: Annotated[list[Path], typer.Argument(
        help="Claims files: .csv, .tsv, .parquet, .json, .jsonl, .837/.x12/.edi")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Output directory, or a .parquet/.csv (lines table) or .jsonl "
                               "(results) file")],
    to: Annotated[str | None, typer.Option(
        help=f"Table format: {' or '.join(TABLE_FORMATS)} (default from -o, else parquet)")
    ] = None,
    detail: Annotated[str, typer.Option(
        help="full: tables and results.jsonl with every step; compact: the tables only")
    ] = "full",
    workers: Annotated[int, typer.Option(
        help="Worker processes (default 0: one per core, for 5,000 visits or more)", min=0)
    ] = 0,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", help="Rename an input column: OLD=NEW (NEW of - ignores it); repeatable")
    ] = None,
    report: Annotated[Path | None, typer.Option(
        help="Write an audit report, one self-contained HTML file")] = None,
    fhir: Annotated[bool, typer.Option(
        "--fhir", help="Also write eob.ndjson: each checked visit as a FHIR R4B "
                       "ExplanationOfBenefit (needs the fhir extra)")] = False,
    summary_format: Annotated[str, typer.Option(
        "--summary", help="How the closing summary is printed: text or json")] = "text",
    columnar: Annotated[bool, typer.Option(
        "--columnar/--engine-only", help="Check the common visits of a plain CSV, TSV or "
        "Parquet file as columns (compact detail, no report or FHIR); --engine-only sends every "
        "visit through the engine")] = True,
    x12_map: Annotated[bool, typer.Option(
        "--x12-map/--x12-envelope-only", help="Check each 837P segment against the "
        "005010X222A1 map (pyx12); --x12-envelope-only checks the envelope alone, about 20 "
        "times as fast, for a file a clearinghouse has accepted already")] = True,
) -> None:
    """Check claims files: every visit checked, every record accounted for."""
    if summary_format not in ("text", "json"):
        _fail(f"--summary must be text or json, not {summary_format!r}")
    if detail not in DETAILS:
        _fail(f"--detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        _fail(f"--report {report}: the report is an .html file")
    if report is not None and not report.parent.exists():
        report.parent.mkdir(parents=True, exist_ok=True)
    sink: Any = None
    collector: Any = None
    if report is not None:
        from therabill.batch.report import ReportData

        collector = ReportData()
        sink = collector.add
    if fhir:
        from importlib.util import find_spec

        if find_spec("fhir") is None:
            _fail("--fhir needs the fhir extra: pip install 'therabill[fhir]'")
    try:
        outputs = plan_outputs(output, to, detail, fhir)
        with _Progress() as progress:
            summary = run(inputs, outputs, workers=workers,
                          mapping=parse_mapping(mapping or ()), progress=progress.update,
                          sink=sink, columnar=columnar, x12_map=x12_map)
    except InputError as exc:
        _fail(str(exc))
    except BrokenProcessPool as exc:
        _fail(f"a worker process ended unexpectedly ({exc}); no output was written — try "
              "--workers 1")
    except MemoryError:
        _fail("out of memory holding the input; no output was written — split the file by "
              "patient")
    except KeyboardInterrupt:
        typer.echo("interrupted: no output written", err=True)
        raise typer.Exit(130) from None
    if collector is not None and report is not None:
        from therabill.batch.report import write_report

        write_report(report, collector, summary)
        summary.outputs["report"] = str(report)
    _print_summary(summary, summary_format)


def _print_summary(summary: Summary, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(summary.as_dict()))
        return
    for line in summary.text():
        print(line)
    for name, path in summary.outputs.items():
        print(f"  {name}: {path}")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


class _Progress:
    """A rich progress bar on a terminal; otherwise one JSON line on standard error every few
    seconds (``{"progress": phase, "done": n, "total": t, "rate": r, "elapsed": s}``)."""

    EVERY = 5.0

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.phases: dict[str, float] = {}
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True)
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, phase: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        elapsed = now - self.phases.setdefault(phase, now)
        rate = done / elapsed if elapsed > 0 else 0.0
        if self.bar is not None:
            task = self.tasks.get(phase)
            unit = "records" if phase == "reading" else "visits"
            if task is None:
                task = self.tasks[phase] = self.bar.add_task(phase, total=total, rate="")
            self.bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} {unit}/s")
            return
        if now - self.last >= self.EVERY or (total is not None and done == total and done):
            self.last = now
            print(json.dumps({"progress": phase, "done": done, "total": total,
                              "rate": round(rate, 1), "elapsed": round(now - self.started, 1)}),
                  file=sys.stderr, flush=True)
