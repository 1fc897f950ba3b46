"""What one checked visit adds to the year: threshold accrual by group, deductible applied."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest

from therabill.engine import Engine
from therabill.ledger.amounts import year_amounts
from therabill.model import CheckResult

from .helpers import visit

ENGINE = Engine()


@pytest.mark.parametrize("remaining", ["0", "10.00", "65.49", "100.00", "257.00"])
def test_deductible_applied_agrees_with_each_lines_money(remaining: str):
    raw = visit("v", "2025-03-03", deductible_remaining=remaining)
    result = ENGINE.check(raw)
    amounts = year_amounts(result, Decimal(remaining))
    allowed = sum((line.allowed for line in result.lines if line.status == "payable"),
                  Decimal(0))
    assert amounts.deductible == min(Decimal(remaining), allowed)
    for line, got in zip(result.lines, amounts.lines, strict=True):
        # what Medicare pays before its own reductions is 80% of the allowed amount past the
        # deductible; the patient owes the deductible and the other 20%
        payer = ((line.allowed - got.deductible) * Decimal("0.8")).quantize(
            Decimal("0.01"), ROUND_HALF_UP)
        assert line.payer_paid + line.reductions == payer
        assert line.patient_owes == got.deductible + (line.allowed - got.deductible - payer)


def test_threshold_accrual_by_group_and_payable_lines_only():
    raw = {"visit_id": "v", "date_of_service": "2025-03-03",
           "lines": [{"code": "97110", "minutes": 30, "discipline": "PT"},
                     {"code": "97530", "minutes": 30, "discipline": "OT"},
                     {"code": "97140", "minutes": 30, "discipline": "PT"},
                     {"code": "97124", "minutes": 15, "discipline": "PT"}]}
    result = ENGINE.check(raw)
    statuses = {line.code: line.status for line in result.lines}
    assert statuses["97124"] != "payable"  # denied next to 97140 (NCCI indicator 0)
    amounts = year_amounts(result)
    pt = sum((line.allowed for line in result.lines
              if line.status == "payable" and line.discipline == "PT"), Decimal(0))
    ot = sum((line.allowed for line in result.lines
              if line.status == "payable" and line.discipline == "OT"), Decimal(0))
    assert amounts.threshold("pt_slp") == pt > 0
    assert amounts.threshold("ot") == ot > 0
    assert year_amounts(result, counts_toward_threshold=False).threshold("pt_slp") == 0


def test_lines_own_threshold_and_deductible_figures_win_when_present():
    line = SimpleNamespace(code="97110", units=2, modifiers=["GP"], status="payable",
                           discipline="PT", allowed=Decimal("60.00"),
                           payer_paid=Decimal("40.00"), patient_owes=Decimal("20.00"),
                           threshold_amount=Decimal("55.55"), deductible=Decimal("7.00"),
                           steps=[])
    result = CheckResult("v", "p", None, "medicare", lines=[line])  # type: ignore[list-item]
    amounts = year_amounts(result, Decimal("100.00"))
    assert amounts.threshold("pt_slp") == Decimal("55.55")
    assert amounts.deductible == Decimal("7.00")
