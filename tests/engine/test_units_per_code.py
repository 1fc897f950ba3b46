"""The CPT per-code method (payer "commercial-cpt") against Medicare's total-time method.

Contrast cases of the rulebook §1.2 and the plan's 4-unit daily cap (rulebook §10.3).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from therabill.reference.store import default_reference

from .helpers import DOS, check, findings, has_words, ln, one, step, units

PLAN = "commercial-cpt"


def _value(code: str) -> Decimal:
    rvu = default_reference().rvu_record(code, date.fromisoformat(DOS))
    assert rvu is not None
    return rvu.work + rvu.pe_nonfacility + rvu.mp


@pytest.mark.parametrize(
    ("minutes", "per_code", "medicare_total"),
    [
        ((10, 10), {"97110": 1, "97140": 1}, 1),  # per code 1 + 1; CMS: 20 minutes → 1
        ((7, 7), {"97110": 0, "97140": 0}, 1),  # per code nothing; CMS: 14 minutes → 1
        ((33, 7), {"97110": 2, "97140": 0}, 3),  # per code 2 + 0; CMS: 2 + 1
    ],
)
def test_per_code_versus_total_time(minutes: tuple[int, int], per_code: dict[str, int],
                                    medicare_total: int) -> None:
    lines = (ln("97110", minutes[0]), ln("97140", minutes[1]))
    plan = check(*lines, payer=PLAN)
    medicare = check(*lines)
    assert plan.unit_method == "cpt_per_code"
    assert medicare.unit_method == "cms_total_time"
    assert units(plan) == per_code
    assert plan.totals.units == sum(per_code.values())
    assert medicare.totals.units == medicare_total
    for code, count in per_code.items():
        line = one(plan, code)
        assert line.status == ("payable" if count else "not_billable")
        assert "midpoint" in step(line, "units.cpt_per_code").message.lower()
    summary = findings(plan, "units.cpt_per_code")
    assert len(summary) == 1 and has_words(summary[0].message, "per code",
                                           f"{sum(per_code.values())} unit(s)")
    assert not findings(plan, "units.cms_total_time")


def test_33_plus_7_medicare_gives_the_leftover_unit_to_97140() -> None:
    medicare = check(ln("97110", 33), ln("97140", 7))
    assert units(medicare) == {"97110": 2, "97140": 1}
    plan = check(ln("97110", 33), ln("97140", 7), payer=PLAN)
    assert one(plan, "97140").status == "not_billable"
    assert one(plan, "97110").modifiers == ["GP"]


def test_daily_cap_cuts_the_lowest_paying_units_first() -> None:
    # per code: 97110 38 → 3, 97112 23 → 2, 97530 20 → 1 = 6 units; the plan pays 4
    result = check(ln("97110", 38), ln("97112", 23), ln("97530", 20), payer=PLAN)
    assert result.totals.units == 4
    cheapest = min(("97110", "97112", "97530"), key=_value)
    assert cheapest == "97110"
    assert units(result) == {"97110": 1, "97112": 2, "97530": 1}
    cut = findings(result, "payer.unit_cap")
    assert len(cut) == 1
    assert cut[0].severity == "warning" and cut[0].codes == ("97110",)
    assert has_words(cut[0].message, "2 unit(s) of 97110 cut", "at most 4", "lowest-paying")
    assert "4 timed units" in cut[0].source
    assert step(one(result, "97110"), "payer.unit_cap").severity == "warning"
    assert all(line.status == "payable" for line in result.lines)


def test_daily_cap_can_take_every_unit_of_a_line() -> None:
    # 97035 (ultrasound, lowest RVUs) 8 → 1, 97110 30 → 2, 97530 30 → 2 = 5 units; cap 4
    result = check(ln("97035", 8), ln("97110", 30), ln("97530", 30), payer=PLAN)
    assert _value("97035") < _value("97110") < _value("97530")
    ultrasound = one(result, "97035")
    assert (ultrasound.units, ultrasound.status) == (0, "not_billable")
    assert [s.rule for s in ultrasound.steps].count("payer.unit_cap") == 2
    assert units(result) == {"97035": 0, "97110": 2, "97530": 2}
    assert result.totals.units == 4


def test_medicare_has_no_daily_cap() -> None:
    result = check(ln("97110", 38), ln("97112", 23), ln("97530", 20))
    assert result.totals.units == 5  # 81 minutes
    assert not findings(result, "payer.unit_cap")


def test_daily_cap_does_not_depend_on_line_order() -> None:
    # one code under two plans of care: the cut falls on the same line whatever the input order
    lines = [ln("97140", 40, discipline="OT"), ln("97140", 31), ln("97110", 10)]
    first = check(*lines, payer=PLAN)
    second = check(*reversed(lines), payer=PLAN)

    def shape(result: Any) -> list[tuple[Any, ...]]:
        return sorted((x.code, x.discipline, x.units, x.status) for x in result.lines)

    assert shape(first) == shape(second)
    assert first.totals.units == second.totals.units == 4


def test_plan_denies_therapeutic_activities_with_manual_therapy_even_with_59() -> None:
    # NCCI deleted 97140/97530 in 2019; this plan keeps its own edit (rulebook §10.7)
    result = check(ln("97140", 20), ln("97530", 20, modifiers=["59"]), payer=PLAN)
    activities = one(result, "97530")
    assert activities.status == "denied"
    denial = step(activities, "payer.pair")
    assert has_words(denial.message, "does not pay 97530 with 97140", "no modifier")
    assert findings(result, "payer.pair")[0].codes == ("97140", "97530")
    assert not findings(result, "ncci.ptp")
    medicare = check(ln("97140", 20), ln("97530", 20, modifiers=["59"]))
    assert {line.status for line in medicare.lines} == {"payable"}
