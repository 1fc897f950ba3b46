"""NCCI PTP importer, run on the real CMS sample and the two 2024 therapy extracts."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from datetime import date
from pathlib import Path

import pytest

from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.ptp import merge_ptp_parts, read_ptp_file, therapy_filter
from therabill.reference.records import PtpEdit, PtpRelease

EXTRACT_DIR = "ncci_ptp_practitioner/2024_northstar_extract"
APRIL = "ccipra_v301r0_eff_2024-04-01_therapy_rows.csv"
JULY = "ccipra_v302r0_eff_2024-07-01_therapy_rows.csv"
SAMPLE = "ncci_ptp_practitioner/2026q3_format_sample/ccipra-v322r0-f1.format_sample.txt"

# Title lines shaped like the CMS text file: notice, table name, column titles over four lines.
TITLE_LINES = (
    "CPT only copyright 2024 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
)
GOOD_ROW = "97140\t97124\t\t20000101\t*\t0\tStandards of medical/surgical practice"


@pytest.fixture(scope="module")
def april(cms_dir: Path) -> PtpRelease:
    return read_ptp_file(cms_dir / EXTRACT_DIR / APRIL)


@pytest.fixture(scope="module")
def july(cms_dir: Path) -> PtpRelease:
    return read_ptp_file(cms_dir / EXTRACT_DIR / JULY)


@pytest.fixture(scope="module")
def sample(cms_dir: Path) -> PtpRelease:
    return read_ptp_file(cms_dir / SAMPLE)


def pair(release: PtpRelease, column_1: str, column_2: str) -> list[PtpEdit]:
    return [e for e in release.edits if e.column_1 == column_1 and e.column_2 == column_2]


def write_official(path: Path, rows: list[str], titles: tuple[str, ...] = TITLE_LINES) -> Path:
    path.write_bytes("".join(line + "\r\n" for line in (*titles, *rows)).encode("latin-1"))
    return path


# --- the 2024 extracts ------------------------------------------------------------------------

def test_extract_releases(april: PtpRelease, july: PtpRelease) -> None:
    assert (april.release_id, april.effective_from) == ("PTP-v301r0", date(2024, 4, 1))
    assert (july.release_id, july.effective_from) == ("PTP-v302r0", date(2024, 7, 1))
    assert len(april.edits) == april.source.rows == 66_519
    assert len(july.edits) == july.source.rows == 66_531
    assert july.source.file_name == JULY
    assert july.source.sha256 == (
        "0753d755f2b42eb4c476e424f4a9bd32bfb0dfef3f197b2c7c05519bcee52d09")
    assert april.source.sha256 == (
        "922ee61515286ffc739b43a6ba1640a270b377a1a875128022627fc3933e0c50")
    for release in (april, july):
        assert "third party" in release.caveat
        assert "effective dates" in release.caveat
        assert all(edit.effective is None for edit in release.edits)
    # Active rows as counted in PROVENANCE; April keeps CMS's prior-1996 flag, July dropped it.
    assert sum(e.deletion is None for e in april.edits) == 37_688
    assert sum(e.deletion is None for e in july.edits) == 37_700
    assert sum(e.prior_1996 for e in april.edits) == 7
    assert not any(e.prior_1996 for e in july.edits)


@pytest.mark.parametrize("name", ["april", "july"])
def test_extract_therapy_pairs(name: str, request: pytest.FixtureRequest) -> None:
    release: PtpRelease = request.getfixturevalue(name)
    (massage,) = pair(release, "97140", "97124")
    assert (massage.deletion, massage.modifier_indicator) == (None, 0)
    assert massage.rationale == "Standards of medical/surgical practice"
    assert massage.in_force_on(date(2024, 5, 1))

    (therapeutic,) = pair(release, "97140", "97530")
    assert (therapeutic.deletion, therapeutic.modifier_indicator) == (date(2019, 12, 31), 1)
    assert therapeutic.rationale == "Mutually exclusive procedures"
    assert not therapeutic.in_force_on(date(2024, 5, 1))
    assert therapeutic.in_force_on(date(2019, 12, 31))
    assert pair(release, "97530", "97140") == []

    group = pair(release, "97150", "97110")
    assert sorted((e.deletion or date.max, e.modifier_indicator) for e in group) == [
        (date(2019, 12, 31), 1), (date.max, 1)]
    assert any(e.deletion is None and e.modifier_indicator == 1 for e in group)

    evaluation = pair(release, "97161", "97140")
    assert sorted((e.deletion, e.modifier_indicator) for e in evaluation) == [
        (date(2020, 1, 1), 9), (date(2020, 10, 1), 9)]
    assert not any(e.in_force_on(date(2024, 5, 1)) for e in evaluation)


def test_therapy_filter(july: PtpRelease) -> None:
    codes = frozenset({"97110", "97124", "97140", "97150", "97530"})
    kept = therapy_filter(july.edits, codes)
    assert kept and all(e.column_1 in codes and e.column_2 in codes for e in kept)
    assert len(pair(july, "97140", "97124")) == 1
    assert {(e.column_1, e.column_2) for e in kept} >= {
        ("97140", "97124"), ("97140", "97530"), ("97150", "97110"), ("97150", "97530")}
    assert len(kept) == sum(1 for e in july.edits
                            if e.column_1 in codes and e.column_2 in codes)
    assert therapy_filter(july.edits, frozenset()) == ()


# --- the official layout ----------------------------------------------------------------------

def test_official_sample(sample: PtpRelease) -> None:
    assert sample.release_id == "PTP-v322r0"
    assert sample.effective_from == date(2026, 7, 1)
    assert len(sample.edits) == sample.source.rows == 13
    assert sample.caveat == ""
    (active,) = pair(sample, "0001U", "0030U")
    assert (active.effective, active.deletion) == (date(2018, 7, 1), None)
    assert active.modifier_indicator == 1
    assert active.in_force_on(date(2026, 7, 1))
    (retro,) = pair(sample, "0001A", "90473")
    assert retro.modifier_indicator == 9
    assert retro.effective == retro.deletion == date(2022, 1, 1)
    assert not retro.in_force_on(date(2022, 1, 1))
    assert not any(edit.prior_1996 for edit in sample.edits)


def test_official_parts_round_trip(cms_dir: Path, tmp_path: Path) -> None:
    """Extract rows written in the CMS text layout, split in two parts, read back and merged."""
    with (cms_dir / EXTRACT_DIR / APRIL).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected: list[PtpEdit] = []
    lines: list[str] = []
    for row in rows:
        # Made-up start dates, never after the deletion date (the earliest is 1996-01-01).
        deletion = row["deletion_date"]
        effective = "19960101" if deletion != "*" else "20240101"
        lines.append("\t".join((row["column_1"], row["column_2"], row["prior_1996_flag"],
                                effective, deletion, row["modifier_indicator"],
                                row["ptp_edit_rationale"])))
        expected.append(PtpEdit(
            row["column_1"], row["column_2"], row["prior_1996_flag"] == "*",
            date(int(effective[:4]), int(effective[4:6]), int(effective[6:])),
            None if deletion == "*" else date(int(deletion[:4]), int(deletion[4:6]),
                                              int(deletion[6:])),
            int(row["modifier_indicator"]), row["ptp_edit_rationale"]))
    half = len(lines) // 2
    part_1 = write_official(tmp_path / "ccipra-v310r0-f1.txt", lines[:half])
    part_2 = write_official(tmp_path / "ccipra-v310r0-f2.txt", [*lines[half:], "", ""])

    first, second = read_ptp_file(part_1), read_ptp_file(part_2)
    assert first.source.note.endswith("part f1") and second.source.rows == len(lines) - half
    merged = merge_ptp_parts([second, first])  # given out of order on purpose
    assert merged.release_id == "PTP-v310r0"
    assert merged.effective_from == date(2025, 1, 1)
    assert merged.caveat == ""
    assert merged.edits == tuple(expected)
    assert merged.source.rows == len(rows) == 66_519
    assert merged.source.file_name == "ccipra-v310r0-f1.txt, ccipra-v310r0-f2.txt"
    assert merged.source.sha256 == hashlib.sha256(
        (first.source.sha256 + second.source.sha256).encode()).hexdigest()
    assert merge_ptp_parts([first, second]) == merged
    # Effective dates are known now, so an edit is not in force before it started.
    massage = next(e for e in merged.edits if (e.column_1, e.column_2) == ("97140", "97124"))
    assert not massage.in_force_on(date(2023, 12, 31))
    assert massage.in_force_on(date(2024, 1, 1))


def test_merge_rejects_mixed_or_incomplete_parts(tmp_path: Path, sample: PtpRelease) -> None:
    part_1 = read_ptp_file(write_official(tmp_path / "ccipra-v310r0-f1.txt", [GOOD_ROW]))
    part_3 = read_ptp_file(write_official(tmp_path / "ccipra-v310r0-f3.txt",
                                          [GOOD_ROW.replace("97124", "97110")]))
    with pytest.raises(DataFileError, match="only parts of one version"):
        merge_ptp_parts([part_1, sample])
    with pytest.raises(DataFileError, match="a part missing"):
        merge_ptp_parts([part_1, part_3])
    with pytest.raises(DataFileError, match="given twice"):
        merge_ptp_parts([part_1, dataclasses.replace(part_1)])
    copy = write_official(tmp_path / "ccipra-v310r0-f2.txt", [GOOD_ROW])  # f1 under another name
    with pytest.raises(DataFileError, match="given twice"):
        merge_ptp_parts([part_1, read_ptp_file(copy)])
    with pytest.raises(ValueError, match="no PTP parts"):
        merge_ptp_parts([])


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("bad_row", "column", "problem"),
    [
        ("97140\t97124\t\t20000101\t*\t2\tStandards of medical/surgical practice",
         "Modifier", "modifier indicator"),
        ("97140\t97124\t\t20001301\t*\t0\tStandards of medical/surgical practice",
         "Effective Date", "YYYYMMDD"),
        ("97140\t97124\t\t20000101\t2000010\t0\tStandards of medical/surgical practice",
         "Deletion Date", "YYYYMMDD"),
        ("97140\t97124\t\t20000101", "Deletion Date", "4 of 7 columns"),
        ("97140\t9712\t\t20000101\t*\t0\tStandards of medical/surgical practice",
         "Column 2", "HCPCS/CPT code"),
        ("97140\t97124\t\t20000101\t19991231\t1\tStandards of medical/surgical practice",
         "Deletion Date", "before the effective"),
        ("97140\t97124\tX\t20000101\t*\t1\tStandards of medical/surgical practice",
         "*=in existence prior to 1996", "'*' or empty"),
        ("97140\t97124\t\t*\t*\t1\tStandards of medical/surgical practice",
         "Effective Date", "not an effective date"),
        ("97140\t97124\t\t20000101\t*\t1\t ", "PTP Edit Rationale", "empty rationale"),
    ],
)
def test_official_row_errors(tmp_path: Path, bad_row: str, column: str, problem: str) -> None:
    path = write_official(tmp_path / "ccipra-v310r0-f1.txt", [GOOD_ROW, GOOD_ROW, bad_row])
    with pytest.raises(DataFileError, match=problem) as caught:
        read_ptp_file(path)
    assert caught.value.line == len(TITLE_LINES) + 3
    assert caught.value.column == column
    assert "line 9" in str(caught.value) and path.name in str(caught.value)


def test_bad_first_row_is_reported_not_skipped(tmp_path: Path) -> None:
    path = write_official(tmp_path / "ccipra-v310r0-f1.txt", ["9714\t97124\t\t20000101\t*\t0\tx"])
    with pytest.raises(DataFileError) as caught:
        read_ptp_file(path)
    assert (caught.value.line, caught.value.column) == (7, "Column 1")


def test_extract_row_error(tmp_path: Path) -> None:
    path = tmp_path / JULY
    path.write_text("column_1,column_2,prior_1996_flag,effective_date,deletion_date,"
                    "modifier_indicator,ptp_edit_rationale\n"
                    "97140,97124,,,*,0,Standards of medical/surgical practice\n"
                    "97140,97530,,,20191231,7,Mutually exclusive procedures\n")
    with pytest.raises(DataFileError, match="modifier indicator") as caught:
        read_ptp_file(path)
    assert (caught.value.line, caught.value.column) == (3, "modifier_indicator")


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="ccipra-v322r0-f1"):
        read_ptp_file(write_official(tmp_path / "ptp_edits.txt", [GOOD_ROW]))
    with pytest.raises(DataFileError, match="quarter digit"):
        read_ptp_file(write_official(tmp_path / "ccipra-v304r0-f1.txt", [GOOD_ROW]))
    with pytest.raises(DataFileError, match="effective 2024-07-01"):
        read_ptp_file(write_official(tmp_path / "ccipra_v302r0_eff_2024-04-01.txt", [GOOD_ROW]))
    with pytest.raises(DataFileError, match="Column 1 / Column 2"):
        read_ptp_file(write_official(tmp_path / "ccipra-v310r0-f1.txt", [GOOD_ROW], titles=()))
    with pytest.raises(DataFileError, match="no edit rows"):
        read_ptp_file(write_official(tmp_path / "ccipra-v310r0-f2.txt", []))
    with pytest.raises(DataFileError, match="expected at least 2"):
        read_ptp_file(write_official(tmp_path / "ccipra-v310r0-f3.txt", [GOOD_ROW]), min_rows=2)
