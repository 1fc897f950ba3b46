"""Unit allocation: CMS total-time method (CMS Pub 100-04 ch.5 §20.2) and CPT per-code method."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from therabill.rules.units import (
    TimedService,
    UnitAllocation,
    cms_total_time,
    cpt_per_code,
    primary_add_on_units,
    units_for_minutes,
)

T = TimedService
CODES = ("97110", "97112", "97116", "97140", "97530", "97035", "97750", "G0283")
PROPS = settings(max_examples=300, deadline=None)


# --- units_for_minutes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "units"),
    # CMS Pub 100-04 ch.5 §20.2.C table edges
    [(0, 0), (7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3), (53, 4), (67, 4),
     (68, 5), (82, 5), (83, 6), (97, 6), (98, 7), (112, 7), (113, 8), (127, 8), (128, 9)],
)
def test_cms_table(minutes: int, units: int) -> None:
    assert units_for_minutes(minutes) == units


@pytest.mark.parametrize(
    ("minutes", "unit_minutes", "units"),
    [(30, 60, 0), (31, 60, 1), (90, 60, 1), (91, 60, 2), (15, 30, 0), (16, 30, 1),
     (60, 120, 0), (61, 120, 1), (200, 60, 3)],
)
def test_midpoint_other_unit_lengths(minutes: int, unit_minutes: int, units: int) -> None:
    assert units_for_minutes(minutes, unit_minutes) == units


def test_units_for_minutes_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        units_for_minutes(-1)
    with pytest.raises(ValueError):
        units_for_minutes(10, 0)


@PROPS
@given(st.integers(0, 10_000))
def test_closed_form(minutes: int) -> None:
    assert units_for_minutes(minutes) == (minutes + 7) // 15


# --- CMS worked examples ------------------------------------------------------------------------


def test_ex1_more_units_to_more_time() -> None:
    a = cms_total_time([T("97112", 24), T("97110", 23)])
    assert a.units == {"97112": 2, "97110": 1}
    assert (a.total_minutes, a.total_units) == (47, 3)
    assert a.full_units == {"97112": 1, "97110": 1}
    assert a.extra_unit_codes == ("97112",)
    assert a.ties == () and a.alternative is None


def test_ex2_equal_time_tie_reported() -> None:
    a = cms_total_time([T("97112", 20), T("97110", 20)])
    assert a.total_units == 3
    # Default tie-break is code order, so 97110 takes the remaining unit.
    assert a.units == {"97112": 1, "97110": 2}
    assert a.ties == (("97110", "97112"),)
    assert a.alternative == {"97112": 2, "97110": 1}
    assert 3 not in a.units.values() and 3 not in a.alternative.values()


def test_ex2_rank_key_chooses_the_code() -> None:
    a = cms_total_time([T("97112", 20, (0,)), T("97110", 20, (1,))])
    assert a.units == {"97112": 2, "97110": 1}
    assert a.ties == (("97112", "97110"),)
    assert a.alternative == {"97112": 1, "97110": 2}


def test_ex3_short_code_beats_small_leftover() -> None:
    a = cms_total_time([T("97110", 33), T("97140", 7)])
    assert a.units == {"97110": 2, "97140": 1}
    assert a.total_units == 3 and a.ties == ()


def test_ex4_ultrasound_documented_not_billed() -> None:
    a = cms_total_time([T("97110", 18), T("97140", 13), T("97116", 10), T("97035", 8)])
    assert a.units == {"97110": 1, "97140": 1, "97116": 1, "97035": 0}
    assert (a.total_minutes, a.total_units) == (49, 3)
    assert a.extra_unit_codes == ("97140", "97116")
    assert a.ties == () and a.alternative is None


def test_ex5_three_way_tie_one_unit() -> None:
    a = cms_total_time([T("97112", 7), T("97110", 7), T("97140", 7)])
    assert a.total_units == 1
    assert sum(a.units.values()) == 1
    assert a.units["97110"] == 1
    assert a.ties == (("97110", "97112", "97140"),)
    assert a.alternative is not None and sum(a.alternative.values()) == 1
    assert a.alternative != a.units


def test_single_code_hour() -> None:
    a = cms_total_time([T("97530", 60)])
    assert a.units == {"97530": 4} and a.extra_unit_codes == ()


def test_mac_example_manual_and_ultrasound() -> None:
    a = cms_total_time([T("97140", 35), T("97035", 7)])
    assert a.units == {"97140": 2, "97035": 1}


def test_zero_minute_code_and_empty_visit() -> None:
    a = cms_total_time([T("97110", 0), T("97140", 7)])
    assert a.units == {"97110": 0, "97140": 0} and a.total_units == 0
    empty = cms_total_time([])
    assert empty == UnitAllocation({}, 0, 0, {}, (), (), None)


def test_all_candidates_get_one_no_tie() -> None:
    # 8 + 8 = 16 → 1 unit; 12 + 12 = 24 → 2 units, both get one, nothing to choose.
    a = cms_total_time([T("97110", 12), T("97140", 12)])
    assert a.units == {"97110": 1, "97140": 1} and a.ties == ()


@pytest.mark.parametrize("method", [cms_total_time, cpt_per_code])
def test_rejects_duplicates_and_negative_minutes(
    method: Callable[[Sequence[TimedService], int], UnitAllocation],
) -> None:
    with pytest.raises(ValueError, match="twice"):
        method([T("97110", 10), T("97110", 5)], 15)
    with pytest.raises(ValueError):
        method([T("97110", -1)], 15)
    with pytest.raises(ValueError):
        method([T("97110", 10)], 0)


# --- CPT per-code contrasts --------------------------------------------------------------------


def test_contrast_10_plus_10() -> None:
    svcs = [T("97110", 10), T("97140", 10)]
    assert cpt_per_code(svcs).units == {"97110": 1, "97140": 1}
    cms = cms_total_time(svcs)
    assert cms.total_units == 1 and cms.ties == (("97110", "97140"),)


def test_contrast_7_plus_7() -> None:
    svcs = [T("97110", 7), T("97140", 7)]
    assert cpt_per_code(svcs).total_units == 0
    assert cms_total_time(svcs).total_units == 1


def test_contrast_33_plus_7() -> None:
    svcs = [T("97110", 33), T("97140", 7)]
    per = cpt_per_code(svcs)
    assert per.units == {"97110": 2, "97140": 0}
    assert per.extra_unit_codes == () and per.ties == () and per.alternative is None
    assert cms_total_time(svcs).units == {"97110": 2, "97140": 1}


# --- primary/add-on pairs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "primary", "add_on", "expected"),
    [
        (38, 15, 15, (1, 2)),  # 97129/97130
        (7, 15, 15, (0, 0)),
        (8, 15, 15, (1, 0)),
        (15, 15, 15, (1, 0)),
        (22, 15, 15, (1, 0)),
        (23, 15, 15, (1, 1)),
        (200, 120, 60, (1, 1)),  # 97545/97546: 80 min past 2 h → 1 h 20 → 1
        (60, 120, 60, (0, 0)),
        (61, 120, 60, (1, 0)),
        (211, 120, 60, (1, 2)),
        (100, 60, 30, (1, 1)),  # 96112/96113
        (106, 60, 30, (1, 2)),
    ],
)
def test_primary_add_on(minutes: int, primary: int, add_on: int, expected: tuple[int, int]) -> None:
    assert primary_add_on_units(minutes, primary, add_on) == expected


def test_primary_add_on_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        primary_add_on_units(-1, 15, 15)
    with pytest.raises(ValueError):
        primary_add_on_units(10, 0, 15)


@PROPS
@given(st.integers(0, 600))
def test_fifteen_minute_pair_matches_cms_table(minutes: int) -> None:
    primary, add_on = primary_add_on_units(minutes, 15, 15)
    assert primary in (0, 1)
    assert primary + add_on == units_for_minutes(minutes)


@PROPS
@given(st.integers(0, 600), st.sampled_from([(15, 15), (120, 60), (60, 30)]))
def test_pair_add_on_only_after_primary_block(minutes: int, pair: tuple[int, int]) -> None:
    primary, add_on = primary_add_on_units(minutes, *pair)
    assert primary in (0, 1) and add_on >= 0
    if minutes <= pair[0]:
        assert add_on == 0
    if add_on:
        assert primary == 1


# --- properties ---------------------------------------------------------------------------------

minutes_lists = st.lists(st.integers(0, 130), min_size=0, max_size=len(CODES))


def _services(minutes: list[int]) -> list[TimedService]:
    return [T(code, m) for code, m in zip(CODES, minutes, strict=False)]


@PROPS
@given(minutes_lists)
def test_cms_total_matches_table_and_caps(minutes: list[int]) -> None:
    svcs = _services(minutes)
    a = cms_total_time(svcs)
    total = sum(minutes)
    assert a.total_minutes == total
    assert a.total_units == units_for_minutes(total)
    assert sum(a.units.values()) == a.total_units  # never above the total-minutes cap
    assert set(a.units) == {s.code for s in svcs} == set(a.full_units)
    for s in svcs:
        u = a.units[s.code]
        assert u >= 0
        assert a.full_units[s.code] == s.minutes // 15
        assert s.minutes // 15 <= u <= s.minutes // 15 + 1  # at most one extra unit
        if s.minutes % 15 == 0:
            assert u == s.minutes // 15  # extra units only from leftover minutes
        if s.minutes >= 15:
            assert u >= 1
        if s.minutes >= 30:
            assert u >= 2
    assert set(a.extra_unit_codes) == {c for c in a.units if a.units[c] > a.full_units[c]}


@PROPS
@given(minutes_lists)
def test_cms_leftover_ranking(minutes: list[int]) -> None:
    a = cms_total_time(_services(minutes))
    left = {s.code: s.minutes % 15 for s in _services(minutes)}
    got = [left[c] for c in a.extra_unit_codes]
    missed = [left[c] for c in left if c not in a.extra_unit_codes and left[c] > 0]
    if got and missed:
        assert min(got) >= max(missed)  # no code with more leftover was passed over
        assert (min(got) == max(missed)) == bool(a.ties)


@PROPS
@given(minutes_lists)
def test_cms_alternative_is_compliant(minutes: list[int]) -> None:
    a = cms_total_time(_services(minutes))
    if a.alternative is None:
        assert a.ties == ()
        return
    (group,) = a.ties
    assert sum(a.alternative.values()) == a.total_units
    changed = {c for c in a.units if a.units[c] != a.alternative[c]}
    assert len(changed) == 2 and changed <= set(group)
    for code, units in a.alternative.items():
        assert a.full_units[code] <= units <= a.full_units[code] + 1


@PROPS
@given(minutes_lists, st.randoms(use_true_random=False))
def test_order_independent_and_deterministic(minutes: list[int], rnd: random.Random) -> None:
    svcs = _services(minutes)
    shuffled = list(svcs)
    rnd.shuffle(shuffled)
    for method in (cms_total_time, cpt_per_code):
        first = method(svcs)
        assert method(shuffled) == first
        assert method(svcs) == first


@PROPS
@given(minutes_lists, st.lists(st.integers(0, 3), min_size=len(CODES), max_size=len(CODES)),
       st.randoms(use_true_random=False))
def test_order_independent_with_rank_keys(
    minutes: list[int], keys: list[int], rnd: random.Random
) -> None:
    svcs = [T(c, m, (k,)) for c, m, k in zip(CODES, minutes, keys, strict=False)]
    shuffled = list(svcs)
    rnd.shuffle(shuffled)
    assert cms_total_time(shuffled) == cms_total_time(svcs)


@PROPS
@given(minutes_lists)
def test_per_code_is_sum_of_per_code_rounding(minutes: list[int]) -> None:
    svcs = _services(minutes)
    a = cpt_per_code(svcs)
    assert a.units == {s.code: units_for_minutes(s.minutes) for s in svcs}
    assert a.total_units == sum(a.units.values())
    assert a.ties == () and a.alternative is None
    assert set(a.extra_unit_codes) == {c for c in a.units if a.units[c] > a.full_units[c]}
