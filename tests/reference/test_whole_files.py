"""Imports refuse what is not whole; a quarter's table imported in part is said aloud.

Every whole official file passes the completeness checks (so the figures in ``completeness``
hold for every release held); truncated or thinned copies are refused without ``--partial``,
and with it are recorded as partial and used only for what they cover.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import therabill
from therabill.cli import app
from therabill.reference import user_import
from therabill.reference.build import SOURCES
from therabill.reference.completeness import incomplete
from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.rvu import read_rvu_file
from therabill.reference.store import load_reference

runner = CliRunner()
PTP_SAMPLE = "ncci_ptp_practitioner/2026q3_format_sample/ccipra-v322r0-f1.format_sample.txt"
MUE_SAMPLE = ("mue_practitioner/2026q3_format_sample/"
              "MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv")


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "therabill-data"
    monkeypatch.setenv("THERABILL_DATA_DIR", str(target))
    return target


def _cut(source: Path, target: Path, share: float) -> Path:
    data = source.read_bytes()
    lines = data.splitlines(keepends=True)
    target.write_bytes(b"".join(lines[: int(len(lines) * share)]))
    return target


WHOLE = [*(s.path for s in SOURCES if not s.extract and s.kind != "ptp"),
         "gpci/2024/GPCI2024.txt", "gpci/2025/GPCI2025.txt", "locality_county/2025/25LOCCO.txt",
         "pprrvu/2025_oct/PPRRVU2025_Oct.txt"]


@pytest.mark.parametrize("relative", WHOLE, ids=lambda path: path.rsplit("/", 1)[-1])
def test_every_whole_official_file_is_whole(cms_dir: Path, relative: str) -> None:
    imported = user_import.read_files([cms_dir / relative])
    assert [item.partial for item in imported] == [""]


def test_rvu_file_cut_to_60_percent_is_refused(cms_dir: Path, data_dir: Path,
                                               tmp_path: Path) -> None:
    cut = _cut(cms_dir / "pprrvu/2025_jan/PPRRVU25_JAN.csv", tmp_path / "PPRRVU25_JAN.csv", 0.6)
    result = runner.invoke(app, ["data", "import", str(cut)])
    assert result.exit_code == 2
    assert "not a whole release" in result.output and "a whole 2025 RVU file has" in result.output
    assert not data_dir.exists()
    # 97110 keeps its RVUs on a 2025 date: the bundled RVU25A still answers
    reference = load_reference(data_dir)
    assert reference.rvu_record("97110", date(2025, 3, 4)) is not None


def test_rvu_file_cut_at_95_percent_misses_therapy_codes(cms_dir: Path, tmp_path: Path) -> None:
    cut = _cut(cms_dir / "pprrvu/2025_oct/PPRRVU2025_Oct.csv", tmp_path / "PPRRVU2025_Oct.csv",
               0.95)
    with pytest.raises(DataFileError, match=r"not a whole release: (codes run|therapy codes)"):
        user_import.read_files([cut])


def test_rvu_extract_with_partial_is_recorded_and_listed(cms_dir: Path, data_dir: Path,
                                                        tmp_path: Path) -> None:
    cut = _cut(cms_dir / "pprrvu/2025_oct/PPRRVU2025_Oct.csv", tmp_path / "PPRRVU2025_Oct.csv",
               0.6)
    result = runner.invoke(app, ["data", "import", "--partial", str(cut)])
    assert result.exit_code == 0, result.output
    assert "partial" in result.output
    info = json.loads(runner.invoke(app, ["data", "info", "--format", "json"]).output)
    row = next(r for r in info["releases"] if r["release"] == "RVU25D")
    assert row["origin"] == "imported" and row["partial"].startswith("partial: 0")


def test_unknown_status_code_is_refused(cms_dir: Path, tmp_path: Path) -> None:
    source = cms_dir / "pprrvu/2025_jan/PPRRVU25_JAN.csv"
    rows = list(csv.reader(source.read_text(encoding="latin-1").splitlines()))
    at = next(i for i, row in enumerate(rows) if row and row[0] == "97110")
    rows[at][3] = "Z"
    copy = tmp_path / "PPRRVU25_JAN.csv"
    with copy.open("w", encoding="latin-1", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    with pytest.raises(DataFileError, match=f"line {at + 1}.*status code CMS defines"):
        user_import.read_files([copy], partial=True)


def test_gpci_file_missing_a_locality_is_refused(cms_dir: Path, data_dir: Path,
                                                 tmp_path: Path) -> None:
    source = cms_dir / "gpci/2025/GPCI2025.csv"
    lines = source.read_bytes().splitlines(keepends=True)
    thinned = [line for line in lines if b"FORT WORTH" not in line]
    assert len(thinned) == len(lines) - 1
    copy = tmp_path / "GPCI2025.csv"
    copy.write_bytes(b"".join(thinned))
    result = runner.invoke(app, ["data", "import", str(copy)])
    assert result.exit_code == 2
    assert "localities of the 2025 crosswalk" in result.output and "04412-28" in result.output
    visit = {"visit_id": "v", "date_of_service": "2025-05-01", "locality": "04412-28",
             "lines": [{"code": "97110", "minutes": 15}]}
    line = therabill.check(visit, reference=load_reference(data_dir)).lines[0]
    assert line.allowed is not None  # the bundled GPCI2025 still prices Fort Worth


def test_hash_is_of_the_bytes_parsed(cms_dir: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A file replaced on disk after it was read is recorded with the hash of what was read."""
    from therabill.reference.importers import common

    copy = tmp_path / "GPCI2025.csv"
    shutil.copy(cms_dir / "gpci/2025/GPCI2025.csv", copy)
    original = copy.read_bytes()
    real = common.Path.read_bytes

    def then_replace(path: Path) -> bytes:
        data = real(path)
        if path == copy:
            copy.write_bytes(b"replaced " + original)  # after the one read
        return data

    monkeypatch.setattr(common.Path, "read_bytes", then_replace)
    [item] = user_import.read_files([copy])
    assert item.release.source.sha256 == hashlib.sha256(original).hexdigest()


# -- a quarter's PTP or MUE table in part ----------------------------------------------------

def test_ptp_part_is_refused_without_partial(cms_dir: Path, data_dir: Path,
                                             tmp_path: Path) -> None:
    part = tmp_path / "ccipra-v322r0-f1.txt"
    shutil.copy(cms_dir / PTP_SAMPLE, part)
    result = runner.invoke(app, ["data", "import", str(part)])
    assert result.exit_code == 2
    assert "not a whole release" in result.output and "13 edits" in result.output
    assert not data_dir.exists()


def test_ptp_part_with_partial_is_said_aloud_and_falls_back(cms_dir: Path, data_dir: Path,
                                                            tmp_path: Path) -> None:
    part = tmp_path / "ccipra-v322r0-f1.txt"
    shutil.copy(cms_dir / PTP_SAMPLE, part)
    result = runner.invoke(app, ["data", "import", "--partial", str(part)])
    assert result.exit_code == 0, result.output
    reference = load_reference(data_dir)
    assert reference.partial["PTP-v322r0"] == (("0001A", "0001U"),)
    visit = {"visit_id": "v", "date_of_service": "2026-07-15",
             "lines": [{"code": "97140", "minutes": 15}, {"code": "97124", "minutes": 15},
                       {"code": "97110", "minutes": 15}, {"code": "97150", "minutes": 15}]}
    checked = therabill.check(visit, reference=reference)
    status = {ln.code: ln.status for ln in checked.lines}
    # pairs outside the part come from the newest complete table (v302r0), not from nothing
    assert status["97124"] == "denied" and status["97110"] == "denied"
    assert checked.data.releases["ptp"].startswith("PTP-v322r0")
    partial_notes = [n for n in checked.data.notes if "imported in part" in n]
    assert partial_notes and "PTP-v302r0" in partial_notes[0]
    warnings = [f for f in checked.findings if f.severity == "warning" and f.rule == "data"
                and "imported in part" in f.message]
    assert len(warnings) == 1 and "0001A–0001U" in warnings[0].message
    # a date before the partial quarter is untouched by it and says nothing of it
    earlier = therabill.check({**visit, "date_of_service": "2024-08-01"}, reference=reference)
    assert not [n for n in earlier.data.notes if "imported in part" in n]
    assert not [f for f in earlier.findings if "imported in part" in f.message]
    info = runner.invoke(app, ["data", "info", "--format", "json"])
    row = next(r for r in json.loads(info.output)["releases"] if r["release"] == "PTP-v322r0")
    assert row["partial"] == "partial: 0001A–0001U"
    table = runner.invoke(app, ["data", "info"], env={"COLUMNS": "200"})
    assert "partial: 0001A–0001U" in table.output


def test_mue_part_with_partial_covers_only_its_codes(cms_dir: Path, data_dir: Path,
                                                     tmp_path: Path) -> None:
    part = tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
    shutil.copy(cms_dir / MUE_SAMPLE, part)
    refused = runner.invoke(app, ["data", "import", str(part)])
    assert refused.exit_code == 2 and "not a whole release" in refused.output
    assert runner.invoke(app, ["data", "import", "--partial", str(part)]).exit_code == 0
    reference = load_reference(data_dir)
    dated = reference.mue_release(date(2026, 7, 15))
    assert dated is not None and dated.warning and "MUE-2024-07-01" in dated.warning
    assert dated.value.release_id == "MUE-2026-07-01"
    assert dated.value.records["97110"] == reference.mue[0].records["97110"]  # from the complete
    visit = {"visit_id": "v", "date_of_service": "2026-07-15",
             "lines": [{"code": "97110", "minutes": 30}]}
    checked = therabill.check(visit, reference=reference)
    assert any("MUE-2026-07-01 was imported in part" in f.message for f in checked.findings)


def test_incomplete_says_nothing_of_a_whole_ptp_quarter() -> None:
    reference = load_reference(Path("/nonexistent-therabill-dir"))
    held = user_import._held()
    release = reference.ptp[-1]
    assert "edits" in incomplete(release, held)
    assert incomplete(release, held, ptp_whole_rows=2_500_000) == ""


def test_rvu_reader_still_reads_a_whole_file(cms_dir: Path) -> None:
    release = read_rvu_file(cms_dir / "pprrvu/2025_jan/PPRRVU25_JAN.csv")
    assert release.source.sha256 == (
        "c0539b47cbc042fd1b69798e6dd911219f4893bb5be793ae1d1771e7a7151a54")


def test_parts_imported_one_after_the_other_are_joined(cms_dir: Path, data_dir: Path,
                                                       tmp_path: Path) -> None:
    first = tmp_path / "ccipra-v322r0-f1.txt"
    shutil.copy(cms_dir / PTP_SAMPLE, first)
    head = first.read_text(encoding="latin-1").splitlines()[:6]  # the official title lines
    second = tmp_path / "ccipra-v322r0-f4.txt"
    second.write_text("\r\n".join([*head, "97530\t97140\t\t20260701\t*\t0\tMutually exclusive "
                                   "procedures"]) + "\r\n", encoding="latin-1")
    assert runner.invoke(app, ["data", "import", "--partial", str(first)]).exit_code == 0
    result = runner.invoke(app, ["data", "import", "--partial", str(second)])
    assert result.exit_code == 0, result.output
    assert "joined with the part(s) imported before" in result.output
    reference = load_reference(data_dir)
    assert reference.partial["PTP-v322r0"] == (("0001A", "0001U"), ("97530", "97530"))
    visit = {"visit_id": "v", "date_of_service": "2026-07-15",
             "lines": [{"code": "97530", "minutes": 15}, {"code": "97140", "minutes": 15}]}
    checked = therabill.check(visit, reference=reference)
    # the new part's edit (97530/97140, indicator 0) answers for column 1 = 97530
    assert {ln.code: ln.status for ln in checked.lines}["97140"] == "denied"
    release = next(r for r in reference.ptp if r.release_id == "PTP-v322r0")
    assert release.source.file_name == "ccipra-v322r0-f1.txt, ccipra-v322r0-f4.txt"


def test_partial_rvu_is_laid_over_the_whole_release(cms_dir: Path, data_dir: Path,
                                                    tmp_path: Path) -> None:
    """With --partial, the January 2025 file cut to 60% answers for the codes it holds; 97110,
    beyond the cut, keeps its RVUs from the whole RVU25A (issue: it had none)."""
    cut = _cut(cms_dir / "pprrvu/2025_jan/PPRRVU25_JAN.csv", tmp_path / "PPRRVU25_JAN.csv", 0.6)
    result = runner.invoke(app, ["data", "import", "--partial", str(cut)])
    assert result.exit_code == 0, result.output
    reference = load_reference(data_dir)
    assert reference.origin["RVU25A"] == "imported" and "RVU25A" in reference.partial
    whole = load_reference(tmp_path / "none").rvu_record("97110", date(2025, 3, 4))
    assert reference.rvu_record("97110", date(2025, 3, 4)) == whole is not None
    release = reference.rvu_release(date(2025, 3, 4))
    assert release is not None and len(release.records) > 11_000  # the cut's codes, all kept
    checked = therabill.check({"visit_id": "v", "date_of_service": "2025-03-04",
                               "lines": [{"code": "97110", "minutes": 38}]}, reference=reference)
    assert checked.lines[0].allowed is not None


def test_ptp_part_of_a_bundled_release_is_laid_over_it(cms_dir: Path, data_dir: Path,
                                                       tmp_path: Path) -> None:
    part = tmp_path / "ccipra-v302r0-f1.txt"  # a part of the quarter the bundled table is
    shutil.copy(cms_dir / PTP_SAMPLE, part)
    assert runner.invoke(app, ["data", "import", "--partial", str(part)]).exit_code == 0
    reference = load_reference(data_dir)
    visit = {"visit_id": "v", "date_of_service": "2024-08-01",
             "lines": [{"code": "97140", "minutes": 15}, {"code": "97124", "minutes": 15}]}
    checked = therabill.check(visit, reference=reference)
    assert {ln.code: ln.status for ln in checked.lines}["97124"] == "denied"
    assert any("the whole PTP-v302r0 held before" in f.message for f in checked.findings)
