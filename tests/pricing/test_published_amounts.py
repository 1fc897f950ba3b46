"""The engine's Medicare fees equal CMS's published 2025 carrier payment amounts, to the cent.

Every row of the CMS carrier payment extracts (PFAL25A, PFAK25A, PFCA252, PFNY25R) is checked
through the public API, ``therabill.check``, on a one-line Medicare visit: the line's
``fee_schedule_amount`` must equal CMS's non-facility fee. Codes with the therapy MPPR indicator
(5) are also billed as two units, which must be allowed at CMS's full amount plus CMS's
MPPR-reduced amount. Nothing is skipped silently: a code the engine refuses is listed below
with the reason, and the test fails if the list and the engine disagree.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import therabill
from therabill.model import CheckResult, ClaimLine
from therabill.pricing.fee_schedule import Gpcis, unit_price
from therabill.reference.importers.carrier_payment import (
    CarrierPayment,
    read_carrier_payment_file,
)
from therabill.reference.store import default_reference

DAY = date(2025, 3, 3)
DOS = DAY.isoformat()

# File → the localities its rows carry (MAC-locality as in the CMS GPCI file).
FILES = {
    "PFAL25A": ("10112-00",),  # Alabama
    "PFAK25A": ("02102-01",),  # Alaska
    "PFCA252": ("01182-17", "01182-18"),  # Oxnard-Thousand Oaks-Ventura, Los Angeles
    "PFNY25R": ("13282-99",),  # Rest of New York
}
PRICED_STATUSES = ("A", "R", "T")

# Codes in the extracts that the engine does not price, each with the reason and the decision
# the engine gives for it. Keep this in step with the engine: the test fails on any difference.
REFUSED: dict[str, tuple[str, str]] = {}

# Codes billed with the MPPR indicator 5 whose second unit cannot be reached by a two-unit visit,
# with the reason; their reduced amount is checked through the pricing function instead
# (test_every_published_reduced_amount).
NO_TWO_UNIT_VISIT: dict[str, str] = {
    "92607": "timed primary for the first hour of a device evaluation: one unit a day, further "
             "time is the add-on 92608; the only code with a higher PE RVU (92523) is also an "
             "SLP evaluation, and only one evaluation a day is billable",
}


def _rows(cms_dir: Path) -> list[CarrierPayment]:
    folder = cms_dir / "pfs_carrier_payment" / "2025_a"
    rows: list[CarrierPayment] = []
    for stem, localities in FILES.items():
        paths = sorted(folder.glob(f"{stem}*.TXT"))
        assert len(paths) == 1, f"expected one {stem} extract in {folder}, found {paths}"
        found = read_carrier_payment_file(paths[0])
        assert {row.locality_id for row in found} == set(localities), stem
        rows.extend(found)
    return rows


@pytest.fixture(scope="module")
def rows(cms_dir: Path) -> list[CarrierPayment]:
    found = _rows(cms_dir)
    assert len(found) == 309  # 41 + 67 + 134 + 67 rows in the four extracts
    assert all(row.year == 2025 and row.modifier == "" for row in found)
    return found


def _visit(row: CarrierPayment, units: int = 1) -> dict[str, Any]:
    info = default_reference().catalogue.get(row.code)
    discipline = info.disciplines[0] if info is not None else "PT"
    line: dict[str, Any] = {"code": row.code, "discipline": discipline,
                            "performed_by": "therapist"}
    if info is not None and info.time.basis not in ("untimed", "per_item"):
        line["minutes"] = units * (info.time.unit_minutes or 15)
    return {"visit_id": f"{row.locality_id}-{row.code}", "date_of_service": DOS,
            "payer": "medicare", "locality": row.locality_id, "discipline": discipline,
            "lines": [line]}


def _only_line(result: CheckResult) -> ClaimLine:
    assert len(result.lines) == 1, [(ln.code, ln.units, ln.modifiers) for ln in result.lines]
    return result.lines[0]


def _timed(code: str) -> bool:
    info = default_reference().catalogue.get(code)
    return info is not None and info.time.basis not in ("untimed", "per_item")


def test_every_published_fee(rows: list[CarrierPayment]) -> None:
    wrong: list[str] = []
    refused: dict[str, set[str]] = {}
    checked = 0
    for row in rows:
        result = therabill.check(_visit(row))
        line = _only_line(result)
        if row.code in REFUSED or row.status not in PRICED_STATUSES:
            rules = {f.rule for f in result.findings if f.severity == "error"}
            refused.setdefault(row.code, set()).update(rules)
            assert line.fee_schedule_amount is None, (row.code, row.locality_id)
            assert line.status != "payable" or line.allowed is None, (row.code, line.status)
            continue
        checked += 1
        if line.status != "payable" or line.units != 1:
            wrong.append(f"{row.locality_id} {row.code}: {line.status} × {line.units}, "
                         f"{[f.message for f in result.findings if f.severity == 'error']}")
            continue
        if (line.fee_schedule_amount, line.allowed) != (row.nonfacility_fee,) * 2:
            wrong.append(f"{row.locality_id} {row.code}: engine {line.fee_schedule_amount} / "
                         f"allowed {line.allowed}, CMS {row.nonfacility_fee}")
        assert any(s.rule == "pricing.fee_schedule" for s in line.steps), row.code
    assert not wrong, "\n".join(wrong)
    # Every refusal is the documented one, for the documented reason.
    assert set(refused) == set(REFUSED), refused
    for code, rules in refused.items():
        assert REFUSED[code][0] in rules, (code, rules)
    assert checked == sum(1 for row in rows if row.code not in REFUSED)


def test_two_units_are_full_plus_published_mppr(rows: list[CarrierPayment]) -> None:
    wrong: list[str] = []
    checked = 0
    for row in rows:
        if row.mult_proc != "5" or row.code in REFUSED or not _timed(row.code):
            continue
        if row.code in NO_TWO_UNIT_VISIT:
            continue
        line = _only_line(therabill.check(_visit(row, units=2)))
        checked += 1
        expected = row.nonfacility_fee + row.nonfacility_mppr
        if (line.units, line.allowed) != (2, expected):
            wrong.append(f"{row.locality_id} {row.code}: {line.units} units allowed "
                         f"{line.allowed}, CMS {row.nonfacility_fee} + {row.nonfacility_mppr}")
        mppr = [s.message for s in line.steps if s.rule == "pricing.mppr"]
        assert mppr and f"${row.nonfacility_mppr}" in mppr[0], (row.code, mppr)
    assert not wrong, "\n".join(wrong)
    # 21 timed MPPR codes (92607 set aside) in each CA/AK/NY locality, 20 in Alabama's extract
    assert checked == 4 * 21 + 20
    seen = {row.code for row in rows if row.mult_proc == "5" and _timed(row.code)}
    assert set(NO_TWO_UNIT_VISIT) <= seen  # the exceptions are real rows, not stale entries


def test_every_published_reduced_amount(rows: list[CarrierPayment]) -> None:
    """CMS's MPPR-reduced amount of every row, untimed codes and 92607 included, from the
    pricing function with the dated PE share (50% from 2013-04-01); 0.00 where CMS prints none."""
    reference = default_reference()
    day = DAY
    cf = reference.parameters.at("conversion_factor", day)
    share = reference.parameters.at("therapy_mppr_pe_paid_professional", day)
    assert cf is not None and share is not None
    wrong = []
    for row in rows:
        rvu = reference.rvu_record(row.code, day)
        gpci = reference.gpci_record(row.locality_id, day)
        if rvu is None:
            assert row.code in REFUSED
            continue
        assert gpci is not None
        price = unit_price(rvu, Gpcis(max(gpci.work, Decimal(1)), gpci.pe, gpci.mp, ""),
                           cf.value, share.value)
        assert price.full == row.nonfacility_fee, (row.locality_id, row.code)
        expected = price.reduced if row.mult_proc == "5" else Decimal("0.00")
        if expected != row.nonfacility_mppr:
            wrong.append(f"{row.locality_id} {row.code}: {expected} vs {row.nonfacility_mppr}")
    assert not wrong, wrong


def _published(rows: list[CarrierPayment], locality: str) -> dict[str, CarrierPayment]:
    return {row.code: row for row in rows if row.locality_id == locality}


@pytest.mark.parametrize("order", list(itertools.permutations(("97110", "97140", "97530"))))
def test_three_codes_in_los_angeles(rows: list[CarrierPayment], order: tuple[str, ...]) -> None:
    """97530 has the highest PE RVU (0.62, against 0.43 and 0.40): its first unit is paid in
    full and every other unit of the visit at CMS's reduced amount, whatever the input order."""
    cms = _published(rows, "01182-18")
    result = therabill.check({
        "visit_id": "la", "date_of_service": DOS, "locality": "01182-18",
        "lines": [{"code": code, "minutes": 30} for code in order]})
    allowed = {ln.code: ln.allowed for ln in result.lines}
    assert [ln.units for ln in result.lines] == [2, 2, 2]
    assert allowed == {
        "97530": cms["97530"].nonfacility_fee + cms["97530"].nonfacility_mppr,  # 39.00 + 27.03
        "97110": 2 * cms["97110"].nonfacility_mppr,  # 2 × 23.69
        "97140": 2 * cms["97140"].nonfacility_mppr,  # 2 × 22.44
    }
    assert result.totals.allowed == Decimal("66.03") + Decimal("47.38") + Decimal("44.88")


@pytest.mark.parametrize("reverse", [False, True])
def test_tie_on_pe_goes_to_the_higher_full_amount(rows: list[CarrierPayment],
                                                   reverse: bool) -> None:
    """92522 (SLP) and 97533 (OT) both carry PE RVU 1.38 in 2025; 92522's full amount is higher
    ($119.35 against $69.70 in Los Angeles), so 92522 is paid in full and 97533 reduced."""
    cms = _published(rows, "01182-18")
    lines = [{"code": "97533", "minutes": 15, "discipline": "OT"},
             {"code": "92522", "discipline": "SLP"}]
    result = therabill.check({"visit_id": "tie", "date_of_service": DOS,
                              "locality": "01182-18",
                              "lines": lines[::-1] if reverse else lines})
    allowed = {ln.code: ln.allowed for ln in result.lines}
    assert allowed == {"92522": cms["92522"].nonfacility_fee,
                       "97533": cms["97533"].nonfacility_mppr}
    assert allowed == {"92522": Decimal("119.35"), "97533": Decimal("43.05")}
    reference = default_reference()
    pe = {code: reference.rvu_record(code, DAY).pe_nonfacility for code in allowed}
    assert pe["92522"] == pe["97533"] == Decimal("1.38")
