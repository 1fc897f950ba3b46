"""NCCI MUE importer, run on the real CMS sample and the 2024 therapy extract."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.mue import read_mue_file
from therabill.reference.records import MueRecord, MueRelease

SAMPLE = ("mue_practitioner/2026q3_format_sample/"
          "MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv")
EXTRACT = ("mue_practitioner/2024_northstar_extract/"
           "MCR_MUE_PractitionerServices_Eff_07-01-2024_therapy_rows.csv")
OFFICIAL_NAME = "MCR_MUE_PractitionerServices_Eff_01-01-2025.csv"

# The official layout: a notice record and a header whose quoted cells hold line breaks.
PREAMBLE = (
    '"CPT codes and descriptions only are copyright American Medical Association.\n\n'
    'All rights reserved.",,,\r\n'
    '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,'
    'MUE Rationale\r\n'
)
GOOD = "97110,6,3 Date of Service Edit: Clinical,Clinical: Data\r\n"


@pytest.fixture(scope="module")
def extract(cms_dir: Path) -> MueRelease:
    return read_mue_file(cms_dir / EXTRACT)


@pytest.fixture(scope="module")
def sample(cms_dir: Path) -> MueRelease:
    return read_mue_file(cms_dir / SAMPLE)


def write(path: Path, *records: str) -> Path:
    path.write_bytes((PREAMBLE + "".join(records)).encode("latin-1"))
    return path


def test_extract(extract: MueRelease) -> None:
    assert extract.release_id == "MUE-2024-07-01"
    assert extract.effective_from == date(2024, 7, 1)
    assert len(extract.records) == extract.source.rows == 204
    assert extract.source.sha256 == (
        "038c8235edf1175b055419a3afa27a12204369ffe32f2f719bc8b6daea4d96b8")
    assert "third party" in extract.caveat
    records = extract.records
    assert records["97110"] == MueRecord("97110", 6, 3, "Clinical: Data")
    assert records["97161"] == MueRecord("97161", 1, 2, "CMS Policy")
    assert records["92507"] == MueRecord("92507", 1, 3, "Nature of Service/Procedure")
    assert {code: records[code].value for code in ("97112", "97124", "97140", "97530")} == {
        "97112": 4, "97124": 4, "97140": 6, "97530": 6}
    # PROVENANCE: no practitioner MUE is published for these codes.
    assert "64550" not in records and "G0151" not in records
    assert {r.mai for r in records.values()} == {2, 3}


def test_official_sample(sample: MueRelease) -> None:
    assert sample.release_id == "MUE-2026-07-01"
    assert sample.effective_from == date(2026, 7, 1)
    assert len(sample.records) == sample.source.rows == 44
    assert sample.caveat == ""
    assert sample.records["0001U"] == MueRecord("0001U", 1, 2, "Code Descriptor / CPT Instruction")
    assert sample.records["0009U"] == MueRecord("0009U", 2, 3, "Nature of Analyte")
    assert sample.records["0022U"].rationale == "Clinical: CMS Workgroup"
    codes = list(sample.records)
    assert (codes[0], codes[-1]) == ("0001U", "0041U")


def test_official_layout_written(tmp_path: Path) -> None:
    path = write(tmp_path / OFFICIAL_NAME, GOOD, "G0283,1,1 Line Edit,CMS Policy\r\n", "\r\n")
    release = read_mue_file(path)
    assert release.release_id == "MUE-2025-01-01"
    assert release.records["G0283"] == MueRecord("G0283", 1, 1, "CMS Policy")
    assert release.records["97110"].value == 6


@pytest.mark.parametrize(
    ("bad", "column", "problem"),
    [
        ("97112,4,4 Date of Service Edit: Clinical,Clinical: Data\r\n",
         "MUE Adjudication Indicator", "1, 2 or 3"),
        ("97112,4,2 Date of Service Edit: Clinical,Clinical: Data\r\n",
         "MUE Adjudication Indicator", "should read"),
        ("97112,-1,3 Date of Service Edit: Clinical,Clinical: Data\r\n",
         "Practitioner Services MUE Values", "whole number"),
        ("97112,4\r\n", "MUE Adjudication Indicator", "2 of 4 columns"),
        ("9711,4,3 Date of Service Edit: Clinical,Clinical: Data\r\n",
         "HCPCS/CPT Code", "HCPCS/CPT code"),
        ("97112,4,3 Date of Service Edit: Clinical,\r\n", "MUE Rationale", "empty rationale"),
        ("97110,4,3 Date of Service Edit: Clinical,Clinical: Data\r\n",
         "HCPCS/CPT Code", "listed twice"),
    ],
)
def test_official_record_errors(tmp_path: Path, bad: str, column: str, problem: str) -> None:
    path = write(tmp_path / OFFICIAL_NAME, GOOD, bad)
    with pytest.raises(DataFileError, match=problem) as caught:
        read_mue_file(path)
    # Notice (3 lines) + header (2 lines) + one good record: the bad one is on line 7.
    assert (caught.value.line, caught.value.column) == (7, column)


def test_extract_error(tmp_path: Path) -> None:
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2024_therapy_rows.csv"
    path.write_text("code,mue_value,mai,rationale\n"
                    "97110,6,3,Clinical: Data\n97112,x,3,CMS Policy\n")
    with pytest.raises(DataFileError, match="whole number") as caught:
        read_mue_file(path)
    assert (caught.value.line, caught.value.column) == (3, "mue_value")


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="MCR_MUE_PractitionerServices_Eff_07-01-2026"):
        read_mue_file(write(tmp_path / "mue.csv", GOOD))
    with pytest.raises(DataFileError, match="file name"):
        read_mue_file(write(tmp_path / "MCR_MUE_PractitionerServices_Eff_13-01-2025.csv", GOOD))
    no_header = tmp_path / OFFICIAL_NAME
    no_header.write_text(GOOD)
    with pytest.raises(DataFileError, match="header"):
        read_mue_file(no_header)
    with pytest.raises(DataFileError, match="expected at least 5"):
        read_mue_file(write(tmp_path / OFFICIAL_NAME, GOOD), min_rows=5)
