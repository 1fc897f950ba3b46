"""From the allowed amount to what the payer pays and the patient owes.

Order (CMS Pub 100-04 ch.5 §10.3, §20.1; sequestration notices): deductible first, then the
payer's share after coinsurance, then the CQ/CO reduction taken from the payer's payment, then
sequestration on what remains. Every step is rounded to the cent, and the parts always add up:
allowed = payer_paid + patient_owes + reductions.
"""

from __future__ import annotations

from decimal import Decimal

from therabill.money import ZERO, cents

ONE = Decimal(1)


class Share:
    """How one line's allowed amount divides (a plain class: compiled, its __init__ is native)."""

    deductible: Decimal
    coinsurance: Decimal
    payer_before_reductions: Decimal
    assistant_reduction: Decimal
    sequestration: Decimal

    def __init__(self, deductible: Decimal, coinsurance: Decimal,
                 payer_before_reductions: Decimal, assistant_reduction: Decimal,
                 sequestration: Decimal) -> None:
        self.deductible = deductible
        self.coinsurance = coinsurance
        self.payer_before_reductions = payer_before_reductions
        self.assistant_reduction = assistant_reduction
        self.sequestration = sequestration

    @property
    def payer_paid(self) -> Decimal:
        return self.payer_before_reductions - self.assistant_reduction - self.sequestration

    @property
    def patient_owes(self) -> Decimal:
        return self.deductible + self.coinsurance

    @property
    def reductions(self) -> Decimal:
        return self.assistant_reduction + self.sequestration


def split(allowed: Decimal, deductible_left: Decimal, coinsurance_rate: Decimal,
          assistant_rate: Decimal, sequestration_rate: Decimal) -> Share:
    # A deductible entered with fractions of a cent is money like any other: whole cents, or the
    # parts would no longer add up to the allowed amount.
    deductible_left = cents(deductible_left)
    deductible = min(deductible_left, allowed) if deductible_left > 0 else ZERO
    base = allowed - deductible
    payer = cents(base * (ONE - coinsurance_rate))
    coinsurance = base - payer
    assistant_cut = cents(payer * (ONE - assistant_rate)) if assistant_rate < ONE else ZERO
    after_assistant = payer - assistant_cut
    sequestration = cents(after_assistant * sequestration_rate) if sequestration_rate else ZERO
    return Share(deductible, coinsurance, payer, assistant_cut, sequestration)
