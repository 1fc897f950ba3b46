"""Worked visits, every figure checked by hand.

The arithmetic in the comments uses the RVUs of src/therabill/reference/bundled/rvu/RVUyyX.csv
(work, non-facility PE, MP) and the GPCIs of bundled/gpci/GPCIyyyy.csv (work, PE, MP), the
conversion factors and rates of reference/parameters/*.yaml, and rounds half-up to the cent at
each step, in the order of the rules document §3.5: per-unit fee → MPPR → allowed (lower of
charge and fee) → KX threshold → deductible → Medicare's 80% → CQ/CO 15% → sequestration.

Los Angeles is locality 01182-18 throughout. Its GPCIs (work / PE / MP):
  GPCI2021, GPCI2022: 1.048 / 1.175 / 0.757
  GPCI2024, GPCI2025: 1.042 / 1.194 / 0.690
  GPCI2026:           1.041 / 1.183 / 0.664
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import therabill
from therabill.cli import app
from therabill.model import CheckResult, ClaimLine
from therabill.reference.parameters import Parameter, ParameterEntry, Parameters
from therabill.reference.store import ReferenceData, default_reference

LA = "01182-18"
D = Decimal


def check(lines: list[dict[str, Any]], **visit: Any) -> CheckResult:
    visit.setdefault("locality", LA)
    visit.setdefault("date_of_service", "2025-06-02")
    return therabill.check({"visit_id": "worked", "lines": lines, **visit})


def line_of(result: CheckResult, code: str, modifier: str | None = None) -> ClaimLine:
    found = [ln for ln in result.lines
             if ln.code == code and (modifier is None or modifier in ln.modifiers)]
    assert len(found) == 1, [(ln.code, ln.modifiers) for ln in result.lines]
    return found[0]


def money(line: ClaimLine) -> tuple[Decimal | None, ...]:
    """(fee schedule amount a unit, allowed, payer paid, patient owes, reductions)"""
    return (line.fee_schedule_amount, line.allowed, line.payer_paid, line.patient_owes,
            line.reductions)


def steps(line: ClaimLine, rule: str) -> list[str]:
    return [s.message for s in line.steps if s.rule == rule]


def kx_message(result: CheckResult) -> str:
    return next(f.message for f in result.findings if f.rule == "threshold.kx")


def errors(result: CheckResult) -> list[str]:
    return [f.rule for f in result.findings if f.severity == "error"]


# --- conversion factors -------------------------------------------------------------------------


@pytest.mark.parametrize(("dos", "cf", "expected"), [
    # RVU24A 97110: work 0.45, PE 0.42, MP 0.01; GPCI2024 LA 1.042 / 1.194 / 0.690
    #   0.45 × 1.042 = 0.46890; 0.42 × 1.194 = 0.50148; 0.01 × 0.690 = 0.00690; sum 0.97728
    # 2024-03-08: 0.97728 × 32.7442 = 32.000251776 → 32.00
    #   Medicare 80% = 25.60, patient 6.40; sequestration 2% × 25.60 = 0.512 → 0.51; paid 25.09
    ("2024-03-08", "32.7442 from 2024-01-01", (D("32.00"), D("32.00"), D("25.09"), D("6.40"),
                                               D("0.51"))),
    # 2024-03-09: 0.97728 × 33.2875 = 32.531208 → 32.53
    #   80% × 32.53 = 26.024 → 26.02, patient 6.51; 2% × 26.02 = 0.5204 → 0.52; paid 25.50
    ("2024-03-09", "33.2875 from 2024-03-09", (D("32.53"), D("32.53"), D("25.50"), D("6.51"),
                                               D("0.52"))),
])
def test_2024_conversion_factor_changes_on_march_9(dos: str, cf: str,
                                                   expected: tuple[Decimal, ...]) -> None:
    result = check([{"code": "97110", "minutes": 15}], date_of_service=dos)
    assert money(line_of(result, "97110")) == expected
    assert result.data.parameters["conversion_factor"].startswith(cf)
    assert result.data.releases["rvu"].startswith("RVU24A")  # same RVUs on both days


def test_2025_visit_with_mppr() -> None:
    # RVU25A: 97110 0.45 / 0.43 / 0.01; 97530 0.44 / 0.62 / 0.01. CF 32.3465.
    # 97530 has the higher PE RVU (0.62 > 0.43): its one unit is paid in full.
    #   97530: 0.44 × 1.042 + 0.62 × 1.194 + 0.01 × 0.690 = 0.45848 + 0.74028 + 0.00690
    #          = 1.20566 × 32.3465 = 38.998881 → 39.00
    #   97110 full: 0.46890 + 0.51342 + 0.00690 = 0.98922 × 32.3465 = 31.997805 → 32.00
    #   97110 reduced (PE at 50%): 0.46890 + 0.25671 + 0.00690 = 0.73251 × 32.3465
    #          = 23.694135 → 23.69; two units → 47.38
    # 97110: 80% × 47.38 = 37.904 → 37.90, patient 9.48; 2% × 37.90 = 0.758 → 0.76; paid 37.14
    # 97530: 80% × 39.00 = 31.20, patient 7.80; 2% × 31.20 = 0.624 → 0.62; paid 30.58
    result = check([{"code": "97110", "minutes": 30}, {"code": "97530", "minutes": 15}])
    assert money(line_of(result, "97110")) == (D("32.00"), D("47.38"), D("37.14"), D("9.48"),
                                               D("0.76"))
    assert money(line_of(result, "97530")) == (D("39.00"), D("39.00"), D("30.58"), D("7.80"),
                                               D("0.62"))
    assert (result.totals.allowed, result.totals.payer_paid, result.totals.patient_owes) == (
        D("86.38"), D("67.72"), D("17.28"))
    mppr = steps(line_of(result, "97110"), "pricing.mppr")
    assert mppr == ["2 unit(s) at $23.69: another service had the highest practice expense, so "
                    "PE is paid at 50% (reduction $16.62)"]  # 2 × (32.00 − 23.69) = 16.62


@pytest.mark.parametrize(("qualifying_apm", "cf", "fee"), [
    # RVU26A 97110: 0.45 / 0.41 / 0.01; GPCI2026 LA 1.041 / 1.183 / 0.664
    #   0.45 × 1.041 = 0.46845; 0.41 × 1.183 = 0.48503; 0.01 × 0.664 = 0.00664; sum 0.96012
    # QP:     0.96012 × 33.5675 = 32.228828 → 32.23
    (True, "33.5675", D("32.23")),
    # non-QP: 0.96012 × 33.4009 = 32.068872 → 32.07
    (False, "33.4009", D("32.07")),
])
def test_2026_qualifying_apm_conversion_factor(qualifying_apm: bool, cf: str,
                                               fee: Decimal) -> None:
    result = check([{"code": "97110", "minutes": 15}], date_of_service="2026-03-02",
                   qualifying_apm=qualifying_apm)
    line = line_of(result, "97110")
    assert (line.fee_schedule_amount, line.allowed) == (fee, fee)
    assert result.data.releases["rvu"].startswith("RVU26A")
    assert result.data.parameters["conversion_factor"].startswith(f"{cf} from 2026-01-01")
    assert f"× {cf} = ${fee} a unit" in steps(line, "pricing.fee_schedule")[0]


# --- sequestration ------------------------------------------------------------------------------


@pytest.mark.parametrize(("dos", "expected", "note"), [
    # RVU21A 97110 0.45 / 0.40 / 0.02; GPCI2021 LA 1.048 / 1.175 / 0.757
    #   0.47160 + 0.47000 + 0.01514 = 0.95674 × 34.8931 = 33.383624 → 33.38
    #   80% = 26.704 → 26.70, patient 6.68; sequestration suspended (0%): paid 26.70
    ("2021-06-01", (D("33.38"), D("33.38"), D("26.70"), D("6.68"), D("0.00")),
     "no sequestration on this date"),
    # RVU22A same RVUs, GPCI2022 = GPCI2021 for LA: 0.95674 × 34.6062 = 33.109136 → 33.11
    #   80% = 26.488 → 26.49, patient 6.62; 1% × 26.49 = 0.2649 → 0.26; paid 26.23
    ("2022-05-02", (D("33.11"), D("33.11"), D("26.23"), D("6.62"), D("0.26")),
     "sequestration takes $0.26 (1%)"),
    # from 2022-07-01 2%: 2% × 26.49 = 0.5298 → 0.53; paid 25.96
    ("2022-08-01", (D("33.11"), D("33.11"), D("25.96"), D("6.62"), D("0.53")),
     "sequestration takes $0.53 (2%)"),
])
def test_sequestration_by_date(dos: str, expected: tuple[Decimal, ...], note: str) -> None:
    line = line_of(check([{"code": "97110", "minutes": 15}], date_of_service=dos), "97110")
    assert money(line) == expected
    assert steps(line, "pricing.sequestration")[0].startswith(note)


# --- assistants (CQ) ----------------------------------------------------------------------------


def test_cq_in_2021_is_required_but_not_reduced() -> None:
    # 30 minutes all by the PTA → 2 units, both CQ. The only MPPR line: first unit full.
    #   full 33.38 (above); reduced 0.47160 + 0.40 × 1.175 × 50% (0.23500) + 0.01514
    #   = 0.72174 × 34.8931 = 25.183746 → 25.18; allowed 33.38 + 25.18 = 58.56
    #   80% = 46.848 → 46.85, patient 11.71; CQ rate 1.00 in 2021; sequestration 0% → paid 46.85
    result = check([{"code": "97110", "minutes": 30, "assistant_minutes": 30}],
                   date_of_service="2021-06-01")
    line = line_of(result, "97110", "CQ")
    assert line.units == 2
    assert money(line) == (D("33.38"), D("58.56"), D("46.85"), D("11.71"), D("0.00"))
    assert "paid in full on this date" in steps(line, "pricing.assistant")[0]


def test_cq_in_2025_cuts_medicare_payment_after_mppr_before_sequestration() -> None:
    # 97110 30 minutes all by the PTA (2 units CQ) + 97530 15 minutes by the PT. 2025, LA.
    # 97530 has the higher PE and takes the full unit; 97110 CQ: 2 × 23.69 = 47.38 (see above).
    #   Medicare 80% × 47.38 = 37.904 → 37.90; patient 20% = 9.48 (on the unreduced allowed)
    #   CQ: 15% × 37.90 = 5.685 → 5.69; left 37.90 − 5.69 = 32.21
    #   then sequestration 2% × 32.21 = 0.6442 → 0.64 (2% of 37.90 would have been 0.76)
    #   paid 32.21 − 0.64 = 31.57; reductions 5.69 + 0.64 = 6.33; 31.57 + 9.48 + 6.33 = 47.38
    result = check([{"code": "97110", "minutes": 30, "assistant_minutes": 30},
                    {"code": "97530", "minutes": 15}])
    cq = line_of(result, "97110", "CQ")
    assert cq.modifiers == ["GP", "CQ"]
    assert money(cq) == (D("32.00"), D("47.38"), D("31.57"), D("9.48"), D("6.33"))
    assert "cut by $5.69 (15%), after MPPR and before sequestration" in \
        steps(cq, "pricing.assistant")[0]
    assert steps(cq, "pricing.sequestration")[0].startswith("sequestration takes $0.64 (2%)")
    # 97530 furnished by the PT: no CQ, no cut; 30.58 paid as in test_2025_visit_with_mppr
    assert money(line_of(result, "97530")) == (D("39.00"), D("39.00"), D("30.58"), D("7.80"),
                                               D("0.62"))


def test_cq_and_non_cq_units_of_one_code_tie_and_the_full_unit_goes_without_cq() -> None:
    # 97110, 36 minutes: PTA 23 alone, PT 13 → 2 units, one CQ and one not (rules doc §5 example).
    # Same code, same PE and full amount: the full unit goes to the line without CQ (the rules
    # document's suggested default; CMS is silent).
    #   no CQ: 32.00; 80% = 25.60, patient 6.40; 2% = 0.512 → 0.51; paid 25.09
    #   CQ: 23.69; 80% = 18.952 → 18.95, patient 4.74; 15% × 18.95 = 2.8425 → 2.84; 16.11;
    #       2% × 16.11 = 0.3222 → 0.32; paid 15.79; reductions 3.16
    result = check([{"code": "97110", "minutes": 36, "assistant_minutes": 23}])
    plain = next(ln for ln in result.lines if "CQ" not in ln.modifiers)
    assert money(plain) == (D("32.00"), D("32.00"), D("25.09"), D("6.40"), D("0.51"))
    assert money(line_of(result, "97110", "CQ")) == (D("32.00"), D("23.69"), D("15.79"),
                                                     D("4.74"), D("3.16"))


# --- patient share ------------------------------------------------------------------------------


def test_partial_deductible_spans_two_lines() -> None:
    # $30 of deductible left. 97110 (PE 0.43) outranks 97140 (PE 0.40): 97110 full 32.00.
    #   97140 reduced: 0.43 × 1.042 + 0.40 × 1.194 × 50% + 0.01 × 0.690
    #   = 0.44806 + 0.23880 + 0.00690 = 0.69376 × 32.3465 = 22.440708 → 22.44
    # Deductible is taken in line order. 97140 first: all 22.44 to the deductible (7.56 left);
    #   Medicare pays 0.00, nothing to sequester.
    # 97110: 7.56 to the deductible, 32.00 − 7.56 = 24.44; 80% = 19.552 → 19.55, coinsurance 4.89
    #   sequestration 2% × 19.55 = 0.391 → 0.39; paid 19.16; patient 7.56 + 4.89 = 12.45
    result = check([{"code": "97140", "minutes": 15}, {"code": "97110", "minutes": 15}],
                   deductible_remaining="30")
    first, second = line_of(result, "97140"), line_of(result, "97110")
    assert money(first) == (D("30.17"), D("22.44"), D("0.00"), D("22.44"), D("0.00"))
    assert money(second) == (D("32.00"), D("32.00"), D("19.16"), D("12.45"), D("0.39"))
    assert steps(first, "pricing.deductible") == ["$22.44 goes to the patient's deductible first"]
    assert steps(second, "pricing.deductible") == ["$7.56 goes to the patient's deductible first"]
    assert steps(first, "pricing.sequestration") == [
        "sequestration (2%) of Medicare's payment of $0.00 comes to $0.00"]
    assert result.totals.patient_owes == D("34.89")  # 22.44 + 12.45


def test_charge_below_the_fee_is_the_allowed_amount() -> None:
    # fee 32.00 a unit; charge 20.00 → allowed 20.00; 80% = 16.00, patient 4.00;
    # 2% × 16.00 = 0.32; paid 15.68
    line = line_of(check([{"code": "97110", "minutes": 15, "charge": "20.00"}]), "97110")
    assert money(line) == (D("32.00"), D("20.00"), D("15.68"), D("4.00"), D("0.32"))
    assert steps(line, "pricing.charge") == [
        "allowed $20.00: the charge is lower than the fee schedule amount $32.00"]


# --- GPCI floor ---------------------------------------------------------------------------------


def test_2018_alabama_work_gpci_floor() -> None:
    # GPCI2018 prints Alabama (10102-00) work 0.979, PE 0.890, MP 0.492; the Bipartisan Budget
    # Act of 2018 restored the 1.0 floor retroactively. RVU18A 97110: 0.45 / 0.40 / 0.02.
    #   floored:   0.45 × 1.0   + 0.40 × 0.890 + 0.02 × 0.492 = 0.45000 + 0.35600 + 0.00984
    #              = 0.81584 × 35.9996 = 29.369914 → 29.37
    #   (as printed: 0.44055 + 0.35600 + 0.00984 = 0.80639 × 35.9996 = 29.029717 → 29.03)
    result = check([{"code": "97110", "minutes": 15}], date_of_service="2018-06-01",
                   locality="10102-00")
    line = line_of(result, "97110")
    assert (line.fee_schedule_amount, line.allowed) == (D("29.37"), D("29.37"))
    note = "work GPCI 0.979 raised to the 1.0 floor"
    assert any(n.startswith(note) for n in result.data.notes)
    explained = steps(line, "pricing.fee_schedule")[0]
    assert explained.startswith("(0.45 × 1.0 + 0.40 × 0.890 + 0.02 × 0.492) × 35.9996 = $29.37")
    assert note in explained


# --- settings ------------------------------------------------------------------------------------


def test_institutional_claim_uses_non_facility_pe() -> None:
    # Hospital outpatient, institutional claim, LA 2025.
    # 92520 (RVU25A work 0.75, PE non-facility 1.93, facility 0.42, MP 0.03; MPPR indicator 0):
    #   0.75 × 1.042 + 1.93 × 1.194 + 0.03 × 0.690 = 0.78150 + 2.30442 + 0.02070 = 3.10662
    #   × 32.3465 = 100.488284 → 100.49 (facility PE would give 1.30368 × 32.3465 → 42.17)
    #   outside the therapy MPPR: paid in full.
    # 97110 × 2: the only MPPR line, 32.00 + 23.69 = 55.69 (institutional PE share 50%).
    result = check([{"code": "97110", "minutes": 30}, {"code": "92520", "discipline": "SLP"}],
                   claim_type="institutional", provider_type="hospital_outpatient")
    assert money(line_of(result, "92520"))[:2] == (D("100.49"), D("100.49"))
    assert money(line_of(result, "97110"))[:2] == (D("32.00"), D("55.69"))
    assert "outside the therapy MPPR" in steps(line_of(result, "92520"), "pricing.mppr")[0]


def _with_parameter(name: str, value: str) -> ReferenceData:
    """The default reference data with one parameter replaced by a single dated value."""
    base = default_reference()
    old = base.parameters[name]
    start = date(2011, 1, 1)
    entry = ParameterEntry(value=D(value), source=f"test value for {name}")
    changed = Parameter.of(name, old.description, old.unit, (start,), (entry,))
    return dataclasses.replace(
        base, parameters=Parameters({**base.parameters.by_name, name: changed}))


def test_institutional_claims_take_the_institutional_mppr_share() -> None:
    # Since 2013-04-01 both shares are 50%, so give the institutional one a distinct value (the
    # pre-2013 0.75) to see which one a claim reads. 97110 × 2, LA 2025, institutional:
    #   reduced 0.46890 + 0.51342 × 0.75 + 0.00690 = 0.860865 × 32.3465 = 27.845970 → 27.85
    #   allowed 32.00 + 27.85 = 59.85; a professional claim still gets 32.00 + 23.69 = 55.69
    reference = _with_parameter("therapy_mppr_pe_paid_institutional", "0.75")
    lines = [{"code": "97110", "minutes": 30}]
    institutional = therabill.check({"visit_id": "i", "date_of_service": "2025-06-02",
                                     "locality": LA, "claim_type": "institutional",
                                     "provider_type": "rehab_agency", "lines": lines},
                                    reference=reference)
    professional = therabill.check({"visit_id": "p", "date_of_service": "2025-06-02",
                                    "locality": LA, "lines": lines}, reference=reference)
    assert line_of(institutional, "97110").allowed == D("59.85")
    assert "test value for therapy_mppr_pe_paid_institutional" in \
        institutional.data.parameters["mppr_pe_paid"]
    assert line_of(professional, "97110").allowed == D("55.69")


def test_critical_access_hospital_is_not_priced() -> None:
    result = check([{"code": "97110", "minutes": 15}], claim_type="institutional",
                   provider_type="cah")
    line = line_of(result, "97110")
    assert line.status == "payable" and line.units == 1
    assert money(line) == (None,) * 5
    assert [f.rule for f in result.findings if f.rule.startswith("pricing")] == [
        "pricing.not_priced"]
    assert result.totals.allowed is None and result.totals.payer_paid is None


def test_carrier_priced_code_is_not_priced() -> None:
    # 97039 has status C in RVU25A (all RVUs 0.00): the MAC prices it.
    result = check([{"code": "97039", "minutes": 15}])
    line = line_of(result, "97039")
    assert line.status == "payable"
    assert money(line) == (None,) * 5
    assert "carrier-priced (status C)" in steps(line, "pricing.not_priced")[0]
    assert "pricing.not_priced" in [f.rule for f in result.findings]
    assert result.totals.allowed is None


# --- KX threshold and targeted review -----------------------------------------------------------


def test_kx_threshold_crossing_line_without_kx_is_denied() -> None:
    # 2025 KX threshold 2410 for PT+SLP. Already counted this year: 2386.31.
    # 97530 takes the full unit (39.00); 97110 is reduced (23.69). Accrued in line order:
    #   97110: 2386.31 + 23.69 = 2410.00 — at the threshold, not over it: paid without KX
    #   97530: 2410.00 + 39.00 = 2449.00 > 2410 → needs KX; without it, denied
    result = check([{"code": "97110", "minutes": 15}, {"code": "97530", "minutes": 15}],
                   ytd_threshold_amount={"pt_slp": "2386.31"})
    assert line_of(result, "97110").status == "payable"
    assert line_of(result, "97110").allowed == D("23.69")
    crossing = line_of(result, "97530")
    assert crossing.status == "denied"
    assert money(crossing)[1:] == (D("0.00"),) * 4
    kx = [f for f in result.findings if f.rule == "threshold.kx"]
    assert [(f.severity, f.codes) for f in kx] == [("error", ("97530",))]
    assert "reaches $2,449.00" in kx[0].message and "$2,410.00" in kx[0].message
    assert result.totals.allowed == D("23.69")


def test_kx_threshold_crossing_line_with_kx_is_paid() -> None:
    result = check([{"code": "97110", "minutes": 15},
                    {"code": "97530", "minutes": 15, "modifiers": ["KX"]}],
                   ytd_threshold_amount={"pt_slp": "2386.31"})
    crossing = line_of(result, "97530")
    assert crossing.status == "payable"
    assert money(crossing) == (D("39.00"), D("39.00"), D("30.58"), D("7.80"), D("0.62"))
    assert "KX attests" in steps(crossing, "threshold.kx")[0]
    assert "threshold.kx" not in errors(result)


def test_ot_accrues_separately_from_pt_and_slp() -> None:
    # PT+SLP at 2400.00, OT at 0. 97110 (PT, PE 0.43) outranks 97140 (OT, PE 0.40): the MPPR runs
    # across disciplines. 97110: 2400.00 + 32.00 = 2432.00 > 2410 → denied without KX.
    # 97140 (OT): 0 + 22.44 → far below; paid.
    result = check([{"code": "97110", "minutes": 15},
                    {"code": "97140", "minutes": 15, "discipline": "OT"}],
                   ytd_threshold_amount={"pt_slp": "2400", "ot": "0"})
    assert line_of(result, "97110").status == "denied"
    ot = line_of(result, "97140")
    assert (ot.status, ot.modifiers, ot.allowed) == ("payable", ["GO"], D("22.44"))
    # the same OT line when OT is the group near its threshold: 2400.00 + 22.44 = 2422.44 > 2410
    result = check([{"code": "97110", "minutes": 15, "modifiers": ["KX"]},
                    {"code": "97140", "minutes": 15, "discipline": "OT"}],
                   ytd_threshold_amount={"pt_slp": "2400", "ot": "2400"})
    assert line_of(result, "97110").status == "payable"
    assert line_of(result, "97140").status == "denied"
    assert "OT spending reaches $2,422.44" in kx_message(result)


def test_slp_accrues_with_pt() -> None:
    # 92507 SLP, LA 2025: 1.30 × 1.042 + 0.99 × 1.194 + 0.03 × 0.690 = 1.35460 + 1.18206 + 0.02070
    #   = 2.55736 × 32.3465 = 82.721645 → 82.72; PT+SLP at 2400.00 → 2482.72 > 2410: denied
    result = check([{"code": "92507", "discipline": "SLP"}], discipline="SLP",
                   ytd_threshold_amount={"pt_slp": "2400", "ot": "2400"})
    assert line_of(result, "92507").status == "denied"
    assert "PT and SLP combined spending reaches $2,482.72" in kx_message(result)


def test_crossing_3000_is_a_review_warning() -> None:
    # 97110 × 2 = 55.69; 2990.00 + 55.69 = 3045.69 passes the $3,000 targeted review amount.
    result = check([{"code": "97110", "minutes": 30, "modifiers": ["KX"]}],
                   ytd_threshold_amount={"pt_slp": "2990"})
    line = line_of(result, "97110")
    assert (line.status, line.allowed) == ("payable", D("55.69"))
    review = [f for f in result.findings if f.rule == "threshold.review"]
    assert [(f.severity, f.codes) for f in review] == [("warning", ("97110",))]
    assert "threshold.review" in {s.rule for s in line.steps}
    # already past it before the visit: no new warning
    result = check([{"code": "97110", "minutes": 30, "modifiers": ["KX"]}],
                   ytd_threshold_amount={"pt_slp": "3000.01"})
    assert "threshold.review" not in {f.rule for f in result.findings}


def test_a_denied_line_does_not_cross_the_review_amount() -> None:
    # Without KX the line is denied: it adds nothing to the year, so it crosses nothing.
    result = check([{"code": "97110", "minutes": 30}], ytd_threshold_amount={"pt_slp": "2990"})
    assert line_of(result, "97110").status == "denied"
    assert "threshold.review" not in {f.rule for f in result.findings}


# --- commercial payers ----------------------------------------------------------------------------


EXPLAINED = {"pricing.mppr", "pricing.coinsurance"}


def _explained(line: ClaimLine) -> None:
    rules = {s.rule for s in line.steps}
    assert rules >= EXPLAINED, rules
    assert rules & {"pricing.fee_schedule", "pricing.payer"}, rules


def test_commercial_percent_of_medicare() -> None:
    # commercial-cpt: 110% of Medicare, no MPPR, no sequestration, coinsurance 20%.
    #   97110: 110% × 32.00 = 35.20 a unit; 2 units (CPT per-code count of 30 min) = 70.40
    #          80% = 56.32, patient 14.08, no reductions
    #   97530: 110% × 39.00 = 42.90; 80% = 34.32, patient 8.58
    result = check([{"code": "97110", "minutes": 30}, {"code": "97530", "minutes": 15}],
                   payer="commercial-cpt")
    first, second = line_of(result, "97110"), line_of(result, "97530")
    assert money(first) == (D("35.20"), D("70.40"), D("56.32"), D("14.08"), D("0.00"))
    assert money(second) == (D("42.90"), D("42.90"), D("34.32"), D("8.58"), D("0.00"))
    for line in (first, second):
        _explained(line)
        assert not steps(line, "pricing.sequestration")
        assert not steps(line, "pricing.not_priced")
    assert steps(first, "pricing.mppr")[0].endswith(
        "makes no multiple procedure reduction: 2 unit(s) × $35.20 = $70.40")
    assert "pays 110% of Medicare's amount: $35.20 a unit" in steps(first, "pricing.payer")[0]


def test_commercial_fee_table_with_mppr() -> None:
    # commercial-mppr fee table: 97110 31.50, 97530 36.00; MPPR as Medicare's share of PE.
    #   97530 (higher PE) full: 36.00; 80% = 28.80, patient 7.20
    #   97110 reduced: 31.50 × 23.69 / 32.00 = 23.3184375 → 23.32; 2 units = 46.64
    #          80% = 37.312 → 37.31, patient 9.33; no sequestration
    result = check([{"code": "97110", "minutes": 30}, {"code": "97530", "minutes": 15}],
                   payer="commercial-mppr")
    first, second = line_of(result, "97110"), line_of(result, "97530")
    assert money(first) == (D("31.50"), D("46.64"), D("37.31"), D("9.33"), D("0.00"))
    assert money(second) == (D("36.00"), D("36.00"), D("28.80"), D("7.20"), D("0.00"))
    for line in (first, second):
        _explained(line)
        assert not steps(line, "pricing.sequestration")
    assert steps(first, "pricing.mppr")[0].startswith("2 unit(s) at $23.32")


def test_medicare_lines_have_the_same_explanations() -> None:
    result = check([{"code": "97110", "minutes": 30}, {"code": "97530", "minutes": 15}])
    for line in result.lines:
        _explained(line)
        assert steps(line, "pricing.sequestration")


def test_fee_table_code_without_rvus_is_priced_without_a_not_priced_note() -> None:
    # No RVU release for 2027: the plan's table still prices 97110 (2 × 31.50, no MPPR share to
    # borrow from Medicare), and the line must not also say it was not priced.
    result = check([{"code": "97110", "minutes": 30}], payer="commercial-mppr",
                   date_of_service="2027-03-01", locality="national")
    line = line_of(result, "97110")
    assert line.allowed == D("63.00")
    assert not steps(line, "pricing.not_priced")


# --- the CLI explanation --------------------------------------------------------------------------


def test_cli_explain_prints_the_arithmetic(tmp_path: Path) -> None:
    visit = {"visit_id": "cli", "date_of_service": "2025-03-03", "locality": LA,
             "lines": [{"code": "97110", "minutes": 30}, {"code": "97530", "minutes": 15}]}
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(visit), encoding="utf-8")
    outcome = CliRunner().invoke(app, ["check", str(path), "--format", "table",
                                       "--explain", "97110"])
    assert outcome.exit_code == 0, outcome.output
    flat = re.sub(r"[\s│╭╮╰╯─]+", "", outcome.output)  # independent of the terminal width
    for text in ("(0.45×1.042+0.43×1.194+0.01×0.690)×32.3465=$32.00aunit",
                 "2unit(s)at$23.69",
                 "Medicarepays80%of$47.38=$37.90;thepatientowes$9.48coinsurance",
                 "sequestrationtakes$0.76(2%)",
                 "allowed$47.38=payer$37.14+patient$9.48+reductions$0.76"):
        assert text in flat, text
