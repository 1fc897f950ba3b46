"""CQ/CO assistant modifiers through the engine (CMS Pub 100-04 ch.5 §20.1; CMS CQ/CO examples)."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import check, findings, has_words, lines_of, ln, one, step, steps


def _shape(result: Any, code: str) -> list[tuple[tuple[str, ...], int, str]]:
    return sorted((tuple(line.modifiers), line.units, line.status)
                  for line in lines_of(result, code))


def test_cms_example_pta_23_pt_13_of_97110_and_pt_30_of_97140() -> None:
    result = check(ln("97110", 36, assistant_minutes=23), ln("97140", 30), dos="2025-05-12")
    assert result.totals.units == 4  # 66 minutes
    assert _shape(result, "97140") == [(("GP",), 2, "payable")]
    assert _shape(result, "97110") == [(("GP",), 1, "payable"), (("GP", "CQ"), 1, "payable")]
    with_cq = next(line for line in lines_of(result, "97110") if "CQ" in line.modifiers)
    without = next(line for line in lines_of(result, "97110") if "CQ" not in line.modifiers)
    split = step(with_cq, "modifier.assistant")
    assert has_words(split.message, "CQ on 1 unit(s)", "13 leftover minutes")
    assert "CMS Pub 100-04 ch.5 §20.1" in split.source
    assert has_words(steps(without, "modifier.assistant")[-1].message, "without CQ")
    assert [f.codes for f in findings(result, "modifier.assistant")] == [("97110",)]


def test_ot_with_assistant_gets_co_with_go() -> None:
    result = check(ln("97530", 36, assistant_minutes=23), ln("97535", 30), discipline="OT")
    assert _shape(result, "97530") == [(("GO",), 1, "payable"), (("GO", "CO"), 1, "payable")]
    assert _shape(result, "97535") == [(("GO",), 2, "payable")]
    assert all("CQ" not in line.modifiers for line in result.lines)


def test_all_minutes_by_the_assistant_put_every_unit_on_cq() -> None:
    result = check(ln("97110", 30, assistant_minutes=30))
    assert _shape(result, "97110") == [(("GP", "CQ"), 2, "payable")]


def test_assistant_within_de_minimis_gets_no_modifier() -> None:
    # 1 of 23 minutes: the leftover unit is the therapist's, no whole block by the assistant
    result = check(ln("97110", 23, assistant_minutes=1))
    assert _shape(result, "97110") == [(("GP",), 2, "payable")]
    assert has_words(step(one(result, "97110"), "modifier.assistant").message, "no CQ")


def test_slp_with_assistant_minutes_has_no_assistant_modifier_and_a_warning() -> None:
    result = check(ln("92507", 30, assistant_minutes=20), discipline="SLP")
    line = one(result, "92507")
    assert (line.modifiers, line.units, line.status) == (["GN"], 1, "payable")
    warning = step(line, "modifier.assistant")
    assert warning.severity == "warning"
    assert has_words(warning.message, "no assistant modifier", "speech-language")
    assert findings(result, "modifier.assistant")  # also reported for the visit


def test_before_2020_there_is_no_cq() -> None:
    result = check(ln("97110", 36, assistant_minutes=23), dos="2019-06-03")
    line = one(result, "97110")
    assert (line.modifiers, line.units, line.status) == (["GP"], 2, "payable")
    assert has_words(step(line, "modifier.assistant").message, "2020-01-01")


def test_cq_entered_before_2020_is_removed() -> None:
    result = check(ln("97110", 30, assistant_minutes=30, modifiers=["GP", "CQ"]),
                   dos="2019-06-03")
    line = one(result, "97110")
    assert line.modifiers == ["GP"]
    removed = findings(result, "modifier.assistant")
    assert removed and has_words(removed[0].message, "CQ removed", "2020")


def test_evaluation_with_assistant_minutes_is_denied() -> None:
    result = check(ln("97161", 45, assistant_minutes=10))
    line = one(result, "97161")
    assert line.status == "denied"
    assert line.units == 1  # a denied line still shows the unit billed
    denial = step(line, "modifier.assistant")
    assert denial.severity == "error"
    assert has_words(denial.message, "evaluation", "assistants may not")
    assert findings(result, "modifier.assistant")[0].severity == "error"
    assert result.totals.units == 0


@pytest.mark.parametrize(
    ("lines", "options"),
    [
        ([ln("97110", 36, assistant_minutes=23), ln("97140", 30)], {}),
        ([ln("97530", 40, assistant_minutes=25)], {"discipline": "OT"}),
        ([ln("97110", 20, assistant_minutes=20), ln("97530", 38, assistant_minutes=30,
                                                   discipline="OT")], {}),
        ([ln("92507", 30, assistant_minutes=20, modifiers=["CQ"])], {"discipline": "SLP"}),
        ([ln("97110", 30, modifiers=["CO"])], {}),
        ([ln("97530", 30, modifiers=["GO", "CQ"], assistant_minutes=30, discipline="OT")], {}),
        ([ln("97110", 30, modifiers=["CQ"], assistant_minutes=30)], {"dos": "2019-06-03"}),
        ([ln("97110", 30, modifiers=["GP", "CO"], discipline="PT", assistant_minutes=15)], {}),
        ([ln("97150", 45, assistant_minutes=30), ln("97110", 20, modifiers=["XU"])], {}),
        ([ln("97110", 36, assistant_minutes=23)], {"payer": "commercial-mppr"}),
        ([ln("97110", 100, assistant_minutes=50)], {}),  # denied by MUE, still on the claim
        # evaluations denied while screening still go on the claim with settled modifiers
        ([ln("97161"), ln("97162", modifiers=["CO"])], {}),
        ([ln("92521", 27, assistant_minutes=18, modifiers=["GN", "CO"], discipline="SLP")], {}),
        ([ln("97165", 40, assistant_minutes=10, modifiers=["CQ"], discipline="OT")],
         {"payer": "commercial-cpt"}),
    ],
)
def test_cq_only_with_gp_and_co_only_with_go(lines: list[dict[str, Any]],
                                             options: dict[str, Any]) -> None:
    result = check(*lines, **options)
    on_claim = [line for line in result.lines if line.status in ("payable", "denied")]
    assert on_claim
    for line in on_claim:
        if "CQ" in line.modifiers:
            assert "GP" in line.modifiers and "CO" not in line.modifiers, line.modifiers
        if "CO" in line.modifiers:
            assert "GO" in line.modifiers and "CQ" not in line.modifiers, line.modifiers
        if line.discipline == "SLP":
            assert not {"CQ", "CO"} & set(line.modifiers)
        # exactly one discipline modifier per line
        assert len([m for m in line.modifiers if m in ("GP", "GO", "GN")]) == 1


def test_split_lines_carry_their_own_minutes() -> None:
    result = check(ln("97110", 36, assistant_minutes=23), ln("97140", 30))
    parts = sorted((line.modifiers, line.units, line.minutes, line.assistant_minutes)
                   for line in result.lines if line.code == "97110")
    assert parts == [(["GP"], 1, 13, 0), (["GP", "CQ"], 1, 23, 23)]
