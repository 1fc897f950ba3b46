"""Fee schedule amount per unit: (work × work GPCI + PE × PE GPCI + MP × MP GPCI) × CF.

Therapy is paid at the non-facility PE in every setting, institutional included (CMS Pub 100-04
ch.5 §10). Each per-unit amount is rounded half-up to the cent, as CMS prints it in its payment
files; the tests reproduce CMS's published 2025 amounts to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from therabill.money import cents
from therabill.payers.policy import Pricing
from therabill.reference.records import RvuRecord

ONE = Decimal(1)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Gpcis:
    work: Decimal
    pe: Decimal
    mp: Decimal
    label: str  # "national (1.000)" or "01182-18 LOS ANGELES... (GPCI2025)"
    floor_note: str = ""


NATIONAL = Gpcis(ONE, ONE, ONE, "national (GPCIs 1.000)")


@dataclass(frozen=True, slots=True)
class UnitPrice:
    full: Decimal  # per unit, PE paid in full
    reduced: Decimal  # per unit, PE paid at the MPPR share
    pe_component: Decimal  # unrounded PE dollars of one full unit (for the explanation)


def unit_price(rvu: RvuRecord, gpcis: Gpcis, conversion_factor: Decimal,
               pe_paid_share: Decimal) -> UnitPrice:
    work = rvu.work * gpcis.work
    pe = rvu.pe_nonfacility * gpcis.pe
    mp = rvu.mp * gpcis.mp
    return UnitPrice(full=cents((work + pe + mp) * conversion_factor),
                     reduced=cents((work + pe * pe_paid_share + mp) * conversion_factor),
                     pe_component=pe * conversion_factor)


def arithmetic(rvu: RvuRecord, gpcis: Gpcis, conversion_factor: Decimal) -> str:
    """The sum a biller can redo by hand."""
    return (f"({rvu.work} × {gpcis.work} + {rvu.pe_nonfacility} × {gpcis.pe} + {rvu.mp} × "
            f"{gpcis.mp}) × {conversion_factor}")


def payer_unit_price(pricing: Pricing, code: str, medicare: UnitPrice | None
                     ) -> UnitPrice | None:
    """What a payer's pricing pays for one unit of ``code``, from Medicare's unit price on the
    day (None where Medicare has none): Medicare's own amount, a percentage of it, or the
    plan's fee table, whose MPPR takes the same share of its fee as Medicare's takes of
    Medicare's. None when the payer has no amount for the code."""
    basis = pricing.basis
    if basis == "fee_table":
        amount = pricing.fee_table.get(code)
        if amount is None:
            return None
        reduced = amount
        if medicare is not None and medicare.full:
            reduced = cents(amount * medicare.reduced / medicare.full)
        return UnitPrice(cents(amount), reduced, Decimal(0))
    if medicare is None:
        return None
    if basis == "percent_of_medicare":
        share = (pricing.percent_of_medicare or HUNDRED) / HUNDRED
        return UnitPrice(cents(medicare.full * share), cents(medicare.reduced * share),
                         medicare.pe_component)
    return medicare
