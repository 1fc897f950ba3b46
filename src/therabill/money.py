"""Money is Decimal, rounded half-up to the cent as CMS publishes its amounts."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

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


# The largest amount therabill accepts as input (a charge, a deductible, a year-to-date
# threshold amount): under a hundred million dollars. Larger, non-finite or exponent-heavy
# numbers ("1E+99999999") are input errors, refused before any arithmetic touches them.
MAX_AMOUNT = Decimal("99999999.99")


def whole_cents(amount: Decimal) -> Decimal:
    """An amount as entered must be finite, at most ``MAX_AMOUNT`` and whole cents (checked on
    input, where pydantic calls it). A negative zero comes back as plain zero."""
    if not amount.is_finite():
        raise ValueError("an amount must be a finite number")
    # Compared before anything else: a comparison never expands the exponent, where turning
    # "1E+99999999" into digits or a fraction would take minutes.
    if amount > MAX_AMOUNT or amount < -MAX_AMOUNT:
        raise ValueError(f"an amount may be at most {usd(MAX_AMOUNT)}")
    if not amount:
        return ZERO  # "-0", "0E-7", "0.000": all plain zero
    # Digits past the cent must all be zeros ("1.500" is fine). A non-zero amount under a
    # cent is refused from its magnitude alone ("1E-99999999" is never expanded); otherwise
    # the digits are as many as were entered, and quantizing them is cheap.
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and (
            amount.adjusted() < -2 or amount != amount.quantize(CENT, ROUND_DOWN)):
        raise ValueError(f"{_short(amount)} has more than two decimal places; amounts are in "
                         "whole cents")
    return amount.quantize(CENT) if isinstance(exponent, int) and exponent < -2 else amount


def _short(amount: Decimal) -> str:
    text = str(amount)
    return text if len(text) <= 24 else f"{text[:20]}…"


def usd_signed(amount: Decimal) -> str:
    """A difference in dollars with its sign in front: +$5.17, -$2.59 (zero as +$0.00)."""
    return f"{'-' if amount < 0 else '+'}{usd(abs(amount))}"
