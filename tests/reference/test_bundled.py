"""The bundled tables are exactly what a fresh build from the official CMS files gives."""

from __future__ import annotations

import filecmp
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.reference.build import build
from therabill.reference.paths import BUNDLED_DIR
from therabill.reference.store import load_reference


@pytest.fixture(scope="module")
def fresh(cms_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundled")
    build(cms_dir, out)
    return out


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_bundled_tables_equal_a_fresh_build(fresh: Path) -> None:
    assert _files(fresh) == _files(BUNDLED_DIR)
    different = [name for name in _files(fresh)
                 if not filecmp.cmp(fresh / name, BUNDLED_DIR / name, shallow=False)]
    assert different == [], "bundled tables are stale: run `therabill data build`"


def test_every_rvu_release_from_2017_to_2026_is_held() -> None:
    reference = load_reference(Path("/nonexistent"))
    ids = [r.release_id for r in reference.rvu]
    assert ids == ["RVU17A", "RVU18A", "RVU19A", "RVU20A", "RVU21A", "RVU22A", "RVU23A",
                   "RVU24A", "RVU24C", "RVU25A", "RVU25D", "RVU26A"]
    assert sorted(reference.gpci) == list(range(2017, 2027))
    assert sorted(reference.localities) == list(range(2017, 2027))


def test_release_by_date_of_service() -> None:
    reference = load_reference(Path("/nonexistent"))
    assert reference.rvu_release(date(2024, 6, 30)).release_id == "RVU24A"
    assert reference.rvu_release(date(2024, 7, 1)).release_id == "RVU24C"
    assert reference.rvu_release(date(2025, 10, 1)).release_id == "RVU25D"
    assert reference.rvu_release(date(2026, 2, 1)).release_id == "RVU26A"
    # No release for a year means no answer, never last year's figures carried forward.
    assert reference.rvu_release(date(2016, 12, 31)) is None
    assert reference.rvu_release(date(2027, 1, 1)) is None


def test_massage_pe_history_matches_the_rvu_files() -> None:
    reference = load_reference(Path("/nonexistent"))
    pe = {year: (reference.rvu_record("97124", date(year, 6, 1)).pe_nonfacility,
                 reference.rvu_record("97140", date(year, 6, 1)).pe_nonfacility)
          for year in (2017, 2018, 2025, 2026)}
    assert pe[2017] == (Decimal("0.38"), Decimal("0.41"))
    assert pe[2018] == (Decimal("0.51"), Decimal("0.35"))
    assert pe[2025] == (Decimal("0.56"), Decimal("0.40"))
    assert pe[2026] == (Decimal("0.53"), Decimal("0.39"))


def test_bundled_data_keeps_figures_only() -> None:
    """No descriptor column in any bundled table (AMA text stays in the source files)."""
    for path in BUNDLED_DIR.rglob("*.csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert "description" not in header.lower(), path


def test_gpci_states_filled_for_old_files() -> None:
    reference = load_reference(Path("/nonexistent"))
    assert reference.gpci[2017].records["10102-00"].state == "AL"
    assert reference.gpci[2019].records["01182-18"].state == "CA"
    assert reference.gpci[2026].records["10112-00"].work_unfloored == Decimal("0.988")
