"""CQ/CO split of a code's units (CMS Pub 100-04 ch.5 §20.1; CY2020/CY2022 PFS final rules)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.rules.assistant import AssistantSplit, split_timed_units, split_untimed
from therabill.rules.units import units_for_minutes

PROPS = settings(max_examples=300, deadline=None)


def _pair(split: AssistantSplit) -> tuple[int, int]:
    return (split.with_modifier, split.without_modifier)


# --- CMS billing example and named cases --------------------------------------------------------


def test_cms_example_97110_pta_23_pt_13() -> None:
    # PTA's whole block → CQ; PT's 13 leftover minutes beat the PTA's 8 and reach the threshold.
    split = split_timed_units(2, 36, 23)
    assert _pair(split) == (1, 1)
    assert "13" in split.reason


def test_cms_example_97140_pt_30() -> None:
    assert _pair(split_timed_units(2, 30, 0)) == (0, 2)


def test_assistant_did_everything() -> None:
    assert _pair(split_timed_units(2, 30, 30)) == (2, 0)


def test_no_units() -> None:
    assert _pair(split_timed_units(0, 7, 7)) == (0, 0)


def test_ten_percent_is_de_minimis() -> None:
    assert _pair(split_timed_units(1, 20, 2)) == (0, 1)


def test_fifteen_percent_with_one_unit_goes_to_the_therapist_block() -> None:
    # The billed unit is the therapist's whole 15-minute block; the 3 + 2 leftover minutes earn
    # no unit, so the assistant's part is in no billed unit (10% test applies per unit).
    assert _pair(split_timed_units(1, 20, 3)) == (0, 1)


def test_fifteen_percent_with_a_pooled_second_unit() -> None:
    # CMS pooling gave a second unit: its leftover minutes are 3 assistant vs 2 therapist.
    assert _pair(split_timed_units(2, 20, 3)) == (1, 1)


def test_two_remaining_units_each_8_to_14() -> None:
    assert _pair(split_timed_units(2, 20, 10)) == (1, 1)
    assert _pair(split_timed_units(3, 36, 23)) == (2, 1)  # 1 block + 8/13 leftover


def test_one_remaining_unit_more_minutes_decides() -> None:
    assert _pair(split_timed_units(1, 10, 6)) == (1, 0)  # assistant 6 > therapist 4
    assert _pair(split_timed_units(1, 10, 4)) == (0, 1)  # therapist 6 > assistant 4
    assert _pair(split_timed_units(1, 12, 6)) == (1, 0)  # tie: counts as assistant involvement
    assert _pair(split_timed_units(1, 14, 6)) == (0, 1)  # therapist's own 8 reach the threshold


def test_two_remaining_units_one_side_reaches_threshold() -> None:
    assert _pair(split_timed_units(2, 16, 2)) == (1, 1)  # therapist 14, assistant 2
    assert _pair(split_timed_units(2, 16, 14)) == (2, 0)  # assistant 14, therapist 2


def test_cap_drops_blocks_from_side_with_fewer_minutes() -> None:
    assert _pair(split_timed_units(1, 45, 15)) == (0, 1)
    assert _pair(split_timed_units(1, 45, 30)) == (1, 0)
    assert _pair(split_timed_units(1, 30, 15)) == (1, 0)  # equal: therapist's block goes first


def test_units_beyond_the_minutes_follow_the_service_share() -> None:
    # 30 minutes support 2 units; the third (minutes pooled elsewhere) follows the 10% test.
    assert _pair(split_timed_units(3, 30, 10)) == (2, 1)
    assert _pair(split_timed_units(3, 30, 2)) == (0, 3)
    assert _pair(split_timed_units(2, 0, 0)) == (0, 2)
    split = split_timed_units(2, 5, 5)
    assert _pair(split) == (2, 0) and split.reason.endswith(".")


def test_custom_de_minimis() -> None:
    assert _pair(split_timed_units(1, 12, 6, de_minimis=Decimal("0.5"))) == (0, 1)
    assert _pair(split_untimed(30, 3, de_minimis=Decimal(0))) == (1, 0)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        split_timed_units(-1, 30, 10)
    with pytest.raises(ValueError):
        split_timed_units(1, 10, 11)
    with pytest.raises(ValueError):
        split_timed_units(1, 10, 5, de_minimis=Decimal(1))
    with pytest.raises(ValueError):
        split_untimed(10, 11)
    with pytest.raises(ValueError):
        split_untimed(None, -1)


def test_untimed_group_therapy() -> None:
    split = split_untimed(30, 25)  # 97150
    assert _pair(split) == (1, 0) and split.reason


@pytest.mark.parametrize(
    ("minutes", "assistant", "expected"),
    [(30, 0, (0, 1)), (30, 3, (0, 1)), (30, 4, (1, 0)), (None, 0, (0, 1)), (None, 5, (1, 0))],
)
def test_untimed_de_minimis(minutes: int | None, assistant: int, expected: tuple[int, int]) -> None:
    assert _pair(split_untimed(minutes, assistant)) == expected


# --- properties ---------------------------------------------------------------------------------


@st.composite
def timed_cases(draw: st.DrawFn) -> tuple[int, int, int]:
    minutes = draw(st.integers(0, 200))
    assistant = draw(st.integers(0, minutes))
    units = draw(st.integers(0, -(-minutes // 15)))
    return units, minutes, assistant


@PROPS
@given(timed_cases(), st.integers(0, 4))
def test_split_sums_even_with_units_beyond_the_minutes(
    case: tuple[int, int, int], excess: int
) -> None:
    units, minutes, assistant = case
    split = split_timed_units(units + excess, minutes, assistant)
    assert split.with_modifier >= 0 and split.without_modifier >= 0
    assert split.with_modifier + split.without_modifier == units + excess


@PROPS
@given(timed_cases())
def test_split_sums_to_units_and_is_never_negative(case: tuple[int, int, int]) -> None:
    units, minutes, assistant = case
    split = split_timed_units(units, minutes, assistant)
    assert split.with_modifier >= 0 and split.without_modifier >= 0
    assert split.with_modifier + split.without_modifier == units
    assert split.reason.endswith(".")
    therapist = minutes - assistant
    # Nobody is billed far beyond the minutes they furnished.
    assert split.without_modifier <= -(-therapist // 15)
    assert split.with_modifier <= -(-assistant // 15) + 1
    if assistant == 0:
        assert split.with_modifier == 0
    if therapist == 0:
        assert split.without_modifier == 0


@PROPS
@given(timed_cases())
def test_whole_blocks_are_kept_when_units_allow(case: tuple[int, int, int]) -> None:
    units, minutes, assistant = case
    a_full, t_full = assistant // 15, (minutes - assistant) // 15
    split = split_timed_units(units, minutes, assistant)
    if units >= a_full + t_full:
        assert split.with_modifier >= a_full
        assert split.without_modifier >= t_full


def test_de_minimis_is_per_unit_not_per_day() -> None:
    # 4 of 68 minutes (6%) by the assistant, but 4 of the last unit's 8 leftover minutes: the
    # clinicians tie on that unit, so it counts as assistant involvement.
    assert _pair(split_timed_units(5, 68, 4)) == (1, 4)
    assert _pair(split_timed_units(5, 68, 3)) == (0, 5)  # therapist 5 > assistant 3


@PROPS
@given(st.integers(1, 200).flatmap(lambda m: st.tuples(st.just(m), st.integers(0, min(7, m)))))
def test_small_assistant_part_outweighed_on_the_last_unit(case: tuple[int, int]) -> None:
    # Under 8 assistant minutes, fewer than the therapist's leftover and within 10% of the day:
    # they sit in no billed unit on their own and lose the last unit, so no CQ/CO at all.
    minutes, assistant = case
    therapist_left = (minutes - assistant) % 15
    if 10 * assistant > minutes or assistant >= therapist_left:
        return
    split = split_timed_units(units_for_minutes(minutes), minutes, assistant)
    assert split.with_modifier == 0


@PROPS
@given(st.integers(0, 240).flatmap(lambda m: st.tuples(st.just(m), st.integers(0, m))))
def test_untimed_is_one_unit(case: tuple[int, int]) -> None:
    minutes, assistant = case
    split = split_untimed(minutes, assistant)
    assert split.with_modifier + split.without_modifier == 1
    assert split.with_modifier == (1 if 10 * assistant > minutes else 0)
