"""Units under the CMS total-time method through ``therabill.check`` on the bundled 2025 data.

The worked examples of CMS Pub 100-04 ch.5 §20.2 (B and C), line combining, the 97129/97130
pair, and pooling of PT and OT minutes (per discipline by default, pooled by policy switch).
"""

from __future__ import annotations

import dataclasses

import pytest

from therabill.model import CheckResult, ClaimLine
from therabill.payers.policy import load_policies

from .helpers import check, finding, findings, has_words, lines_of, ln, one, step, steps, units


def _payable(result: CheckResult, code: str) -> ClaimLine:
    line = one(result, code)
    assert line.status == "payable", (code, line.status, [s.message for s in line.steps])
    assert line.modifiers == ["GP"]
    return line


# --- CMS Pub 100-04 ch.5 §20.2 worked examples ---------------------------------------------------


def test_example_1_more_units_to_the_code_with_more_time() -> None:
    result = check(ln("97112", 24), ln("97110", 23))
    assert result.unit_method == "cms_total_time"
    assert _payable(result, "97112").units == 2
    assert _payable(result, "97110").units == 1
    assert result.totals.units == 3
    summary = finding(result, "units.cms_total_time")
    assert has_words(summary.message, "47 timed minutes", "3 unit(s)", "8-minute rule")
    assert "alternative" not in summary.message  # 9 vs 8 leftover minutes: no tie
    assert summary.source == "CMS Pub 100-04 ch.5 §20.2"
    assert "whole 15-minute unit" in step(one(result, "97112"), "units.cms_total_time").message


def test_example_2_tie_is_two_plus_one_and_the_alternative_is_reported() -> None:
    result = check(ln("97112", 20), ln("97110", 20))
    got = units(result)
    assert sorted(got.values()) == [1, 2]  # never 3 on one code
    assert result.totals.units == 3
    assert all(line.status == "payable" for line in result.lines)
    summary = finding(result, "units.cms_total_time")
    assert has_words(summary.message, "40 timed minutes", "3 unit(s)", "tie", "alternative")
    winner = max(got, key=got.__getitem__)
    loser = min(got, key=got.__getitem__)
    # the alternative swaps the extra unit: the other code × 2
    assert f"{loser} × 2" in summary.message and f"{winner} × 1" in summary.message
    for line in result.lines:
        message = step(line, "units.cms_total_time").message
        assert "tied" in message and "alternative allocation: " in message
        assert f"{loser} × 2" in message and f"{winner} × 1" in message


def test_example_3_leftover_goes_to_the_code_with_more_leftover_minutes() -> None:
    result = check(ln("97110", 33), ln("97140", 7))
    assert _payable(result, "97110").units == 2
    assert _payable(result, "97140").units == 1
    assert result.totals.units == 3


def test_example_4_ultrasound_documented_but_not_billed() -> None:
    result = check(ln("97110", 18), ln("97140", 13), ln("97116", 10), ln("97035", 8))
    assert units(result) == {"97110": 1, "97140": 1, "97116": 1, "97035": 0}
    for code in ("97110", "97140", "97116"):
        _payable(result, code)
    ultrasound = one(result, "97035")
    assert ultrasound.status == "not_billable"
    assert ultrasound.units == 0
    assert any(has_words(s.message, "no unit", "do not bill")
               for s in steps(ultrasound, "units.cms_total_time"))
    assert result.totals.units == 3
    assert has_words(finding(result, "units.cms_total_time").message, "49 timed minutes",
                     "3 unit(s)")


def test_example_5_three_short_services_bill_exactly_one_unit() -> None:
    result = check(ln("97112", 7), ln("97110", 7), ln("97140", 7))
    assert result.totals.units == 1
    assert sum(units(result).values()) == 1
    assert [line.status for line in result.lines].count("payable") == 1
    assert [line.status for line in result.lines].count("not_billable") == 2
    summary = finding(result, "units.cms_total_time")
    assert has_words(summary.message, "21 timed minutes", "1 unit(s)", "alternative")


def test_60_minutes_of_one_code_is_4_units() -> None:
    result = check(ln("97530", 60))
    assert _payable(result, "97530").units == 4


@pytest.mark.parametrize("minutes", [None, 5, 45, 120])
def test_untimed_92521_is_one_unit_whatever_the_minutes(minutes: int | None) -> None:
    result = check(ln("92521", minutes), discipline="SLP")
    line = one(result, "92521")
    assert (line.units, line.status, line.modifiers) == (1, "payable", ["GN"])
    assert has_words(step(line, "units.untimed").message, "not a timed code", "1 unit",
                     "whatever the minutes")
    assert not findings(result, "units.cms_total_time")  # untimed minutes are not pooled


def test_untimed_minutes_never_join_the_timed_total() -> None:
    # 97150 (group, untimed) for 60 minutes does not lift 97110's 7 minutes to a unit
    result = check(ln("97150", 60), ln("97112", 7), dos="2024-08-01")
    assert one(result, "97150").units == 1
    assert one(result, "97112").status == "not_billable"


# --- combining lines, primary/add-on pairs -------------------------------------------------------


def test_two_lines_of_one_code_become_one_claim_line() -> None:
    result = check(ln("97110", 10), ln("97140", 25), ln("97110", 10))
    exercise = one(result, "97110")
    assert exercise.minutes == 20
    # 45 minutes → 3 units: one whole unit each, the extra to 97140 (10 leftover beats 5)
    assert (exercise.units, one(result, "97140").units) == (1, 2)
    assert result.totals.units == 3
    combine = step(exercise, "units.combine")
    assert has_words(combine.message, "input lines 0, 2", "97110", "combined")
    assert "one line per timed code" in combine.source


def test_97129_97130_minutes_pooled_first_unit_to_97129() -> None:
    result = check(ln("97129", 10), ln("97130", 28))
    primary, add_on = one(result, "97129"), one(result, "97130")
    assert (primary.units, add_on.units) == (1, 2)  # 38 minutes → 3 units
    assert primary.status == add_on.status == "payable"
    assert any("UNVERIFIED" in s.message for s in steps(primary, "units.cms_total_time"))


def test_97129_alone_is_capped_at_one_unit_and_names_the_add_on() -> None:
    result = check(ln("97129", 38))
    primary = one(result, "97129")
    assert primary.units == 1
    warnings = [s for s in steps(primary, "units.cms_total_time") if s.severity == "warning"]
    assert warnings and has_words(warnings[0].message, "2 more unit(s)", "97130")


def test_97130_alone_is_flagged_as_an_add_on_without_its_primary() -> None:
    result = check(ln("97130", 38))
    add_on = one(result, "97130")
    warnings = [s for s in steps(add_on, "units.cms_total_time") if s.severity == "warning"]
    assert warnings and has_words(warnings[0].message, "add-on", "97129")


# --- PT and OT minutes: separate plans of care by default ----------------------------------------


def test_pt_and_ot_minutes_are_pooled_separately_by_default() -> None:
    result = check(ln("97110", 10), ln("97530", 10, discipline="OT"))
    exercise, activities = one(result, "97110"), one(result, "97530")
    assert (exercise.units, exercise.modifiers, exercise.discipline) == (1, ["GP"], "PT")
    assert (activities.units, activities.modifiers, activities.discipline) == (1, ["GO"], "OT")
    summaries = sorted(f.message for f in findings(result, "units.cms_total_time"))
    assert len(summaries) == 2
    assert any("(OT)" in s for s in summaries) and any("(PT)" in s for s in summaries)


def test_policy_switch_pools_pt_and_ot_minutes() -> None:
    medicare = load_policies()["medicare"]
    pooled = dataclasses.replace(medicare, pool_disciplines=True)
    result = check(ln("97110", 10), ln("97530", 10, discipline="OT"),
                   policies={"medicare": pooled})
    assert result.totals.units == 1  # 20 pooled minutes
    statuses = sorted(line.status for line in result.lines)
    assert statuses == ["not_billable", "payable"]
    summary = finding(result, "units.cms_total_time")
    assert has_words(summary.message, "20 timed minutes", "all disciplines", "1 unit(s)")
    # the shipped policy is untouched
    assert load_policies()["medicare"].pool_disciplines is False
    assert len(lines_of(check(ln("97110", 10), ln("97530", 10, discipline="OT")), "97530")) == 1
