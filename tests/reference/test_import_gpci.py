"""GPCI importer on every GPCI file in the CMS folder (2017-2026, CSV and TXT) and broken copies."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.gpci import read_gpci_file
from therabill.reference.records import GpciRelease

# file -> (release id, localities, has a State column)
FILES: dict[str, tuple[str, int, bool]] = {
    "2017/CY2017_GPCIs.csv": ("GPCI2017", 112, False),
    "2018/GPCI2018.csv": ("GPCI2018", 112, False),
    "2019/GPCI2019.csv": ("GPCI2019", 112, False),
    "2020/GPCI2020.csv": ("GPCI2020", 112, False),
    "2021/GPCI2021.csv": ("GPCI2021", 112, True),
    "2022/GPCI2022.csv": ("GPCI2022", 112, True),
    "2023/GPCI2023.csv": ("GPCI2023", 112, True),
    "2024/GPCI2024.csv": ("GPCI2024", 109, True),
    "2024/GPCI2024.txt": ("GPCI2024", 109, True),
    "2025/GPCI2025.csv": ("GPCI2025", 109, True),
    "2025/GPCI2025.txt": ("GPCI2025", 109, True),
    "2026/GPCI2026.csv": ("GPCI2026", 109, True),
}


def _g(work: str, pe: str, mp: str) -> tuple[Decimal, Decimal, Decimal]:
    return Decimal(work), Decimal(pe), Decimal(mp)


@pytest.fixture(scope="module")
def releases(cms_dir: Path) -> dict[str, GpciRelease]:
    return {name: read_gpci_file(cms_dir / "gpci" / name) for name in FILES}


def test_every_gpci_file_is_covered(cms_dir: Path) -> None:
    on_disk = {str(path.relative_to(cms_dir / "gpci"))
               for path in (cms_dir / "gpci").glob("*/*") if path.is_file()}
    assert on_disk == set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_release_shape(name: str, releases: dict[str, GpciRelease]) -> None:
    release_id, count, has_state = FILES[name]
    release = releases[name]
    assert release.release_id == release_id
    assert release.year == int(release_id[4:])
    assert release.source.rows == len(release.records) == count
    assert release.source.file_name == Path(name).name
    assert str(release.year) in release.title and "GEOGRAPHIC PRACTICE COST" in release.title
    for locality_id, record in release.records.items():
        assert locality_id == record.locality_id
        assert len(record.mac) == 5 and len(record.locality) == 2
        assert record.state.isalpha() and len(record.state) == 2 if has_state else not record.state
        assert record.name and not record.name.endswith("*")
        assert (record.work_unfloored is not None) == (release.year == 2026)
    alaska = release.records["02102-01"]
    assert (alaska.name, alaska.work) == ("ALASKA", Decimal("1.5"))  # the MIPPA 1.5 floor


def test_2025_los_angeles(releases: dict[str, GpciRelease]) -> None:
    los_angeles = releases["2025/GPCI2025.csv"].records["01182-18"]
    assert (los_angeles.work, los_angeles.pe, los_angeles.mp) == _g("1.042", "1.194", "0.69")
    assert los_angeles.state == "CA"
    assert str(los_angeles.mp) == "0.690"  # the CSV prints 0.69; kept to three places


def test_2026_work_with_and_without_floor(releases: dict[str, GpciRelease]) -> None:
    records = releases["2026/GPCI2026.csv"].records
    alabama = records["10112-00"]
    assert (alabama.work, alabama.work_unfloored) == (Decimal("1.000"), Decimal("0.988"))
    assert (alabama.pe, alabama.mp) == (Decimal("0.875"), Decimal("0.566"))
    los_angeles = records["01182-18"]
    assert (los_angeles.work, los_angeles.pe, los_angeles.mp) == _g("1.041", "1.183", "0.664")
    assert records["02102-01"].work_unfloored == Decimal("1.500")


def test_2022_numbers_are_padded(releases: dict[str, GpciRelease]) -> None:
    records = releases["2022/GPCI2022.csv"].records
    assert "10112-00" in records  # printed 10112,0
    assert records["02102-01"].state == "AK"  # printed 2102,1
    assert records["04412-09"].name == "BRAZORIA"  # printed 4412,9


def test_2018_has_no_work_floor(releases: dict[str, GpciRelease]) -> None:
    records = releases["2018/GPCI2018.csv"].records
    assert records["10102-00"].work == Decimal("0.979")
    assert sum(record.work < 1 for record in records.values()) == 52
    assert all(record.work >= 1 for record in releases["2019/GPCI2019.csv"].records.values())


def test_2017_two_row_header(releases: dict[str, GpciRelease]) -> None:
    alabama = releases["2017/CY2017_GPCIs.csv"].records["10102-00"]
    assert (alabama.work, alabama.pe, alabama.mp) == _g("1.000", "0.888", "0.552")
    assert alabama.state == ""


def test_low_malpractice_gpci_is_accepted(releases: dict[str, GpciRelease]) -> None:
    assert releases["2021/GPCI2021.csv"].records["05402-00"].mp == Decimal("0.235")


@pytest.mark.parametrize("year", [2024, 2025])
def test_txt_twin_gives_the_same_records(year: int, releases: dict[str, GpciRelease]) -> None:
    from_csv = releases[f"{year}/GPCI{year}.csv"]
    from_txt = releases[f"{year}/GPCI{year}.txt"]
    assert list(from_csv.records.items()) == list(from_txt.records.items())
    assert (from_txt.release_id, from_txt.title) == (from_csv.release_id, from_csv.title)


# --- broken copies -----------------------------------------------------------------------------

def _rows(cms_dir: Path) -> list[list[str]]:
    text = (cms_dir / "gpci" / "2025" / "GPCI2025.csv").read_text(encoding="latin-1")
    return list(csv.reader(io.StringIO(text, newline="")))


def _write(tmp_path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "GPCI2025.csv"
    path.write_text(buffer.getvalue(), encoding="latin-1", newline="")
    return path


def test_truncated_file_is_a_count_error(cms_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="37 locality rows") as caught:
        read_gpci_file(_write(tmp_path, _rows(cms_dir)[:40]))
    assert caught.value.line is None


def test_missing_column_is_named(cms_dir: Path, tmp_path: Path) -> None:
    rows = [row[:5] + row[6:] for row in _rows(cms_dir)]  # drop "2025 PE GPCI"
    with pytest.raises(DataFileError) as caught:
        read_gpci_file(_write(tmp_path, rows))
    assert (caught.value.line, caught.value.column) == (3, "PE GPCI")


@pytest.mark.parametrize(("column", "value", "name", "message"), [
    (4, "one", "PW GPCI", "not a number"),
    (5, "3.5", "PE GPCI", "outside 0.3..3.0"),
    (6, "0.1", "MP GPCI", "outside 0.2..3.0"),
    (0, "1O112", "MAC", "not a number of at most 5 digits"),
    (2, "123", "Locality Number", "not a number of at most 2 digits"),
    (1, "Ala", "State", "not a two-letter state code"),
])
def test_bad_cell_is_located(cms_dir: Path, tmp_path: Path, column: int, value: str, name: str,
                             message: str) -> None:
    rows = _rows(cms_dir)
    rows[19][column] = value  # line 20
    with pytest.raises(DataFileError, match=message) as caught:
        read_gpci_file(_write(tmp_path, rows))
    assert (caught.value.line, caught.value.column) == (20, name)


def test_duplicate_locality(cms_dir: Path, tmp_path: Path) -> None:
    rows = _rows(cms_dir)
    rows[20][:3] = rows[19][:3]
    with pytest.raises(DataFileError, match="second row for locality") as caught:
        read_gpci_file(_write(tmp_path, rows))
    assert caught.value.line == 21


def test_title_without_year(cms_dir: Path, tmp_path: Path) -> None:
    rows = _rows(cms_dir)
    rows[0][0] = "ADDENDUM E. GEOGRAPHIC PRACTICE COST INDICES"
    with pytest.raises(DataFileError, match="no year in the title"):
        read_gpci_file(_write(tmp_path, rows))


def test_broken_txt_line(cms_dir: Path, tmp_path: Path) -> None:
    lines = (cms_dir / "gpci" / "2025" / "GPCI2025.txt").read_text(encoding="latin-1").splitlines()
    lines[9] = lines[9].replace("1.014", "1.0x4", 1)  # El Centro's work GPCI
    path = tmp_path / "GPCI2025.txt"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="latin-1", newline="")
    with pytest.raises(DataFileError, match="not a number") as caught:
        read_gpci_file(path)
    assert (caught.value.line, caught.value.column) == (10, "PW GPCI")
