"""Properties of priced visits, over random Medicare and commercial visits 2018-2026.

Whatever the visit: money is Decimal in whole cents; each line's allowed amount is exactly what
the payer pays plus what the patient owes plus the reductions; no reduction ever raises a
payment (payer ≤ allowed; MPPR never above units × fee; never above the charge); the totals are
the sums of the lines.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import therabill
from therabill.model import CheckResult
from therabill.money import cents as cents_of

PAYERS = ("medicare", "commercial-cpt", "commercial-mppr")
LOCALITIES = ("national", "01182-18", "13282-99", "05102-00", "02102-01")
TIMED = ("97110", "97112", "97116", "97140", "97530", "97535", "97035", "97032", "97113",
         "97124", "97750", "97760", "97542", "97533")
MONEY_FIELDS = ("fee_schedule_amount", "mppr_reduction", "charge_reduction", "allowed",
                "deductible", "coinsurance", "assistant_reduction", "sequestration",
                "payer_paid", "patient_owes", "reductions", "threshold_amount")
SHARE_FIELDS = ("allowed", "payer_paid", "patient_owes", "reductions")
ZERO = Decimal("0.00")

cents = st.integers(min_value=0, max_value=30_000).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def visit_lines(draw: st.DrawFn) -> dict[str, Any]:
    minutes = draw(st.integers(0, 60))
    line: dict[str, Any] = {"code": draw(st.sampled_from(TIMED)), "minutes": minutes,
                            "discipline": draw(st.sampled_from(("PT", "OT")))}
    if draw(st.booleans()):
        line["assistant_minutes"] = draw(st.integers(0, minutes))
    if draw(st.booleans()):
        line["charge"] = str(draw(cents.filter(lambda c: c <= 200)))
    if draw(st.integers(0, 3)) == 0:
        line["modifiers"] = ["KX"]
    return line


@st.composite
def visits(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.dates(min_value=date(2018, 1, 1), max_value=date(2026, 12, 31)))
    return {
        "visit_id": "prop",
        "date_of_service": day.isoformat(),
        "payer": draw(st.sampled_from(PAYERS)),
        "locality": draw(st.sampled_from(LOCALITIES)),
        "claim_type": draw(st.sampled_from(("professional", "institutional"))),
        "qualifying_apm": draw(st.booleans()),
        "deductible_remaining": str(draw(cents)),
        "ytd_threshold_amount": {"pt_slp": str(draw(st.sampled_from((0, 1500, 2380, 2990)))),
                                 "ot": str(draw(st.sampled_from((0, 2400))))},
        "lines": draw(st.lists(visit_lines(), min_size=1, max_size=4)),
    }


def _whole_cents(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


def _check_lines(result: CheckResult) -> None:
    for line in result.lines:
        where = (line.code, line.modifiers, line.status)
        for field in MONEY_FIELDS:
            value = getattr(line, field)
            assert value is None or _whole_cents(value), (where, field, value)
        shares = [getattr(line, field) for field in SHARE_FIELDS]
        assert all(v is None for v in shares) or all(v is not None for v in shares), where
        if line.allowed is None:
            continue
        assert line.allowed == line.payer_paid + line.patient_owes + line.reductions, where
        # each part is a field of its own, and the parts add up exactly
        assert line.patient_owes == line.deductible + line.coinsurance, where
        assert line.reductions == line.assistant_reduction + line.sequestration, where
        assert line.allowed == (line.deductible + line.coinsurance + line.payer_paid
                                + line.assistant_reduction + line.sequestration), where
        if line.status == "payable" and line.fee_schedule_amount is not None:
            assert (line.fee_schedule_amount * line.units - line.mppr_reduction
                    - line.charge_reduction) == line.allowed, where
            assert line.mppr_reduction >= ZERO and line.charge_reduction >= ZERO, where
        assert ZERO <= line.payer_paid <= line.allowed, where
        assert line.patient_owes >= ZERO and line.reductions >= ZERO, where
        if line.status != "payable":
            assert line.allowed == ZERO, where
            continue
        assert line.fee_schedule_amount is not None, where
        assert line.allowed <= line.units * line.fee_schedule_amount, where
        if line.charge is not None:  # the charge echoes the input; money is whole cents
            assert line.allowed <= cents_of(line.charge), where


def _check_totals(result: CheckResult) -> None:
    totals = result.totals
    assert totals.units == sum(ln.units for ln in result.lines if ln.status == "payable")
    priced = [ln for ln in result.lines if ln.allowed is not None]
    for field in ("allowed", "payer_paid", "patient_owes", "deductible", "coinsurance",
                  "mppr_reduction", "assistant_reduction", "sequestration", "reductions"):
        total = getattr(totals, field)
        if not priced:
            assert total is None, field
            continue
        assert _whole_cents(total), (field, total)
        assert total == sum((getattr(ln, field) for ln in priced), ZERO), field
    # the year's threshold amounts after the visit: what came in plus what the lines added
    if result.threshold_to_date is not None and totals.threshold_amount is not None:
        before = result.threshold_to_date.pt_slp + result.threshold_to_date.ot
        assert totals.threshold_amount == sum(
            (ln.threshold_amount for ln in result.lines if ln.threshold_amount is not None),
            ZERO)
        assert before >= totals.threshold_amount


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visits())
def test_priced_visits_add_up(visit: dict[str, Any]) -> None:
    result = therabill.check(visit)
    _check_lines(result)
    _check_totals(result)
    # Medicare on a date the reference data covers prices every payable line it can
    if visit["payer"] == "medicare":
        for line in result.lines:
            if line.status == "payable" and line.units:
                assert line.allowed is not None, (line.code, line.steps)


def test_sub_cent_inputs_are_refused_by_field() -> None:
    """Deductible and charge with fractions of a cent are input errors naming the field."""
    result = therabill.check({
        "visit_id": "odd", "date_of_service": "2025-06-02", "locality": "01182-18",
        "deductible_remaining": "10.005",
        "lines": [{"code": "97110", "minutes": 15, "charge": "31.996"},
                  {"code": "97140", "minutes": 15}]})
    messages = [f.message for f in result.findings if f.rule == "input"]
    assert any(m.startswith("lines.0.charge") for m in messages), messages
    assert any(m.startswith("deductible_remaining") for m in messages), messages
