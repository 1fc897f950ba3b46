"""The therapy thresholds settle in one pass: KX added to exactly the lines named clears them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import therabill

CODES = ("97110", "97112", "97116", "97140", "97530", "97535", "97035", "97164", "97168")


@st.composite
def straddling_visits(draw: st.DrawFn) -> dict[str, Any]:
    """Medicare visits of 2025 whose year-to-date amount sits just under the $2,410 KX
    threshold, so that some of their lines cross it."""
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=5, unique=True))
    lines = []
    for code in codes:
        line: dict[str, Any] = {"code": code, "minutes": draw(st.integers(8, 60)),
                                "discipline": draw(st.sampled_from(("PT", "OT", "SLP")))}
        if draw(st.booleans()):
            line["modifiers"] = ["KX"]
        lines.append(line)
    under = Decimal(draw(st.integers(0, 20_000))).scaleb(-2)
    return {"visit_id": "kx", "date_of_service": "2025-09-15",
            "locality": draw(st.sampled_from(("national", "01182-18", "10112-00"))),
            "ytd_threshold_amount": {"pt_slp": str(Decimal(2410) - under),
                                     "ot": str(Decimal(2410) - under / 2)},
            "lines": lines}


def _needing_kx(result: therabill.model.CheckResult) -> set[str]:
    return {code for f in result.findings if f.rule == "threshold.kx" for code in f.codes}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(straddling_visits())
def test_kx_advice_settles_in_one_pass(visit: dict[str, Any]) -> None:
    first = therabill.check(visit)
    named = _needing_kx(first)
    for line in first.lines:
        denied_for_kx = any(s.rule == "threshold.kx" and s.severity == "error"
                            for s in line.steps)
        assert denied_for_kx == (line.code in named)
    advised = {**visit, "lines": [
        {**line, "modifiers": sorted({*line.get("modifiers", []), "KX"})}
        if line["code"] in named else line for line in visit["lines"]]}
    second = therabill.check(advised)
    assert _needing_kx(second) == set()
    # Lines that were paid stay paid, with the same amounts
    before = {ln.code: ln.allowed for ln in first.lines if ln.status == "payable"}
    after = {ln.code: ln.allowed for ln in second.lines if ln.status == "payable"}
    assert all(after[code] == amount for code, amount in before.items())


def test_the_year_after_the_visit_counts_what_was_paid() -> None:
    result = therabill.check({
        "visit_id": "y", "date_of_service": "2025-09-15",
        "ytd_threshold_amount": {"pt_slp": "2386.31", "ot": "100"},
        "lines": [{"code": "97110", "minutes": 15}, {"code": "97530", "minutes": 15},
                  {"code": "97535", "minutes": 20, "discipline": "OT"}]})
    by_code = {line.code: line for line in result.lines}
    assert by_code["97530"].status == "denied"  # crosses $2,410.00 without KX
    assert by_code["97530"].threshold_amount == Decimal("0.00")
    assert result.threshold_to_date is not None
    assert result.threshold_to_date.pt_slp == Decimal("2386.31") + by_code["97110"].allowed
    assert result.threshold_to_date.ot == Decimal("100") + by_code["97535"].allowed
    assert result.totals.threshold_amount == by_code["97110"].allowed + by_code["97535"].allowed
