"""The ledger: posted visits per patient, each write one transaction under the patient's lock."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from therabill.ledger import schema
from therabill.ledger.amounts import GROUPS, Group, VisitAmounts, year_amounts
from therabill.ledger.database import (
    LedgerError,
    LedgerUnavailable,
    UnknownVisit,
    connect,
    downgrade,
    upgrade,
)
from therabill.ledger.schema import ID_LENGTH, PAYER_LENGTH
from therabill.ledger.year import PostedVisit, YearParameters, YearView, build_year
from therabill.model import RESULT_ADAPTER, VISIT_ADAPTER, CheckResult, ThresholdToDate, Visit
from therabill.money import ZERO, usd

if TYPE_CHECKING:
    from therabill.engine import Engine


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _dollars(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)  # exact: 12345 -> 123.45, 0 -> 0.00


@dataclass(slots=True)
class Prefill:
    """A visit with the year-to-date figures the ledger supplies, and notes saying which."""

    visit: Visit
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PostOutcome:
    patient_id: str
    visit_id: str
    replaced: bool
    result: CheckResult
    notes: list[str]
    now_need_kx: list[str]         # later visits that need KX since this write
    no_longer_need_kx: list[str]   # later visits that no longer do
    recheck: list[str]             # visits of the year checked with figures now out of date


@dataclass(slots=True)
class DeleteOutcome:
    patient_id: str
    visit_id: str
    no_longer_need_kx: list[str]
    now_need_kx: list[str]
    recheck: list[str]


class Ledger:
    """Posted visits per patient and calendar year, in SQLite (default) or PostgreSQL.

    ``url`` None means ``THERABILL_DATABASE_URL`` or else a SQLite file in the user data
    directory. The tables are brought up to date on first use (``migrate=False`` skips that).
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None,
                 migrate: bool = True) -> None:
        self._db = connect(url)
        self._engine = engine
        if migrate:
            self.upgrade()

    # -- set-up -------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The checker whose dated parameters and payer policies the ledger uses."""
        if self._engine is None:
            from therabill.engine import Engine

            self._engine = Engine()
        return self._engine

    @property
    def backend(self) -> str:
        return self._db.dialect.name

    def upgrade(self, revision: str = "head") -> str:
        try:
            return upgrade(self._db, revision)
        except OperationalError as exc:
            raise LedgerUnavailable(
                f"cannot open the ledger database: {_first_line(exc)}") from None

    def downgrade(self, revision: str) -> str:
        try:
            return downgrade(self._db, revision)
        except OperationalError as exc:
            raise LedgerUnavailable(
                f"cannot open the ledger database: {_first_line(exc)}") from None

    def close(self) -> None:
        self._db.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------

    def knows(self, patient_id: str) -> bool:
        with self._reading() as conn:
            return conn.execute(select(schema.patients.c.patient_id).where(
                schema.patients.c.patient_id == patient_id)).first() is not None

    def year(self, patient_id: str, year: int) -> YearView:
        """Running totals, KX and review positions of one patient's calendar year."""
        with self._reading() as conn:
            return self._year(conn, patient_id, year)

    def visit_result(self, patient_id: str, visit_id: str) -> CheckResult | None:
        """The checked result as it was posted."""
        with self._reading() as conn:
            found = conn.execute(select(schema.visits.c.result_json).where(
                schema.visits.c.patient_id == patient_id,
                schema.visits.c.visit_id == visit_id)).scalar_one_or_none()
        return None if found is None else RESULT_ADAPTER.validate_json(found)

    def prefill(self, visit: Visit | Mapping[str, Any]) -> Prefill:
        """The visit with ``ytd_threshold_amount`` and ``deductible_remaining`` from the ledger
        (each only where the visit does not give it), for a patient the ledger knows."""
        with self._reading() as conn:
            return self._prefill(conn, visit)

    # -- writing ------------------------------------------------------------------------------

    def check_and_post(self, visit: Visit | Mapping[str, Any]) -> PostOutcome:
        """Fill the visit's year-to-date figures from the ledger, check it and post it, all in
        one transaction under the patient's lock (so no concurrent post changes the figures in
        between)."""
        parsed = _parse(visit)
        patient_id = _patient(parsed)
        with self._writing(patient_id) as conn:
            return self._check_and_post(conn, visit, parsed)

    def recheck(self, patient_id: str, year: int) -> list[PostOutcome]:
        """Check again, in date order, every visit of the year whose year-to-date figures are
        out of date (after a late or replaced visit, or a deletion), and post the new results,
        all in one transaction. Figures a visit gave itself are kept, as when it was posted."""
        outcomes: list[PostOutcome] = []
        with self._writing(patient_id) as conn:
            done: set[str] = set()
            while True:
                stale = [row.visit_id for row in self._year(conn, patient_id, year).visits
                         if row.recheck and row.visit_id not in done]
                if not stale:
                    return outcomes
                # the earliest first: re-checking it can change the figures of those after it
                visit_json = conn.execute(select(schema.visits.c.visit_json).where(
                    schema.visits.c.patient_id == patient_id,
                    schema.visits.c.visit_id == stale[0])).scalar_one()
                given = json.loads(visit_json)
                outcomes.append(self._check_and_post(conn, given, _parse(given)))
                done.add(stale[0])

    def _check_and_post(self, conn: Connection, visit: Visit | Mapping[str, Any],
                        parsed: Visit) -> PostOutcome:
        views: dict[int, YearView] = {}  # years read in this transaction, before the write
        filled = self._prefill(conn, visit, parsed, views)
        result = self.engine.check(filled.visit)
        result.data.notes.extend(filled.notes)
        return self._post(conn, filled.visit, result, filled.notes, _as_given(visit), views,
                          _given(visit))

    def post(self, visit: Visit | Mapping[str, Any], result: CheckResult) -> PostOutcome:
        """Record a visit checked elsewhere (``visit`` as it was checked, and its result)."""
        parsed = _parse(visit)
        patient_id = _patient(parsed)
        if result.visit_id != parsed.visit_id:
            raise LedgerError(f"the result is for visit {result.visit_id!r}, not "
                              f"{parsed.visit_id!r}")
        with self._writing(patient_id) as conn:
            return self._post(conn, parsed, result, [], _as_given(visit), None, _given(visit))

    def delete(self, patient_id: str, visit_id: str) -> DeleteOutcome:
        """Remove a posted visit and its amounts; the year's later visits are worked out again."""
        with self._writing(patient_id) as conn:
            row = conn.execute(select(schema.visits.c.id, schema.visits.c.year).where(
                schema.visits.c.patient_id == patient_id,
                schema.visits.c.visit_id == visit_id)).first()
            if row is None:
                raise UnknownVisit(f"patient {patient_id!r} has no posted visit {visit_id!r}")
            before = self._year(conn, patient_id, row.year)
            conn.execute(delete(schema.lines).where(schema.lines.c.visit_row == row.id))
            conn.execute(delete(schema.visits).where(schema.visits.c.id == row.id))
            after = self._year(conn, patient_id, row.year)
        gained, lost = _kx_changes(before, after, visit_id)
        return DeleteOutcome(patient_id, visit_id, lost, gained, _rechecks(after))

    # -- inside a transaction -----------------------------------------------------------------

    @contextmanager
    def _writing(self, patient_id: str) -> Iterator[Connection]:
        """One write transaction with the patient locked; database errors become LedgerError
        (after the rollback)."""
        try:
            with self._db.begin() as conn:
                self._lock_patient(conn, patient_id)
                yield conn
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot write to the ledger: {_first_line(exc)}") from None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._db.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise LedgerUnavailable(f"cannot read the ledger: {_first_line(exc)}") from None

    def _lock_patient(self, conn: Connection, patient_id: str) -> None:
        table = schema.patients
        values = {"patient_id": patient_id, "revision": 0, "created_at": datetime.now(UTC)}
        if conn.dialect.name == "postgresql":
            conn.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
            conn.execute(select(table.c.revision).where(table.c.patient_id == patient_id)
                         .with_for_update())
        else:  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
            conn.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
        conn.execute(update(table).where(table.c.patient_id == patient_id)
                     .values(revision=table.c.revision + 1))

    def _prefill(self, conn: Connection, visit: Visit | Mapping[str, Any],
                 parsed: Visit | None = None, views: dict[int, YearView] | None = None
                 ) -> Prefill:
        parsed = parsed if parsed is not None else _parse(visit)
        if parsed.patient_id is None:
            return Prefill(parsed)
        known = conn.execute(select(schema.patients.c.patient_id).where(
            schema.patients.c.patient_id == parsed.patient_id)).first()
        if known is None:
            return Prefill(parsed)
        counts, applies = self._accrues(parsed.payer)
        gives_ytd, gives_deductible = _given(visit)
        gives_ytd = gives_ytd or not counts
        gives_deductible = gives_deductible or not applies
        if gives_ytd and gives_deductible:
            return Prefill(parsed)
        year = self._year(conn, parsed.patient_id, parsed.date_of_service.year)
        if views is not None:
            views[year.year] = year
        own = conn.execute(select(schema.visits.c.id).where(
            schema.visits.c.patient_id == parsed.patient_id,
            schema.visits.c.visit_id == parsed.visit_id)).scalar_one_or_none()
        order = self._order(conn, parsed.patient_id, parsed.date_of_service.year)
        # Before this visit: earlier dates, and the same date posted earlier (a visit not yet
        # posted comes after every visit of its date).
        key = (parsed.date_of_service, own if own is not None else float("inf"))
        earlier = {visit_id for visit_id, day, row_id in order
                   if visit_id != parsed.visit_id and (day, row_id) < key}
        ytd = dict.fromkeys(GROUPS, ZERO)
        remaining = year.deductible
        for row in year.visits:
            if row.visit_id in earlier:
                ytd = dict(row.running)
                remaining = row.deductible_remaining
        changes: dict[str, Any] = {}
        notes = []
        count = len(earlier)
        if not gives_ytd:
            changes["ytd_threshold_amount"] = ThresholdToDate(pt_slp=ytd["pt_slp"],
                                                              ot=ytd["ot"])
            notes.append(f"ytd_threshold_amount from the ledger: PT and SLP {usd(ytd['pt_slp'])}"
                         f", OT {usd(ytd['ot'])} before this visit ({count} earlier visit"
                         f"{'' if count == 1 else 's'} of {parsed.date_of_service.year} posted)")
        if not gives_deductible and remaining is not None:
            changes["deductible_remaining"] = remaining
            notes.append(f"deductible_remaining from the ledger: {usd(remaining)} of the "
                         f"{usd(year.deductible or remaining)} Part B deductible (the Medicare "
                         "therapy visits posted to the ledger, and figures they gave)")
        return Prefill(dataclasses.replace(parsed, **changes), notes)

    def _accrues(self, payer: str) -> tuple[bool, bool]:
        """Whether a payer's visits add to the KX threshold amounts, and to the Part B
        deductible: only a policy with the KX threshold does the one, only Medicare the other
        (a commercial plan's own deductible is not the ledger's)."""
        policy = self.engine.policies.get(payer)
        if policy is None:
            return False, False
        return policy.kx_threshold, policy.kind == "medicare" and policy.pricing.deductible

    def _order(self, conn: Connection, patient_id: str, year: int
               ) -> list[tuple[str, date, int]]:
        v = schema.visits.c
        return [(r.visit_id, r.date_of_service, r.id) for r in conn.execute(
            select(v.visit_id, v.date_of_service, v.id)
            .where(v.patient_id == patient_id, v.year == year)
            .order_by(v.date_of_service, v.id))]

    def _post(self, conn: Connection, visit: Visit, result: CheckResult,
              notes: list[str], given: str, views: dict[int, YearView] | None,
              gave: tuple[bool, bool]) -> PostOutcome:
        assert visit.patient_id is not None
        patient_id = visit.patient_id
        blocking = [f.message for f in result.findings
                    if f.severity == "error" and f.rule in ("input", "data")]
        if blocking or result.date_of_service is None:
            raise LedgerError(f"visit {visit.visit_id!r} is not posted: "
                              f"{blocking[0] if blocking else 'it has no date of service'}")
        counts, applies = self._accrues(visit.payer)
        amounts = year_amounts(result, visit.deductible_remaining or ZERO,
                               counts_toward_threshold=counts, applies_deductible=applies)
        v = schema.visits.c
        existing = conn.execute(select(v.id, v.year, v.times_posted).where(
            v.patient_id == patient_id, v.visit_id == visit.visit_id)).first()
        year = visit.date_of_service.year
        years = {year} | ({existing.year} if existing is not None else set())
        known = views or {}
        before = {y: known.get(y) or self._year(conn, patient_id, y) for y in years}
        values = _visit_values(visit, result, amounts, counts, applies)
        values["visit_json"] = given
        values["gave_ytd"], values["gave_deductible"] = gave
        if existing is None:
            row_id = conn.execute(insert(schema.visits).values(
                patient_id=patient_id, visit_id=visit.visit_id, times_posted=1, **values)
                .returning(v.id)).scalar_one()
        else:
            row_id = existing.id
            conn.execute(delete(schema.lines).where(schema.lines.c.visit_row == row_id))
            conn.execute(update(schema.visits).where(v.id == row_id).values(
                times_posted=existing.times_posted + 1, **values))
        if amounts.lines:
            conn.execute(insert(schema.lines), [_line_values(row_id, line)
                                                for line in amounts.lines])
        gained: list[str] = []
        lost: list[str] = []
        recheck: list[str] = []
        for y in sorted(years):
            after = self._year(conn, patient_id, y)
            g, lo = _kx_changes(before[y], after, visit.visit_id)
            gained += g
            lost += lo
            recheck += _rechecks(after)
        return PostOutcome(patient_id, visit.visit_id, existing is not None, result, notes,
                           gained, lost, recheck)

    def _year(self, conn: Connection, patient_id: str, year: int) -> YearView:
        v = schema.visits.c
        rows = conn.execute(select(schema.visits).where(
            v.patient_id == patient_id, v.year == year).order_by(v.date_of_service, v.id)).all()
        kx_lines: dict[int, dict[Group, bool]] = {}
        kx_denied: dict[int, set[Group]] = {}
        if rows:
            ln = schema.lines.c
            for line in conn.execute(
                    select(ln.visit_row, ln.threshold_group, ln.modifiers, ln.kx_denied)
                    .where(ln.visit_row.in_([r.id for r in rows]),
                           (ln.threshold_cents > 0) | ln.kx_denied)):
                group = line.threshold_group
                if group is None:
                    continue
                if line.kx_denied:
                    kx_denied.setdefault(line.visit_row, set()).add(group)
                seen = kx_lines.setdefault(line.visit_row, {})
                has = "KX" in line.modifiers.split(",")
                seen[group] = seen.get(group, True) and has
        posted = [PostedVisit(
            r.visit_id, r.date_of_service, r.payer, _dollars(r.allowed_cents),
            _dollars(r.payer_paid_cents), _dollars(r.patient_owes_cents),
            {"pt_slp": _dollars(r.pt_slp_cents), "ot": _dollars(r.ot_cents)},
            _dollars(r.deductible_cents),
            {"pt_slp": _dollars(r.checked_ytd_pt_slp_cents),
             "ot": _dollars(r.checked_ytd_ot_cents)},
            _dollars(r.checked_deductible_remaining_cents), r.counts_toward_threshold,
            r.applies_deductible, kx_lines.get(r.id, {}), kx_denied.get(r.id, set()),
            r.gave_ytd, r.gave_deductible)
            for r in rows]
        params = YearParameters.of(self.engine.reference.parameters, year)
        return build_year(patient_id, year, posted, params)


def _parse(visit: Visit | Mapping[str, Any]) -> Visit:
    if isinstance(visit, Visit):
        return visit
    try:
        return VISIT_ADAPTER.validate_python(visit)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "visit"
        raise LedgerError(f"{where}: {error['msg']}") from None


def _patient(visit: Visit) -> str:
    if not visit.patient_id:
        raise LedgerError(f"visit {visit.visit_id[:40]!r} has no patient_id: the ledger keeps "
                          "visits per patient")
    for name, value, longest in (("patient_id", visit.patient_id, ID_LENGTH),
                                 ("visit_id", visit.visit_id, ID_LENGTH),
                                 ("payer", visit.payer, PAYER_LENGTH)):
        if len(value) > longest:
            raise LedgerError(f"{name}: at most {longest} characters in the ledger, not "
                              f"{len(value)}")
    return visit.patient_id


def _given(visit: Visit | Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether the visit gives its own year-to-date figures: a key present in a dict, a value
    other than the default in a Visit."""
    if isinstance(visit, Visit):
        return (visit.ytd_threshold_amount is not None,
                visit.deductible_remaining is not None)
    return "ytd_threshold_amount" in visit, "deductible_remaining" in visit


def _as_given(visit: Visit | Mapping[str, Any]) -> str:
    """The visit as its sender gave it (JSON), so a re-check fills the same figures again."""
    if isinstance(visit, Visit):
        gives_ytd, gives_deductible = _given(visit)
        data = VISIT_ADAPTER.dump_python(visit, mode="json")
        if not gives_ytd:
            del data["ytd_threshold_amount"]
        if not gives_deductible:
            del data["deductible_remaining"]
        return json.dumps(data)
    return json.dumps(visit, default=str)


def _visit_values(visit: Visit, result: CheckResult, amounts: VisitAmounts, counts: bool,
                  applies: bool) -> dict[str, Any]:
    ytd = visit.ytd_threshold_amount or ThresholdToDate()
    return {
        "date_of_service": visit.date_of_service, "year": visit.date_of_service.year,
        "payer": visit.payer, "counts_toward_threshold": counts, "applies_deductible": applies,
        "checked_deductible_remaining_cents": _cents(visit.deductible_remaining or ZERO),
        "checked_ytd_pt_slp_cents": _cents(ytd.pt_slp),
        "checked_ytd_ot_cents": _cents(ytd.ot),
        "allowed_cents": _cents(sum((line.allowed for line in amounts.lines), ZERO)),
        "payer_paid_cents": _cents(sum((line.payer_paid for line in amounts.lines), ZERO)),
        "patient_owes_cents": _cents(sum((line.patient_owes for line in amounts.lines), ZERO)),
        "pt_slp_cents": _cents(amounts.threshold("pt_slp")),
        "ot_cents": _cents(amounts.threshold("ot")),
        "deductible_cents": _cents(amounts.deductible),
        "posted_at": datetime.now(UTC),
        "result_json": RESULT_ADAPTER.dump_json(result).decode(),
    }


def _line_values(row_id: int, line: Any) -> dict[str, Any]:
    return {
        "visit_row": row_id, "position": line.position, "code": line.code[:5],
        "units": line.units, "modifiers": ",".join(line.modifiers), "status": line.status,
        "discipline": line.discipline, "threshold_group": line.group,
        "allowed_cents": _cents(line.allowed), "payer_paid_cents": _cents(line.payer_paid),
        "patient_owes_cents": _cents(line.patient_owes),
        "threshold_cents": _cents(line.threshold_amount),
        "deductible_cents": _cents(line.deductible), "kx_denied": line.kx_denied,
    }


def _kx_changes(before: YearView, after: YearView, changed: str) -> tuple[list[str], list[str]]:
    """Other visits that need KX after a write and did not before, and the reverse, in the
    year's order."""
    was = before.needing_kx()
    now = after.needing_kx()
    order = [v.visit_id for v in after.visits] + [v.visit_id for v in before.visits]
    gained = [vid for vid in dict.fromkeys(order) if vid in now - was and vid != changed]
    lost = [vid for vid in dict.fromkeys(order) if vid in was - now and vid != changed]
    return gained, lost


def _rechecks(year: YearView) -> list[str]:
    return [v.visit_id for v in year.visits if v.recheck]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
