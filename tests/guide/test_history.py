"""``code_history`` and its chart: rows per release and CF change, figures by year, errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.cli_views.plot import plot_history
from therabill.guide.facts import GuideError
from therabill.guide.history import History, code_history
from therabill.reference.store import ReferenceData, default_reference

# (label, RVU release, CF, 97124 W/PE/MP and $, 97140 W/PE/MP and $): /work/shared/cms/PROVENANCE.md
EXPECTED = [
    ("2017 Jan", "RVU17A", "35.8887", "0.35/0.38/0.01", "26.56", "0.43/0.41/0.01", "30.51"),
    ("2018 Jan", "RVU18A", "35.9996", "0.35/0.51/0.01", "31.32", "0.43/0.35/0.01", "28.44"),
    ("2019 Jan", "RVU19A", "36.0391", "0.35/0.45/0.01", "29.19", "0.43/0.35/0.01", "28.47"),
    ("2020 Jan", "RVU20A", "36.0896", "0.35/0.47/0.01", "29.95", "0.43/0.35/0.02", "28.87"),
    ("2021 Jan", "RVU21A", "34.8931", "0.35/0.49/0.01", "29.66", "0.43/0.35/0.02", "27.91"),
    ("2022 Jan", "RVU22A", "34.6062", "0.35/0.52/0.01", "30.45", "0.43/0.35/0.02", "27.68"),
    ("2023 Jan", "RVU23A", "33.8872", "0.35/0.54/0.01", "30.50", "0.43/0.37/0.01", "27.45"),
    ("2024 Jan", "RVU24A", "32.7442", "0.35/0.55/0.01", "29.80", "0.43/0.37/0.01", "26.52"),
    ("2024-03-09", "RVU24A", "33.2875", "0.35/0.55/0.01", "30.29", "0.43/0.37/0.01", "26.96"),
    ("2024 Jul", "RVU24C", "33.2875", "0.35/0.55/0.01", "30.29", "0.43/0.37/0.01", "26.96"),
    ("2025 Jan", "RVU25A", "32.3465", "0.35/0.56/0.01", "29.76", "0.43/0.40/0.01", "27.17"),
    ("2025 Oct", "RVU25D", "32.3465", "0.35/0.56/0.01", "29.76", "0.43/0.40/0.01", "27.17"),
    ("2026 Jan", "RVU26A", "33.4009", "0.35/0.53/0.01", "29.73", "0.43/0.39/0.01", "27.72"),
]


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return default_reference()


@pytest.fixture(scope="module")
def national(reference: ReferenceData) -> History:
    return code_history(["97124", "97140"], None, None, "national", reference)


def _rvus(history: History, row: int, point: int) -> str:
    rvus = history.rows[row].points[point].rvus
    assert rvus is not None
    return f"{rvus.work}/{rvus.pe_nonfacility}/{rvus.mp}"


def test_rows_and_figures_match_the_cms_table(national: History) -> None:
    assert (national.from_year, national.to_year) == (2017, 2026)
    got = [(row.label, row.rvu_release, str(row.conversion_factor.value), _rvus(national, i, 0),
            str(row.points[0].full), _rvus(national, i, 1), str(row.points[1].full))
           for i, row in enumerate(national.rows)]
    assert got == EXPECTED


def test_mid_year_rows_say_why(national: History) -> None:
    by_label = {row.label: row for row in national.rows}
    march = by_label["2024-03-09"]
    assert march.effective_from == date(2024, 3, 9)
    assert "Consolidated Appropriations Act, 2024" in march.why
    assert march.conversion_factor.effective_from == date(2024, 3, 9)
    assert by_label["2024 Jul"].why == "RVU24C takes effect"


def test_lines_cross_in_2018(national: History) -> None:
    def gap(label: str) -> Decimal:
        row = next(r for r in national.rows if r.label == label)
        massage, manual = (p.full for p in row.points)
        assert massage is not None and manual is not None
        return massage - manual

    assert gap("2017 Jan") < 0 < gap("2018 Jan")


def test_local_uses_each_years_gpci(reference: ReferenceData) -> None:
    local = code_history(["97124", "97140"], 2024, 2025, "01182-18", reference)
    jan_2025 = next(r for r in local.rows if r.label == "2025 Jan")
    assert [p.full for p in jan_2025.points] == [Decimal("33.65"), Decimal("30.17")]
    assert jan_2025.place is not None and jan_2025.place.gpci_release == "GPCI2025"
    assert local.rows[0].place is not None and local.rows[0].place.gpci_release == "GPCI2024"


def test_work_floor_note(reference: ReferenceData) -> None:
    floored = code_history(["97110"], 2018, 2018, "02402-99", reference)
    place = floored.rows[0].place
    assert place is not None and place.work_gpci == Decimal("1.0")
    assert "floor" in place.note


def test_renumbered_locality_leaves_gaps_with_a_note(reference: ReferenceData) -> None:
    alabama = code_history(["97110"], 2017, 2019, "10112-00", reference)
    assert [row.points[0].full is None for row in alabama.rows] == [True, True, False]
    assert any("not in the CMS GPCI file of 2017" in note for note in alabama.notes)


@pytest.mark.parametrize(("from_year", "to_year", "locality", "message"), [
    (2016, None, "national", "no CMS RVU file is held for 2016"),
    (None, 2027, "national", "no CMS RVU file is held for 2027"),
    (2020, 2018, "national", "--from 2020 is after --to 2018"),
    (None, None, "99999-99", "locality '99999-99' is not in GPCI2017"),
])
def test_errors(reference: ReferenceData, from_year: int | None, to_year: int | None,
                locality: str, message: str) -> None:
    with pytest.raises(GuideError, match=message):
        code_history(["97124"], from_year, to_year, locality, reference)


def test_plot_svg_and_bad_suffix(national: History, reference: ReferenceData,
                                 tmp_path: Path) -> None:
    svg = plot_history(national, tmp_path / "chart.svg", reference.catalogue)
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    with pytest.raises(GuideError, match=r"\.png or \.svg"):
        plot_history(national, tmp_path / "chart.pdf", reference.catalogue)
