"""Carrier payment importer on every CMS payment file here, cross-checked against RVUs and GPCIs."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from therabill.reference.importers.carrier_payment import (
    CarrierPayment,
    read_carrier_payment_file,
)
from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.gpci import read_gpci_file
from therabill.reference.importers.rvu import read_rvu_file
from therabill.reference.records import GpciRecord, RvuRecord

# file -> (rows, locality ids in file order)
FILES: dict[str, tuple[int, tuple[str, ...]]] = {
    "pfs_carrier_payment/2025_a/PFAK25A_therapy_extract.TXT": (67, ("02102-01",)),
    "pfs_carrier_payment/2025_a/PFAL25A_therapy_extract.TXT": (41, ("10112-00",)),
    "pfs_carrier_payment/2025_a/PFCA252_therapy_extract.TXT": (134, ("01182-17", "01182-18")),
    "pfs_carrier_payment/2025_a/PFNY25R_therapy_extract.TXT": (67, ("13282-99",)),
    "pfrev/2025_c/PFREV25C.txt": (109, ()),
}
THERAPY = [name for name in FILES if name.startswith("pfs_carrier_payment")]
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def payments(cms_dir: Path) -> dict[str, list[CarrierPayment]]:
    return {name: read_carrier_payment_file(cms_dir / name) for name in FILES}


def test_every_payment_file_is_covered(cms_dir: Path) -> None:
    on_disk = {str(path.relative_to(cms_dir)) for folder in ("pfs_carrier_payment", "pfrev")
               for path in (cms_dir / folder).glob("*/*") if path.is_file()}
    assert on_disk == set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_file_shape(name: str, payments: dict[str, list[CarrierPayment]]) -> None:
    rows, localities = FILES[name]
    assert len(payments[name]) == rows
    assert {payment.year for payment in payments[name]} == {2025}
    if localities:
        assert tuple(dict.fromkeys(p.locality_id for p in payments[name])) == localities


def test_published_fees(payments: dict[str, list[CarrierPayment]]) -> None:
    fees = {(p.locality_id, p.code): p for name in THERAPY for p in payments[name]}
    for locality_id, fee_97124, fee_97140 in (("02102-01", "36.75", "35.04"),
                                         ("01182-17", "33.26", "29.79"),
                                         ("01182-18", "33.65", "30.17"),
                                         ("13282-99", "28.75", "26.42"),
                                         ("10112-00", "27.25", "25.34")):
        assert fees[(locality_id, "97124")].nonfacility_fee == Decimal(fee_97124)
        assert fees[(locality_id, "97140")].nonfacility_fee == Decimal(fee_97140)
    for code, fee, reduced in (("97110", "26.83", "20.79"), ("97530", "31.85", "23.13"),
                               ("97161", "91.32", "70.94")):
        payment = fees[("10112-00", code)]
        assert (payment.nonfacility_fee, payment.nonfacility_mppr) == (Decimal(fee),
                                                                       Decimal(reduced))
        assert (payment.pctc, payment.status, payment.mult_proc, payment.modifier) == (
            "7", "A", "5", "")


def test_revision_file_covers_every_2025_locality(
        payments: dict[str, list[CarrierPayment]], cms_dir: Path) -> None:
    revision = payments["pfrev/2025_c/PFREV25C.txt"]
    assert {payment.code for payment in revision} == {"76145"}
    gpci = read_gpci_file(cms_dir / "gpci" / "2025" / "GPCI2025.csv")
    assert [payment.locality_id for payment in revision] == sorted(gpci.records)


def _fee(rvu: RvuRecord, gpci: GpciRecord, pe: Decimal) -> Decimal:
    total = rvu.work * gpci.work + pe * gpci.pe + rvu.mp * gpci.mp
    return (total * rvu.conversion_factor).quantize(CENT, rounding=ROUND_HALF_UP)


def test_fees_follow_from_rvus_and_gpcis(payments: dict[str, list[CarrierPayment]],
                                         cms_dir: Path) -> None:
    """Every therapy row = round((W*wGPCI + PE*peGPCI + MP*mpGPCI) * CF), PE halved for the MPPR."""
    rvus = read_rvu_file(cms_dir / "pprrvu" / "2025_jan" / "PPRRVU25_JAN.csv").records
    gpcis = read_gpci_file(cms_dir / "gpci" / "2025" / "GPCI2025.csv").records
    checked = 0
    for name in THERAPY:
        for payment in payments[name]:
            rvu, gpci = rvus[(payment.code, payment.modifier)], gpcis[payment.locality_id]
            assert (payment.pctc, payment.status, payment.mult_proc) == (
                rvu.pctc, rvu.status, rvu.mult_proc)
            assert payment.nonfacility_fee == _fee(rvu, gpci, rvu.pe_nonfacility)
            assert payment.facility_fee == _fee(rvu, gpci, rvu.pe_facility)
            if payment.mult_proc == "5":
                assert payment.nonfacility_mppr == _fee(rvu, gpci, rvu.pe_nonfacility / 2)
                assert payment.facility_mppr == _fee(rvu, gpci, rvu.pe_facility / 2)
            else:
                assert payment.nonfacility_mppr == payment.facility_mppr == 0
            checked += 1
    assert checked == 67 + 41 + 134 + 67


# --- broken copies -----------------------------------------------------------------------------

def _broken(cms_dir: Path, tmp_path: Path, line: int, old: str, new: str) -> Path:
    name = "pfs_carrier_payment/2025_a/PFAL25A_therapy_extract.TXT"
    lines = (cms_dir / name).read_text(encoding="latin-1").splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / "PFAL25A.TXT"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="latin-1", newline="")
    return path


@pytest.mark.parametrize(("old", "new", "column", "message"), [
    ('"0000013.33"', '"00000I3.33"', "non-facility fee", "not a number"),
    ('"97012"', '"9701"', "HCPCS", "not a 5-character HCPCS code"),
    ('"10112"', '"1O112"', "carrier", "not a number of at most 5 digits"),
    ('"2025"', '"25"', "year", "not a year"),
    (',"A",', ',"AB",', "status", "not a status code"),
])
def test_bad_field_is_located(cms_dir: Path, tmp_path: Path, old: str, new: str, column: str,
                              message: str) -> None:
    with pytest.raises(DataFileError, match=message) as caught:
        read_carrier_payment_file(_broken(cms_dir, tmp_path, 1, old, new))
    assert (caught.value.line, caught.value.column) == (1, column)


def test_field_count_and_empty_file(cms_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="15 fields, expected 16") as caught:
        read_carrier_payment_file(_broken(cms_dir, tmp_path, 3, '"9",', ""))
    assert caught.value.line == 3
    empty = tmp_path / "PFXX25A.TXT"
    empty.write_text('"TRL- NOTICE ONLY"\r\n', encoding="latin-1", newline="")
    with pytest.raises(DataFileError, match="no payment rows"):
        read_carrier_payment_file(empty)
