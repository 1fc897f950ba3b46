"""The year's arithmetic on its own (no database): running amounts, KX, review, deductible."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from therabill.engine import Engine
from therabill.ledger.year import PostedVisit, YearParameters, build_year

PARAMETERS = Engine().reference.parameters
D = Decimal


def posted(visit_id: str, day: str, pt: str = "0", ot: str = "0", deductible: str = "0",
           checked_pt: str = "0", checked_ot: str = "0", checked_left: str = "257.00",
           **flags: object) -> PostedVisit:
    adds = {"pt_slp": D(pt), "ot": D(ot)}
    allowed = D(pt) + D(ot)
    fields: dict = {"counts_toward_threshold": True, "applies_deductible": True,
                    "kx_on_lines": {"pt_slp": True, "ot": True}}
    fields.update(flags)
    return PostedVisit(visit_id, date.fromisoformat(day), "medicare", allowed, D(0), allowed,
                       adds, D(deductible), {"pt_slp": D(checked_pt), "ot": D(checked_ot)},
                       D(checked_left), **fields)


def test_groups_cross_kx_and_review_apart():
    visits = [posted("a", "2025-01-10", pt="2400.00", deductible="257.00"),
              posted("b", "2025-02-10", ot="2409.99", checked_pt="2400.00", checked_left="0"),
              posted("c", "2025-03-10", pt="10.01", ot="0.02", checked_pt="2400.00",
                     checked_ot="2409.99", checked_left="0"),
              posted("d", "2025-04-10", pt="600.00", checked_pt="2410.01", checked_ot="2410.01",
                     checked_left="0")]
    year = build_year("p", 2025, visits, YearParameters.of(PARAMETERS, 2025))
    rows = {row.visit_id: row for row in year.visits}
    assert rows["a"].needs_kx == [] and rows["b"].needs_kx == []
    # exactly at the threshold is not over it; a cent more is
    assert rows["c"].running == {"pt_slp": D("2410.01"), "ot": D("2410.01")}
    assert rows["c"].crosses_kx == ["pt_slp", "ot"]
    assert rows["d"].needs_kx == ["pt_slp"] and rows["d"].crosses_kx == []
    assert rows["d"].passes_review == ["pt_slp"]
    assert year.kx_first_needed == {"pt_slp": date(2025, 3, 10), "ot": date(2025, 3, 10)}
    assert year.review_passed == {"pt_slp": True, "ot": False}
    assert year.deductible_met == D("257.00") and year.deductible_remaining == 0
    assert all(row.recheck == [] for row in year.visits)


def test_a_year_without_parameters_says_so():
    year = build_year("p", 2027, [posted("a", "2027-01-10", pt="3000.00")],
                      YearParameters.of(PARAMETERS, 2027))
    assert year.kx_threshold is None and year.deductible is None
    assert year.visits[0].needs_kx == [] and year.kx_first_needed_on is None
    assert any("no KX threshold is loaded for 2027" in note for note in year.notes)
    assert any("no Part B deductible is loaded for 2027" in note for note in year.notes)
    # the review amount is fixed by law through 2027
    assert year.review_passed["pt_slp"] is False and year.review_threshold == 3000


def test_stale_figures_are_named():
    visits = [posted("a", "2025-01-10", pt="100.00", deductible="100.00"),
              posted("b", "2025-02-10", pt="50.00", checked_pt="90.00", checked_left="157.00",
                     deductible="50.00")]
    year = build_year("p", 2025, visits, YearParameters.of(PARAMETERS, 2025))
    assert year.visits[0].recheck == []
    assert len(year.visits[1].recheck) == 1
    assert "pt_slp 90.00" in year.visits[1].recheck[0]
    assert "pt_slp 100.00" in year.visits[1].recheck[0]
