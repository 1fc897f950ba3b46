"""PPRRVU importer on every national RVU file in the CMS folder, and on broken copies of them."""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.rvu import read_rvu_file
from therabill.reference.records import RvuRecord, RvuRelease

# folder/file -> (release id, records, CF column, RELEASED line); rows = data rows without the
# DOS end-of-file row that closes the 2017-2025 CSVs.
FILES: dict[str, tuple[str, int, str, str]] = {
    "2017_jan/PPRRVU17_V1219.csv": ("RVU17A", 16_478, "35.8887", "RELEASED 11/14/2016"),
    "2018_jan/PPRRVU18_JAN.csv": ("RVU18A", 16_638, "35.9996", "RELEASED 12/18/2017"),
    "2019_jan/PPRRVU19_V1213.csv": ("RVU19A", 16_959, "36.0391", "RELEASED 12/13/2018"),
    "2020_jan/PPRRVU20_Jan.csv": ("RVU20A", 17_236, "36.0896", "RELEASED 11/08/2019"),
    "2021_jan/PPRRVU21_JAN.csv": ("RVU21A", 17_327, "34.8931", "RELEASED 12/29/2020"),
    "2022_jan/PPRRVU22_JAN.csv": ("RVU22A", 17_600, "34.6062", "RELEASED 12/15/2021"),
    "2023_jan/PPRRVU23_JAN.csv": ("RVU23A", 18_010, "33.8872", "RELEASED 01/30/2023"),
    "2024_jan/PPRRVU24_JAN.csv": ("RVU24A", 18_499, "32.7442", "RELEASED 12/14/2023"),
    "2024_jul/PPRRVU24_JUL.csv": ("RVU24C", 18_664, "33.2875", "RELEASED 05/03/2024"),
    "2025_jan/PPRRVU25_JAN.csv": ("RVU25A", 18_865, "32.3465", "RELEASED 12/23/2024"),
    "2025_oct/PPRRVU2025_Oct.csv": ("RVU25D", 19_090, "32.3465", "RELEASED 09/11/2025"),
    "2025_oct/PPRRVU2025_Oct.txt": ("RVU25D", 19_090, "32.3465", ""),
    "2026_jan/PPRRVU2026_Jan_nonQPP_therapy_extract.csv": (
        "RVU26A", 102, "33.4009", "RELEASED 12/29/2025"),
}
EXTRACT = "2026_jan/PPRRVU2026_Jan_nonQPP_therapy_extract.csv"
JAN_2025 = "2025_jan/PPRRVU25_JAN.csv"

# 97124 work / PE / MP by release (PROVENANCE.md section 1); facility PE = non-facility PE.
RVUS_97124 = {
    "RVU17A": ("0.35", "0.38", "0.01"), "RVU18A": ("0.35", "0.51", "0.01"),
    "RVU19A": ("0.35", "0.45", "0.01"), "RVU20A": ("0.35", "0.47", "0.01"),
    "RVU21A": ("0.35", "0.49", "0.01"), "RVU22A": ("0.35", "0.52", "0.01"),
    "RVU23A": ("0.35", "0.54", "0.01"), "RVU24A": ("0.35", "0.55", "0.01"),
    "RVU24C": ("0.35", "0.55", "0.01"), "RVU25A": ("0.35", "0.56", "0.01"),
    "RVU25D": ("0.35", "0.56", "0.01"), "RVU26A": ("0.35", "0.53", "0.01"),
}


@pytest.fixture(scope="module")
def releases(cms_dir: Path) -> dict[str, RvuRelease]:
    """Every file read once for the whole module (the full files take ~0.2 s each)."""
    return {name: read_rvu_file(cms_dir / "pprrvu" / name, min_rows=1 if name == EXTRACT
                                else 10_000) for name in FILES}


def test_every_rvu_file_is_covered(cms_dir: Path) -> None:
    on_disk = {str(path.relative_to(cms_dir / "pprrvu"))
               for path in (cms_dir / "pprrvu").glob("*/*") if path.is_file()}
    assert on_disk == set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_release_identity(name: str, releases: dict[str, RvuRelease], cms_dir: Path) -> None:
    release_id, rows, factor, released = FILES[name]
    release = releases[name]
    assert release.release_id == release_id
    assert release.released == released
    assert release.source.rows == len(release.records) == rows
    assert release.source.file_name == Path(name).name
    assert len(release.source.sha256) == 64
    assert {record.conversion_factor for record in release.records.values()} == {
        Decimal(factor)}
    month = {"A": 1, "B": 4, "C": 7, "D": 10}[release_id[-1]]
    assert release.effective_from == date(2000 + int(release_id[3:5]), month, 1)
    if not name.endswith(".txt"):
        assert "National Physician Fee Schedule Relative Value File" in release.title


@pytest.mark.parametrize("name", FILES)
def test_97124_rvus_by_release(name: str, releases: dict[str, RvuRelease]) -> None:
    release = releases[name]
    record = release.records[("97124", "")]
    work, pe, mp = (Decimal(value) for value in RVUS_97124[release.release_id])
    assert (record.work, record.pe_nonfacility, record.pe_facility, record.mp) == (
        work, pe, pe, mp)
    assert (record.status, record.pctc, record.mult_proc, record.global_days) == (
        "A", "7", "5", "XXX")


def test_rvu25a_facts(releases: dict[str, RvuRelease]) -> None:
    records = releases[JAN_2025].records
    record = records[("97124", "")]
    assert str(record.work) == "0.35" and str(record.pe_nonfacility) == "0.56"
    assert str(record.mp) == "0.01" and record.not_used_for_medicare is False
    bundled = records[("97010", "")]  # status B: bundled, never paid separately
    assert bundled.status == "B" and bundled.not_used_for_medicare is True
    assert records[("0552T", "")].status == "C"
    # professional / technical component rows are keyed by their modifier
    assert records[("70100", "26")].work == Decimal("0.18")
    assert records[("70100", "TC")].work == Decimal("0.00")
    assert ("70100", "") in records


def test_2018_97124_pe(releases: dict[str, RvuRelease]) -> None:
    assert releases["2018_jan/PPRRVU18_JAN.csv"].records[("97124", "")].pe_nonfacility == Decimal(
        "0.51")


def test_2017_lost_leading_zeros_are_restored(releases: dict[str, RvuRelease]) -> None:
    records = releases["2017_jan/PPRRVU17_V1219.csv"].records
    assert records[("00100", "")].status == "J"  # printed "100" in that CSV
    assert records[("10060", "")].global_days == "010"  # printed "10"
    assert records[("11000", "")].global_days == "000"  # printed "0"
    assert str(records[("11000", "")].work) == "0.60"  # printed "0.6"
    assert all(len(code) == 5 for code, _ in records)


def test_2026_layout_has_pricing_indicator(releases: dict[str, RvuRelease]) -> None:
    release = releases[EXTRACT]
    assert release.records[("97124", "")].conversion_factor == Decimal("33.4009")
    assert {record.pricing_indicator for record in release.records.values()} == {"9"}
    assert release.records[("97010", "")].status == "B"
    assert all(record.pricing_indicator == "" for record in releases[JAN_2025].records.values())


def test_2026_extract_is_rejected_as_a_full_file(cms_dir: Path) -> None:
    with pytest.raises(DataFileError, match="102 RVU rows"):
        read_rvu_file(cms_dir / "pprrvu" / EXTRACT)


def test_csv_and_txt_twins_give_identical_records(releases: dict[str, RvuRelease]) -> None:
    from_csv = releases["2025_oct/PPRRVU2025_Oct.csv"]
    from_txt = releases["2025_oct/PPRRVU2025_Oct.txt"]
    assert list(from_csv.records.items()) == list(from_txt.records.items())
    assert (from_txt.release_id, from_txt.effective_from) == (
        from_csv.release_id, from_csv.effective_from)
    assert "file name" in from_txt.source.note


def test_no_descriptor_text_is_kept(releases: dict[str, RvuRelease]) -> None:
    assert "description" not in {field.name for field in fields(RvuRecord)}
    for release in releases.values():
        texts: set[str] = set()
        for r in release.records.values():
            texts.update((r.code, r.modifier, r.status, r.pctc, r.global_days, r.mult_proc,
                          r.pricing_indicator))
        assert max(map(len, texts)) == 5  # codes; nothing longer, so no descriptor text


# --- broken copies -----------------------------------------------------------------------------

def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="latin-1"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="latin-1", newline="")
    return path


@pytest.fixture(scope="module")
def jan_rows(cms_dir: Path) -> list[list[str]]:
    return _rows(cms_dir / "pprrvu" / JAN_2025)


def _copy_head(jan_rows: list[list[str]], lines: int) -> list[list[str]]:
    return [list(row) for row in jan_rows[:lines]]


def test_truncated_file_is_a_row_count_error(jan_rows: list[list[str]], tmp_path: Path) -> None:
    path = _write(tmp_path / "PPRRVU25_JAN.csv", _copy_head(jan_rows, 510))
    with pytest.raises(DataFileError, match="500 RVU rows") as caught:
        read_rvu_file(path)
    assert caught.value.line is None


def test_missing_column_is_named(jan_rows: list[list[str]], tmp_path: Path) -> None:
    mp = 10  # the MP RVU column of the 31-column layout
    rows = [row[:mp] + row[mp + 1:] for row in _copy_head(jan_rows, 40)]
    with pytest.raises(DataFileError) as caught:
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows), min_rows=1)
    assert (caught.value.line, caught.value.column) == (10, "MP RVU")


def test_non_numeric_rvu_names_line_and_column(jan_rows: list[list[str]], tmp_path: Path) -> None:
    rows = _copy_head(jan_rows, 40)
    rows[24][5] = "abc"  # line 25, WORK RVU
    with pytest.raises(DataFileError, match="'abc' is not a number") as caught:
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows))
    assert (caught.value.line, caught.value.column) == (25, "WORK RVU")


@pytest.mark.parametrize(("column", "value", "name", "message"), [
    (6, "1000.01", "NON-FAC PE RVU", "outside 0..1000"),
    (6, "-0.10", "NON-FAC PE RVU", "outside 0..1000"),
    (0, "97-24", "HCPCS", "not a 5-character HCPCS code"),
    (3, "AB", "STATUS CODE", "not a one-letter status code"),
    (13, "77", "PCTC IND", "not a one-digit indicator"),
    (24, "33.0000", "CONV FACTOR", "differs from '32.3465'"),
    (4, "*", "NOT USED FOR MEDICARE PAYMENT", "or blank"),
])
def test_bad_cell_is_located(jan_rows: list[list[str]], tmp_path: Path, column: int, value: str,
                             name: str, message: str) -> None:
    rows = _copy_head(jan_rows, 40)
    rows[29][column] = value  # line 30
    with pytest.raises(DataFileError, match=message) as caught:
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows), min_rows=1)
    assert (caught.value.line, caught.value.column) == (30, name)


def test_short_row_and_duplicate_row(jan_rows: list[list[str]], tmp_path: Path) -> None:
    rows = _copy_head(jan_rows, 40)
    rows[19] = rows[19][:-1]
    with pytest.raises(DataFileError, match="30 fields, expected 31") as caught:
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows), min_rows=1)
    assert caught.value.line == 20
    rows = _copy_head(jan_rows, 40)
    rows[35] = list(rows[34])
    with pytest.raises(DataFileError, match="second row") as caught:
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows), min_rows=1)
    assert caught.value.line == 36


def test_file_without_title_or_header(jan_rows: list[list[str]], tmp_path: Path) -> None:
    rows = _copy_head(jan_rows, 40)
    with pytest.raises(DataFileError, match="no release title"):
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows[1:]), min_rows=1)
    with pytest.raises(DataFileError, match="HCPCS,MOD"):
        read_rvu_file(_write(tmp_path / "PPRRVU25_JAN.csv", rows[:9] + rows[10:]), min_rows=1)


def test_broken_txt_lines_are_located(cms_dir: Path, tmp_path: Path) -> None:
    source = cms_dir / "pprrvu" / "2025_oct" / "PPRRVU2025_Oct.txt"
    lines = source.read_text(encoding="latin-1").splitlines()[:60]
    work = slice(59, 65)  # WORK RVU in the fixed-width layout
    broken = list(lines)
    broken[19] = broken[19][:work.start] + "  x.yz" + broken[19][work.stop:]
    path = tmp_path / source.name
    path.write_text("\r\n".join(broken) + "\r\n", encoding="latin-1", newline="")
    with pytest.raises(DataFileError, match="not a number") as caught:
        read_rvu_file(path, min_rows=1)
    assert (caught.value.line, caught.value.column) == (20, "WORK RVU")
    broken = list(lines)
    broken[30] = broken[30][:150]
    path.write_text("\r\n".join(broken) + "\r\n", encoding="latin-1", newline="")
    with pytest.raises(DataFileError, match="150 characters, expected 171") as caught:
        read_rvu_file(path, min_rows=1)
    assert caught.value.line == 31
    unnamed = tmp_path / "rvu.txt"
    unnamed.write_text("\r\n".join(lines) + "\r\n", encoding="latin-1", newline="")
    with pytest.raises(DataFileError, match="file name"):
        read_rvu_file(unnamed, min_rows=1)
