"""Locality-to-county crosswalk importer on every CMS LOCCO file (2017-2026), and broken copies."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.gpci import read_gpci_file
from therabill.reference.importers.locality import read_locality_file
from therabill.reference.records import LocalityCrosswalk

CSV_FILES = {
    "2017/17LOCCO.csv": 112, "2018/18LOCCO.csv": 112, "2019/19LOCCO.csv": 112,
    "2020/20LOCCO.csv": 112, "2021/21LOCCO.csv": 112, "2022/22LOCCO.csv": 112,
    "2023/23LOCCO.csv": 112, "2024/24LOCCO.csv": 109, "2025/25LOCCO.csv": 109,
    "2026/26LOCCO.csv": 109,
}
TXT_FILE = "2025/25LOCCO.txt"
GPCI_FILES = {
    2017: "2017/CY2017_GPCIs.csv", 2018: "2018/GPCI2018.csv", 2019: "2019/GPCI2019.csv",
    2020: "2020/GPCI2020.csv", 2021: "2021/GPCI2021.csv", 2022: "2022/GPCI2022.csv",
    2023: "2023/GPCI2023.csv", 2024: "2024/GPCI2024.csv", 2025: "2025/GPCI2025.csv",
    2026: "2026/GPCI2026.csv",
}
LOS_ANGELES = "01182-18"  # spelt differently in the 2025 CSV and TXT


@pytest.fixture(scope="module")
def crosswalks(cms_dir: Path) -> dict[str, LocalityCrosswalk]:
    return {name: read_locality_file(cms_dir / "locality_county" / name) for name in CSV_FILES}


def test_every_locality_file_is_covered(cms_dir: Path) -> None:
    folder = cms_dir / "locality_county"
    on_disk = {str(path.relative_to(folder)) for path in folder.glob("*/*") if path.is_file()}
    assert on_disk == {*CSV_FILES, TXT_FILE}


@pytest.mark.parametrize("name", CSV_FILES)
def test_crosswalk_shape(name: str, crosswalks: dict[str, LocalityCrosswalk],
                         cms_dir: Path) -> None:
    crosswalk = crosswalks[name]
    year = 2000 + int(Path(name).name[:2])
    assert (crosswalk.release_id, crosswalk.year) == (f"LOCCO{year}", year)
    assert crosswalk.source.rows == len(crosswalk.rows) == CSV_FILES[name]
    ids = [row.locality_id for row in crosswalk.rows]
    assert len(set(ids)) == len(ids)
    for row in crosswalk.rows:
        assert len(row.mac) == 5 and len(row.locality) == 2
        assert row.state and row.state == row.state.strip().upper()
        assert row.fee_schedule_area and not row.fee_schedule_area.endswith("*")
        assert row.counties
    # the same localities as that year's GPCI file
    gpci = read_gpci_file(cms_dir / "gpci" / GPCI_FILES[year])
    assert set(ids) == set(gpci.records)


def test_year_comes_from_the_file_name(crosswalks: dict[str, LocalityCrosswalk]) -> None:
    for name, title_year in (("2018/18LOCCO.csv", 2017), ("2020/20LOCCO.csv", 2019),
                             ("2022/22LOCCO.csv", 2021)):
        assert f"title says {title_year}" in crosswalks[name].source.note
    assert crosswalks["2025/25LOCCO.csv"].source.note == ""
    # 18LOCCO is a byte copy of 17LOCCO: same rows, different release
    assert crosswalks["2018/18LOCCO.csv"].rows == crosswalks["2017/17LOCCO.csv"].rows
    assert crosswalks["2018/18LOCCO.csv"].release_id == "LOCCO2018"


def test_2025_facts(crosswalks: dict[str, LocalityCrosswalk]) -> None:
    rows = {row.locality_id: row for row in crosswalks["2025/25LOCCO.csv"].rows}
    alaska = rows["02102-01"]  # printed 2102,1
    assert (alaska.state, alaska.fee_schedule_area, alaska.counties) == (
        "ALASKA", "STATEWIDE", "ALL COUNTIES")
    assert rows["06102-12"].state == "ILLINOIS"  # blank State cell continues the state above
    assert rows["13202-03"].state == "NEW YORK"  # State cell holds a single blank
    assert rows["05302-01"].counties == "JEFFERSON, ST. CHARLES, ST. LOUIS AND ST. LOUIS CITY"
    assert rows["01112-75"].fee_schedule_area == "REST OF STATE"  # footnote star dropped
    assert rows[LOS_ANGELES].state == "CALIFORNIA"
    # Missouri's rest of state is printed twice; kept once
    assert [row.locality_id for row in crosswalks["2025/25LOCCO.csv"].rows].count("05302-99") == 1


def test_txt_twin_without_california_keeps_the_rows(
        cms_dir: Path, crosswalks: dict[str, LocalityCrosswalk]) -> None:
    from_txt = read_locality_file(cms_dir / "locality_county" / TXT_FILE)
    assert "state not printed for the block starting on line 13" in from_txt.source.note
    by_id = {row.locality_id: row for row in from_txt.rows}
    assert by_id[LOS_ANGELES].state == ""
    assert by_id["10112-00"].state == "ALABAMA"
    assert [r.locality_id for r in from_txt.rows] == [
        r.locality_id for r in crosswalks["2025/25LOCCO.csv"].rows]


def test_txt_layout_matches_the_csv(cms_dir: Path, tmp_path: Path,
                                    crosswalks: dict[str, LocalityCrosswalk]) -> None:
    lines = (cms_dir / "locality_county" / TXT_FILE).read_text(encoding="latin-1").splitlines()
    lines[12] = lines[12][:22] + "CALIFORNIA".ljust(23) + lines[12][45:]  # the missing state
    path = tmp_path / "25LOCCO.txt"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="latin-1", newline="")
    from_txt = read_locality_file(path)
    from_csv = crosswalks["2025/25LOCCO.csv"]
    assert from_txt.release_id == "LOCCO2025" and "58 characters" in from_txt.source.note
    assert len(from_txt.rows) == len(from_csv.rows)
    for txt_row, csv_row in zip(from_txt.rows, from_csv.rows, strict=True):
        assert (txt_row.locality_id, txt_row.state) == (csv_row.locality_id, csv_row.state)
        if txt_row.locality_id == LOS_ANGELES:
            continue
        assert txt_row.fee_schedule_area.replace("CONTRA COSTA", "CONTR COSTA CNTY") == (
            csv_row.fee_schedule_area)
        assert len(txt_row.counties) <= 58
        assert csv_row.counties.startswith(txt_row.counties)


# --- broken copies -----------------------------------------------------------------------------

def _rows(cms_dir: Path) -> list[list[str]]:
    text = (cms_dir / "locality_county" / "2025" / "25LOCCO.csv").read_text(encoding="latin-1")
    return list(csv.reader(io.StringIO(text, newline="")))


def _write(tmp_path: Path, rows: list[list[str]], name: str = "25LOCCO.csv") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="latin-1", newline="")
    return path


def test_wrapped_counties_are_joined(cms_dir: Path, tmp_path: Path) -> None:
    rows = _rows(cms_dir)
    at = next(i for i, row in enumerate(rows) if row[3] == "EAST ST. LOUIS")
    counties = rows[at][4]
    cut = counties.index(" MONTGOMERY")
    rows[at][4] = counties[:cut]
    rows.insert(at + 1, ["", "", "", "", counties[cut:]])
    crosswalk = read_locality_file(_write(tmp_path, rows))
    east_st_louis = next(row for row in crosswalk.rows if row.locality_id == "06102-12")
    assert east_st_louis.counties == counties


def test_truncated_file_is_a_count_error(cms_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="locality rows, expected between 80 and 130"):
        read_locality_file(_write(tmp_path, _rows(cms_dir)[:60]))


def test_missing_column_is_named(cms_dir: Path, tmp_path: Path) -> None:
    rows = [row[:4] for row in _rows(cms_dir)]  # no Counties column
    with pytest.raises(DataFileError) as caught:
        read_locality_file(_write(tmp_path, rows))
    assert (caught.value.line, caught.value.column) == (3, "Counties")
    rows = [row[1:] for row in _rows(cms_dir)]  # no MAC column
    with pytest.raises(DataFileError) as caught:
        read_locality_file(_write(tmp_path, rows))
    assert (caught.value.line, caught.value.column) == (3, "MAC")
    with pytest.raises(DataFileError, match="not a locality crosswalk"):
        read_locality_file(_write(tmp_path, [row[:1] + row[2:] for row in _rows(cms_dir)]))
    rows = [row[:2] + row[3:] for row in _rows(cms_dir)]  # no State column
    with pytest.raises(DataFileError) as caught:
        read_locality_file(_write(tmp_path, rows))
    assert (caught.value.line, caught.value.column) == (3, "State")


def test_bad_numbers_and_missing_state(cms_dir: Path, tmp_path: Path) -> None:
    rows = _rows(cms_dir)
    rows[6][0] = "21O2"  # line 7, Alaska's MAC
    with pytest.raises(DataFileError, match="not a number") as caught:
        read_locality_file(_write(tmp_path, rows))
    assert (caught.value.line, caught.value.column) == (7, "MAC")
    rows = _rows(cms_dir)
    rows[6][2] = ""  # Alaska's block without its state: kept, blank, and said
    crosswalk = read_locality_file(_write(tmp_path, rows))
    assert "line 7" in crosswalk.source.note
    assert {r.locality_id: r.state for r in crosswalk.rows}["02102-01"] == ""


def test_year_must_be_in_the_file_name(cms_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file name"):
        read_locality_file(_write(tmp_path, _rows(cms_dir), name="localities.csv"))
