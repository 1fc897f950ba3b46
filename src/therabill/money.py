"""Money is Decimal, rounded half-up to the cent as CMS publishes its amounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


THOUSAND = Decimal(1000)


def cents(amount: Decimal) -> Decimal:
    # The rounding passed by position: the keyword form costs twice as much per call.
    return amount.quantize(CENT, ROUND_HALF_UP)


def usd(amount: Decimal) -> str:
    """Dollars and cents as a biller reads them: $1,234.50."""
    rounded = cents(amount)
    text = str(rounded)  # two decimals after cents(), never an exponent for money
    if -THOUSAND < rounded < THOUSAND:
        return f"${text}"
    # Group the whole dollars with commas (int formatting is far cheaper than Decimal's).
    whole, _, frac = text.partition(".")
    return f"${int(whole):,}.{frac}"


def whole_cents(amount: Decimal) -> Decimal:
    """An amount as entered must be whole cents (checked on input, where pydantic calls it)."""
    # Read off the text (cheap, and exact): digits after the point, trailing zeros aside. The
    # scientific form ("1E-7") is left to the exact fraction.
    text = str(amount)
    if "E" in text:
        whole = 100 % amount.as_integer_ratio()[1] == 0
    else:
        point = text.find(".")
        whole = point < 0 or len(text[point + 1:].rstrip("0")) <= 2
    if not whole:
        raise ValueError(f"{amount} has more than two decimal places; amounts are in whole cents")
    return amount
