"""The ledger on SQLite and on a real PostgreSQL server: posting, replacing, deleting, the year's
running totals, KX and review positions, and the figures it fills into a visit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, func, select

from therabill.engine import Engine
from therabill.ledger import Ledger, LedgerError, schema
from therabill.ledger.database import resolve_url
from therabill.model import VISIT_ADAPTER

from .helpers import visit, weekly

ENGINE = Engine()
KX_2025 = Decimal(2410)
REVIEW = Decimal(3000)
DEDUCTIBLE_2025 = Decimal("257.00")


@pytest.fixture
def ledger(database_url: str) -> Ledger:
    with Ledger(database_url, engine=ENGINE) as opened:
        yield opened


def _count(url: str, table: object) -> int:
    engine = create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def _by_hand(visits: list[dict]) -> list[tuple[Decimal, Decimal]]:
    """Each visit checked directly by the engine with the running PT amount and deductible
    carried by hand: (allowed, deductible taken) per visit, in date order."""
    running = Decimal(0)
    left = DEDUCTIBLE_2025
    out = []
    for raw in sorted(visits, key=lambda v: v["date_of_service"]):
        result = ENGINE.check({**raw, "ytd_threshold_amount": {"pt_slp": running},
                               "deductible_remaining": left})
        allowed = sum((line.allowed for line in result.lines if line.status == "payable"),
                      Decimal(0))
        taken = min(left, allowed)
        running += allowed
        left -= taken
        out.append((allowed, taken))
    return out


def test_running_totals_kx_date_and_review_match_the_engine_visit_by_visit(ledger: Ledger):
    visits = weekly(20)
    for raw in visits:
        ledger.check_and_post(raw)
    year = ledger.year("p1", 2025)
    expected = _by_hand(visits)
    running = Decimal(0)
    met = Decimal(0)
    first_over = None
    for row, (allowed, taken) in zip(year.visits, expected, strict=True):
        running += allowed
        met += taken
        assert row.adds["pt_slp"] == allowed
        assert row.running["pt_slp"] == running
        assert row.deductible_met == met
        if running > KX_2025 and first_over is None:
            first_over = row
        assert row.recheck == []
    assert first_over is not None
    assert year.kx_first_needed["pt_slp"] == first_over.date_of_service
    assert year.kx_first_needed_on == first_over.date_of_service
    assert year.kx_first_needed["ot"] is None
    assert first_over.crosses_kx == ["pt_slp"]
    assert year.totals["pt_slp"] == running > REVIEW
    assert year.review_passed == {"pt_slp": True, "ot": False}
    assert sum(1 for row in year.visits if row.passes_review) == 1
    assert year.deductible == DEDUCTIBLE_2025 == year.deductible_met
    assert year.deductible_remaining == 0
    assert year.kx_threshold == KX_2025
    assert "kx_threshold" in year.sources and "2410" in year.sources["kx_threshold"]


def test_prefill_fills_only_what_the_visit_does_not_give(ledger: Ledger):
    unknown = ledger.prefill(visit("x1", "2025-03-01", patient="nobody"))
    assert unknown.notes == []
    assert unknown.visit.deductible_remaining is None  # not given: the result says so
    first, second = weekly(2)
    ledger.check_and_post(first)
    allowed = ledger.year("p1", 2025).totals["pt_slp"]
    filled = ledger.prefill(visit("next", "2025-06-01"))
    assert filled.visit.ytd_threshold_amount.pt_slp == allowed
    assert filled.visit.deductible_remaining == DEDUCTIBLE_2025 - min(allowed, DEDUCTIBLE_2025)
    assert len(filled.notes) == 2 and "from the ledger" in filled.notes[0]
    # a visit dated before everything posted starts the year from zero
    early = ledger.prefill(visit("early", "2025-01-01"))
    assert early.visit.ytd_threshold_amount.pt_slp == 0
    assert early.visit.deductible_remaining == DEDUCTIBLE_2025
    # what the visit gives is kept
    own = ledger.prefill({**second, "ytd_threshold_amount": {"pt_slp": "10.00"}})
    assert own.visit.ytd_threshold_amount.pt_slp == Decimal("10.00")
    assert own.visit.deductible_remaining != 0 and len(own.notes) == 1
    given = VISIT_ADAPTER.validate_python({**second, "deductible_remaining": "5.00",
                                           "ytd_threshold_amount": {"ot": "1.00"}})
    assert ledger.prefill(given).notes == []
    # and the note travels with the posted result
    outcome = ledger.check_and_post(second)
    assert any("from the ledger" in note for note in outcome.result.data.notes)


def test_posting_the_same_visit_again_replaces_it(ledger: Ledger, database_url: str):
    first = visit("v1", "2025-02-03")
    one = ledger.check_and_post(first)
    again = ledger.check_and_post(first)
    assert not one.replaced and again.replaced
    year = ledger.year("p1", 2025)
    assert [row.visit_id for row in year.visits] == ["v1"]
    assert year.totals["pt_slp"] == one.result.totals.allowed
    changed = {**first, "lines": first["lines"][:1]}
    ledger.check_and_post(changed)
    year = ledger.year("p1", 2025)
    assert len(year.visits) == 1
    assert year.totals["pt_slp"] < one.result.totals.allowed
    assert _count(database_url, schema.lines) == 1
    stored = ledger.visit_result("p1", "v1")
    assert stored is not None and [line.code for line in stored.lines] == ["97110"]


def test_a_late_visit_moves_later_visits_over_kx_and_deleting_it_moves_them_back(
        ledger: Ledger, database_url: str):
    visits = weekly(16, start=date(2025, 2, 3))
    for raw in visits:
        ledger.check_and_post(raw)
    before = ledger.year("p1", 2025)
    needing = [row.visit_id for row in before.visits if row.needs_kx]
    late = visit("late", "2025-01-13", kx=True)
    outcome = ledger.check_and_post(late)
    after = ledger.year("p1", 2025)
    assert after.visits[0].visit_id == "late"
    now = [row.visit_id for row in after.visits if row.needs_kx]
    assert len(now) > len(needing)
    assert outcome.now_need_kx == [vid for vid in now if vid not in needing]
    assert outcome.now_need_kx  # the KX date moved earlier
    assert after.kx_first_needed_on < before.kx_first_needed_on
    # every later visit was checked with figures the late one changed
    assert outcome.recheck == [raw["visit_id"] for raw in visits]
    for row in after.visits[1:]:
        assert row.running["pt_slp"] == next(
            r.running["pt_slp"] for r in before.visits if r.visit_id == row.visit_id
        ) + after.visits[0].adds["pt_slp"]
    removed = ledger.delete("p1", "late")
    assert removed.no_longer_need_kx == outcome.now_need_kx
    assert removed.recheck == []
    restored = ledger.year("p1", 2025)
    assert [(r.visit_id, r.running) for r in restored.visits] == [
        (r.visit_id, r.running) for r in before.visits]
    assert _count(database_url, schema.visits) == 16
    with pytest.raises(LedgerError, match="no posted visit 'late'"):
        ledger.delete("p1", "late")


def test_lines_without_kx_past_the_threshold_are_denied_and_flagged(ledger: Ledger):
    for raw in weekly(18, kx=False):
        ledger.check_and_post(raw)
    year = ledger.year("p1", 2025)
    # denied lines add nothing: the year stops at the threshold
    assert year.totals["pt_slp"] <= KX_2025
    flagged = [row for row in year.visits if row.kx_missing]
    assert flagged and all(row.needs_kx == ["pt_slp"] for row in flagged)
    assert year.kx_first_needed["pt_slp"] == flagged[0].date_of_service
    assert not year.review_passed["pt_slp"]


def test_ot_and_pt_accrue_separately_and_other_payers_do_not_accrue(ledger: Ledger):
    ledger.check_and_post(visit("pt", "2025-03-03"))
    ledger.check_and_post(visit("ot", "2025-03-04", discipline="OT"))
    ledger.check_and_post(visit("commercial", "2025-03-05", payer="commercial-cpt"))
    year = ledger.year("p1", 2025)
    rows = {row.visit_id: row for row in year.visits}
    assert rows["pt"].adds["pt_slp"] > 0 and rows["pt"].adds["ot"] == 0
    assert rows["ot"].adds["ot"] > 0 and rows["ot"].adds["pt_slp"] == 0
    assert rows["commercial"].allowed > 0
    assert rows["commercial"].adds == {"pt_slp": 0, "ot": 0}
    # Medicare's figures are not a commercial plan's: nothing filled in, no Part B deductible
    assert ledger.prefill(visit("c2", "2025-03-06", payer="commercial-cpt")).notes == []
    assert rows["commercial"].deductible == 0 and rows["commercial"].recheck == []
    assert year.totals == {"pt_slp": rows["pt"].adds["pt_slp"], "ot": rows["ot"].adds["ot"]}
    # another year is another ledger page
    ledger.check_and_post(visit("next-year", "2026-01-05"))
    assert [row.visit_id for row in ledger.year("p1", 2026).visits] == ["next-year"]
    assert ledger.year("p1", 2026).kx_threshold == Decimal(2480)
    # a visit moved to another year leaves the first one
    ledger.check_and_post(visit("pt", "2026-01-06"))
    assert "pt" not in {row.visit_id for row in ledger.year("p1", 2025).visits}


def test_what_cannot_be_posted_is_refused_with_one_line(ledger: Ledger):
    no_patient = visit("v", "2025-03-03")
    del no_patient["patient_id"]
    with pytest.raises(LedgerError, match="has no patient_id"):
        ledger.check_and_post(no_patient)
    with pytest.raises(LedgerError, match=r"is not posted: .*99999"):
        ledger.check_and_post({**visit("v", "2025-03-03"),
                               "lines": [{"code": "99999", "minutes": 10}]})
    with pytest.raises(LedgerError, match="date_of_service"):
        ledger.check_and_post({**visit("v", "2025-03-03"), "date_of_service": "2025-13-01"})
    with pytest.raises(LedgerError, match="data"):
        ledger.check_and_post(visit("v", "2016-03-03"))
    assert not ledger.knows("p1") or ledger.year("p1", 2025).visits == []


def test_posting_a_result_checked_elsewhere(ledger: Ledger):
    raw = visit("v", "2025-04-07", deductible_remaining="100.00")
    result = ENGINE.check(raw)
    outcome = ledger.post(raw, result)
    year = ledger.year("p1", 2025)
    assert outcome.result is result
    # the visit gave its own figure (the rest met elsewhere): the ledger carries on from it
    assert year.visits[0].deductible == Decimal("100.00")
    assert year.visits[0].recheck == []
    assert year.deductible_remaining == 0 and year.deductible_met == DEDUCTIBLE_2025
    later = ledger.check_and_post(visit("later", "2025-04-14"))
    assert later.result.totals.patient_owes < later.result.totals.allowed  # coinsurance only
    assert any("deductible_remaining from the ledger: $0.00" in n for n in later.notes)
    with pytest.raises(LedgerError, match="not 'other'"):
        ledger.post({**raw, "visit_id": "other"}, result)


def test_migrations_match_the_tables_and_run_down_and_up(database_url: str):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with Ledger(database_url, engine=ENGINE) as ledger:
        assert ledger.upgrade() == "0001"
        engine = create_engine(resolve_url(database_url))
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        engine.dispose()
        assert diff == []
        assert ledger.downgrade("base") == "base"
        assert ledger.upgrade() == "0001"
        ledger.check_and_post(visit("v", "2025-04-07"))
        assert len(ledger.year("p1", 2025).visits) == 1


def test_bad_database_urls_are_one_line_errors(tmp_path):
    with pytest.raises(LedgerError, match="SQLite or PostgreSQL, not mysql"):
        Ledger("mysql://u@localhost/x")
    with pytest.raises(LedgerError, match="not a database URL"):
        Ledger("nonsense")
    with pytest.raises(LedgerError, match="cannot open the ledger database"):
        Ledger("postgresql://nobody@127.0.0.1:1/none")


def test_figures_a_visit_gives_restart_the_running_amounts(ledger: Ledger):
    ledger.check_and_post(visit("a", "2025-02-03"))
    # the eligibility response says $2,100 of PT was billed this year, elsewhere included
    given = ledger.check_and_post({**visit("b", "2025-02-10"),
                                   "ytd_threshold_amount": {"pt_slp": "2100.00"}})
    assert not any("ytd_threshold_amount from the ledger" in n for n in given.notes)
    c = ledger.check_and_post(visit("c", "2025-02-17"))
    year = ledger.year("p1", 2025)
    rows = {row.visit_id: row for row in year.visits}
    assert rows["b"].running["pt_slp"] == Decimal("2100.00") + rows["b"].adds["pt_slp"]
    assert c.result.findings and any("from the ledger: PT and SLP $2," in n for n in c.notes)
    assert rows["c"].running["pt_slp"] == rows["b"].running["pt_slp"] + rows["c"].adds["pt_slp"]
    assert rows["c"].running["pt_slp"] > KX_2025 and rows["c"].crosses_kx == ["pt_slp"]
    assert all(row.recheck == [] for row in year.visits)
    # a visit posted late before b: b's own threshold figure stands, so c's amounts do not
    # move; b's deductible came from the ledger, so a and b are marked for re-checking
    ledger.check_and_post(visit("early", "2025-01-06"))
    after = ledger.year("p1", 2025)
    marked = {r.visit_id: r.recheck for r in after.visits if r.recheck}
    assert set(marked) == {"a", "b"}
    assert all("deductible" in reason for reason in marked["b"])
    assert {r.visit_id: r.running for r in after.visits}["c"] == rows["c"].running
    assert any("restart the running amounts" in note for note in after.notes)
