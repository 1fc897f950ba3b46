"""``therabill ledger``: post checked visits, delete them, show a patient's year, migrate.

An interface module: the ledger itself (and SQLAlchemy) is imported only when a command runs,
so ``therabill`` works without the ``ledger`` extra until one of these commands is used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from therabill.ledger import URL_ENV

if TYPE_CHECKING:
    from therabill.ledger.store import Ledger, PostOutcome
    from therabill.ledger.year import YearView

ledger_app = typer.Typer(no_args_is_help=True,
                         help="The patient's year: posted visits, KX threshold amounts to date, "
                              "deductible met.")
db_app = typer.Typer(no_args_is_help=True, help="The ledger's database.")
ledger_app.add_typer(db_app, name="db")
console = Console()
errors = Console(stderr=True)

DatabaseUrl = Annotated[str | None, typer.Option(
    "--database-url", envvar=URL_ENV, show_default=False,
    help="SQLAlchemy URL: postgresql://user@host/db or sqlite:///path (default: a SQLite file "
         "in the user data directory)")]
Format = Annotated[str, typer.Option("--format", "-f", help="table or json")]
PatientId = Annotated[str, typer.Argument(help="Patient id")]
Year = Annotated[int, typer.Argument(metavar="YYYY", help="Calendar year", min=1900, max=9999)]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _open(url: str | None) -> Ledger:
    try:
        from therabill.ledger.store import Ledger
    except ImportError as exc:
        _fail(f"the ledger needs the ledger extra ({exc.name} is missing): "
              "pip install 'therabill[ledger]'")
    from therabill.ledger.database import LedgerError

    try:
        return Ledger(url)
    except LedgerError as exc:
        _fail(str(exc))
    raise AssertionError  # unreachable: _fail raises


def _check_format(format: str) -> None:
    if format not in ("table", "json"):
        _fail(f"--format must be table or json, not {format!r}")


@ledger_app.command("post")
def post(
    path: Annotated[str, typer.Argument(help="Visit file (JSON object, array or JSON Lines), "
                                        "each visit with a patient_id; - reads standard input")],
    database_url: DatabaseUrl = None,
    format: Format = "table",
) -> None:
    """Check visits and post them to their patients' years (the same visit_id replaces)."""
    from therabill.interchange import read_visits
    from therabill.ledger.database import LedgerError

    _check_format(format)
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        _fail(f"{path} is not UTF-8 text")
    batch = read_visits(text)
    if batch.unreadable:
        _fail(batch.unreadable)
    outcomes: list[PostOutcome] = []
    failed = 0
    with _open(database_url) as ledger:
        for number, item in enumerate(_progress(batch.items), start=1):
            if not isinstance(item, dict):  # a record that could not be read at all
                failed += 1
                errors.print(f"visit {number}: {item.findings[0].message}", markup=False)
                continue
            try:
                outcomes.append(ledger.check_and_post(item))
            except LedgerError as exc:
                failed += 1
                errors.print(f"visit {number}: {exc}", markup=False)
    if format == "json":
        print(json.dumps([_outcome_json(o) for o in outcomes], indent=2, ensure_ascii=False))
    else:
        _outcomes_table(outcomes)
    if failed:
        errors.print(f"{failed} of {len(batch.items)} visits not posted", markup=False)
        raise typer.Exit(1)


@ledger_app.command("delete")
def delete(
    patient: PatientId,
    visit_id: Annotated[str, typer.Argument(help="The visit_id to remove")],
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a posted visit and its amounts from the patient's year."""
    from therabill.ledger.database import LedgerError

    with _open(database_url) as ledger:
        try:
            outcome = ledger.delete(patient, visit_id)
        except LedgerError as exc:
            _fail(str(exc), 1)
    console.print(f"deleted visit {visit_id} of patient {patient}", markup=False)
    if outcome.no_longer_need_kx:
        console.print("no longer need KX: " + ", ".join(outcome.no_longer_need_kx),
                      markup=False)
    if outcome.recheck:
        console.print("check again (their year-to-date figures changed): "
                      + ", ".join(outcome.recheck), markup=False)


@ledger_app.command("year")
def year(
    patient: PatientId,
    yyyy: Year,
    database_url: DatabaseUrl = None,
    format: Format = "table",
) -> None:
    """A patient's year: visits in date order, running PT/SLP and OT amounts, deductible met,
    when KX was first needed and whether the targeted review amount was passed."""
    from therabill.ledger.database import LedgerError

    _check_format(format)
    with _open(database_url) as ledger:
        try:
            if not ledger.knows(patient):
                _fail(f"the ledger has no visits of patient {patient!r}", 1)
            view = ledger.year(patient, yyyy)
        except LedgerError as exc:
            _fail(str(exc), 1)
    if format == "json":
        from therabill.ledger.year import YEAR_ADAPTER

        print(json.dumps(YEAR_ADAPTER.dump_python(view, mode="json"), indent=2,
                         ensure_ascii=False))
        return
    _year_table(view)


@ledger_app.command("recheck")
def recheck(
    patient: PatientId,
    yyyy: Year,
    database_url: DatabaseUrl = None,
    format: Format = "table",
) -> None:
    """Check again the visits whose year-to-date figures changed (after a late visit, a
    replaced or a deleted one), in date order, and post the new results."""
    from therabill.ledger.database import LedgerError

    _check_format(format)
    with _open(database_url) as ledger:
        try:
            outcomes = ledger.recheck(patient, yyyy)
        except LedgerError as exc:
            _fail(str(exc), 1)
    if format == "json":
        print(json.dumps([_outcome_json(o) for o in outcomes], indent=2, ensure_ascii=False))
    elif outcomes:
        _outcomes_table(outcomes)
    else:
        console.print(f"nothing to check again for patient {patient} in {yyyy}", markup=False)


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
) -> None:
    """Create or update the ledger's tables (also done on first use)."""
    from therabill.ledger.database import LedgerError, connect, upgrade

    try:
        engine = connect(database_url)
        try:
            now = upgrade(engine, revision)
        finally:
            engine.dispose()
    except ImportError as exc:
        _fail(f"the ledger needs the ledger extra ({exc.name} is missing): "
              "pip install 'therabill[ledger]'")
    except LedgerError as exc:
        _fail(str(exc))
    except Exception as exc:  # alembic and driver errors: one line, never a traceback
        _fail(f"cannot upgrade the ledger: {str(exc).strip().splitlines()[0]}")
    console.print(f"ledger database at revision {now}", markup=False)


def _progress(items: list[Any]) -> Any:
    if len(items) < 200 or not errors.is_terminal:
        return items
    from rich.progress import track

    return track(items, description="posting visits", console=errors, transient=True)


def _money(value: Any) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _outcome_json(outcome: PostOutcome) -> dict[str, Any]:
    from therabill.render import result_json

    return {"patient_id": outcome.patient_id, "visit_id": outcome.visit_id,
            "replaced": outcome.replaced, "notes": outcome.notes,
            "now_need_kx": outcome.now_need_kx, "no_longer_need_kx": outcome.no_longer_need_kx,
            "recheck": outcome.recheck, "result": result_json(outcome.result)}


def _outcomes_table(outcomes: list[PostOutcome]) -> None:
    table = Table(title="posted", title_justify="left", expand=True)
    for name in ("patient", "visit", "date", "allowed", "payer", "patient owes", "ledger"):
        table.add_column(name, overflow="fold",
                         justify="right" if name in ("allowed", "payer", "patient owes")
                         else "left")
    for o in outcomes:
        said = ["replaced" if o.replaced else "new"]
        filled = [note.split(" from the ledger")[0] for note in o.notes]
        if filled:
            said.append(", ".join(filled) + " from the ledger")
        if o.now_need_kx:
            said.append("now need KX: " + ", ".join(o.now_need_kx))
        if o.no_longer_need_kx:
            said.append("no longer need KX: " + ", ".join(o.no_longer_need_kx))
        if o.recheck:
            said.append("check again: " + ", ".join(o.recheck))
        totals = o.result.totals
        table.add_row(o.patient_id, o.visit_id, str(o.result.date_of_service),
                      _money(totals.allowed), _money(totals.payer_paid),
                      _money(totals.patient_owes), "; ".join(said))
    console.print(table)


def _year_table(view: YearView) -> None:
    kx = "not loaded" if view.kx_threshold is None else f"${view.kx_threshold:,}"
    table = Table(title=f"patient {view.patient_id} · {view.year} · KX threshold {kx} per "
                        "group", title_justify="left", expand=True)
    for name in ("date", "visit", "payer", "allowed", "PT+SLP to date", "OT to date",
                 "deductible met", "KX / review"):
        table.add_column(name, overflow="fold", justify="right" if "to date" in name
                         or name in ("allowed", "deductible met") else "left")
    label = {"pt_slp": "PT+SLP", "ot": "OT"}
    for row in view.visits:
        said = []
        said += [f"{label[g]} crosses KX" for g in row.crosses_kx]
        said += [f"{label[g]} over KX" for g in row.needs_kx if g not in row.crosses_kx]
        said += [f"{label[g]} lines lack KX" for g in row.kx_missing]
        said += [f"{label[g]} passes ${view.review_threshold:,} review amount"
                 for g in row.passes_review]
        if row.recheck:
            said.append("check again: its year-to-date figures changed")
        table.add_row(str(row.date_of_service), row.visit_id, row.payer, _money(row.allowed),
                      _money(row.running["pt_slp"]), _money(row.running["ot"]),
                      _money(row.deductible_met), "\n".join(said))
    console.print(table)
    first = view.kx_first_needed_on
    console.print(f"KX first needed: {first or 'not yet'}"
                  + "".join(f"; {label[g]} {d}" for g, d in view.kx_first_needed.items() if d),
                  markup=False)
    passed = [label[g] for g, p in view.review_passed.items() if p]
    console.print("targeted review amount passed: " + (", ".join(passed) if passed else "no"),
                  markup=False)
    if view.deductible is not None:
        console.print(f"deductible met {_money(view.deductible_met)} of "
                      f"{_money(view.deductible)}", markup=False)
    for note in view.notes:
        console.print(f"note: {note}", markup=False)
