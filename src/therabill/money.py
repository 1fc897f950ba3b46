"""Money is Decimal, rounded half-up to the cent as CMS publishes its amounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(amount: Decimal) -> Decimal:
    # The rounding passed by position: the keyword form costs twice as much per call.
    return amount.quantize(CENT, ROUND_HALF_UP)


def usd(amount: Decimal) -> str:
    """Dollars and cents as a biller reads them: $1,234.50."""
    text = str(cents(amount))  # two decimals after cents(), never an exponent for money
    whole, _, frac = text.partition(".")
    if len(whole) <= 3 or (len(whole) == 4 and whole[0] == "-"):
        return f"${text}"  # under a thousand: nothing to group
    # Group the whole dollars with commas by slicing the text: formatting with "," (Decimal's
    # or int's) costs several times more.
    sign = "-" if whole[0] == "-" else ""
    digits = whole[1:] if sign else whole
    head = len(digits) % 3 or 3
    groups = [digits[:head]]
    for start in range(head, len(digits), 3):
        groups.append(digits[start:start + 3])
    return f"${sign}{','.join(groups)}.{frac}"


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


def usd_signed(amount: Decimal) -> str:
    """A difference in dollars with its sign in front: +$5.17, -$2.59 (zero as +$0.00)."""
    return f"{'-' if amount < 0 else '+'}{usd(abs(amount))}"
