"""Money helpers: cents half-up, dollar text, and the whole-cents input check."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from therabill.money import MAX_AMOUNT, cents, usd, whole_cents

amounts = st.decimals(min_value=Decimal("-99999999.999"), max_value=Decimal("99999999.999"),
                      places=3, allow_nan=False, allow_infinity=False)


def test_cents_round_half_up() -> None:
    assert str(cents(Decimal("2.345"))) == "2.35"
    assert str(cents(Decimal("-2.345"))) == "-2.35"
    assert str(cents(Decimal("2.344"))) == "2.34"


@given(amounts)
def test_dollar_text_matches_decimal_formatting(amount: Decimal) -> None:
    expected = f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"
    assert usd(amount) == expected


@pytest.mark.parametrize("text", ["50", "50.1", "50.10", "1.500", "0", "1E+1", "1.5E+3",
                                  "12345678.90"])
def test_whole_cents_accepted(text: str) -> None:
    assert whole_cents(Decimal(text)) == Decimal(text)


@pytest.mark.parametrize("text", ["50.123", "0.001", "1E-7", "12.345000", "-0.005"])
def test_more_than_cents_refused(text: str) -> None:
    with pytest.raises(ValueError, match="more than two decimal places"):
        whole_cents(Decimal(text))


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-MAX_AMOUNT,
                   max_value=MAX_AMOUNT))
def test_whole_cents_agrees_with_the_exact_fraction(amount: Decimal) -> None:
    exact = 100 % amount.as_integer_ratio()[1] == 0
    if exact:
        assert whole_cents(amount) == amount
    else:
        with pytest.raises(ValueError):
            whole_cents(amount)


@pytest.mark.parametrize("text", ["100000000", "1E+99999999", "-1E+99999999", "1e26",
                                  "99999999.991"])
def test_amounts_over_the_maximum_refused_without_expanding_them(text: str) -> None:
    with pytest.raises(ValueError, match=r"at most|decimal places"):
        whole_cents(Decimal(text))


@pytest.mark.parametrize("text", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_amounts_refused(text: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        whole_cents(Decimal(text))


def test_a_tiny_amount_is_refused_from_its_magnitude() -> None:
    with pytest.raises(ValueError, match="decimal places"):
        whole_cents(Decimal("1E-99999999"))
    assert str(whole_cents(Decimal("0E-99999999"))) == "0.00"
    assert str(whole_cents(Decimal("-0"))) == "0.00"
