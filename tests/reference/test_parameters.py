from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.reference.parameters import ParameterError, load_parameter, load_parameters

P = load_parameters()


@pytest.mark.parametrize(("day", "value"), [
    (date(2017, 6, 1), "35.8887"), (date(2018, 6, 1), "35.9996"), (date(2019, 6, 1), "36.0391"),
    (date(2020, 6, 1), "36.0896"), (date(2021, 6, 1), "34.8931"), (date(2022, 6, 1), "34.6062"),
    (date(2023, 6, 1), "33.8872"), (date(2024, 3, 8), "32.7442"), (date(2024, 3, 9), "33.2875"),
    (date(2025, 12, 31), "32.3465"), (date(2026, 1, 1), "33.4009"),
])
def test_conversion_factor_by_date(day: date, value: str) -> None:
    assert P.at("conversion_factor", day).value == Decimal(value)


def test_qualifying_apm_factor_only_from_2026() -> None:
    assert P.at("conversion_factor_qualifying_apm", date(2025, 6, 1)) is None
    assert P.at("conversion_factor_qualifying_apm", date(2026, 6, 1)).value == Decimal("33.5675")


def test_no_value_outside_the_data() -> None:
    assert P.at("conversion_factor", date(2016, 12, 31)) is None
    assert P.at("conversion_factor", date(2027, 1, 1)) is None
    assert P.at("kx_threshold", date(2017, 6, 1)) is None


@pytest.mark.parametrize(("day", "rate"), [
    (date(2020, 4, 30), "0.02"), (date(2020, 5, 1), "0.00"), (date(2022, 3, 31), "0.00"),
    (date(2022, 4, 1), "0.01"), (date(2022, 7, 1), "0.02"), (date(2026, 1, 1), "0.02"),
])
def test_sequestration_periods(day: date, rate: str) -> None:
    assert P.at("sequestration_rate", day).value == Decimal(rate)


def test_thresholds_deductibles_and_rates() -> None:
    assert P.at("kx_threshold", date(2025, 1, 1)).value == 2410
    assert P.at("kx_threshold", date(2026, 1, 1)).value == 2480
    assert P.at("targeted_review_threshold", date(2026, 1, 1)).value == 3000
    assert P.at("part_b_deductible", date(2026, 1, 1)).value == 283
    assert P.at("assistant_payment_rate", date(2021, 12, 31)).value == 1
    assert P.at("assistant_payment_rate", date(2022, 1, 1)).value == Decimal("0.85")
    assert P.at("therapy_mppr_pe_paid_professional", date(2013, 3, 31)).value == Decimal("0.80")
    assert P.at("therapy_mppr_pe_paid_professional", date(2013, 4, 1)).value == Decimal("0.50")


def test_work_gpci_floor_covers_2026_and_ends() -> None:
    floor = P.at("work_gpci_floor", date(2026, 11, 1))
    assert floor.value == 1 and "§6208" in floor.source
    assert P.at("work_gpci_floor", date(2027, 1, 1)) is None


def test_every_value_has_a_source() -> None:
    for parameter in P.by_name.values():
        for period in parameter.periods():
            assert period.source.strip()


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\nunit: USD\nvalues:\n  2020-01-01: {value: 1, source: s, "
                   "sorce: typo}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="sorce"):
        load_parameter(bad)


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\nunit: USD\nvalues:\n  2020-01-01: {value: 1, source: ' '}\n",
                   encoding="utf-8")
    with pytest.raises(ParameterError, match="source"):
        load_parameter(bad)
