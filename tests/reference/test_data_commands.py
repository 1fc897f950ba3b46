"""``therabill data info`` and ``data import``: what is loaded, and all-or-nothing imports."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import therabill
from therabill.cli import app
from therabill.reference.store import load_reference

runner = CliRunner()
EXTRACT = ("ncci_ptp_practitioner/2024_northstar_extract/"
           "ccipra_v302r0_eff_2024-07-01_therapy_rows.csv")


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "therabill-data"
    monkeypatch.setenv("THERABILL_DATA_DIR", str(target))
    return target


def test_info_lists_every_release_and_parameter() -> None:
    result = runner.invoke(app, ["data", "info", "--format", "json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    releases = {r["release"]: r for r in info["releases"]}
    for year in range(17, 26):
        assert f"RVU{year}A" in releases
    assert {"RVU24C", "RVU25D", "RVU26A", "PTP-v301r0", "PTP-v302r0", "MUE-2024-07-01"} <= set(
        releases)
    assert all(f"GPCI{y}" in releases for y in range(2017, 2027))
    assert releases["RVU24A"]["covers"] == "2024-01-01 … 2024-06-30"
    assert releases["RVU25A"]["sha256"] == (
        "c0539b47cbc042fd1b69798e6dd911219f4893bb5be793ae1d1771e7a7151a54")
    assert "effective dates" in releases["PTP-v302r0"]["caveat"]
    names = {p["parameter"] for p in info["parameters"]}
    assert {"conversion_factor", "kx_threshold", "part_b_deductible", "sequestration_rate",
            "therapy_mppr_pe_paid_professional", "assistant_payment_rate",
            "work_gpci_floor", "targeted_review_threshold"} <= names
    assert all(p["source"] for p in info["parameters"])


def test_info_table_is_readable() -> None:
    result = runner.invoke(app, ["data", "info"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "RVU26A" in result.output and "conversion_factor" in result.output


def _official_ptp(cms_dir: Path, target: Path, effective: str) -> Path:
    """Write the therapy edits in the official tab-delimited layout of a newer quarter."""
    with (cms_dir / EXTRACT).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lines = ["CPT only copyright notice\t\t\t\t\t\t", "Column1/Column2 Edits\t\t\t\t\t\t",
             "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit "
             "Rationale", "\t\tprior to 1996\tDate\tDate\t0=not allowed\t"]
    for row in rows:
        start = "19960101"  # the extract has no start dates; any date before the deletion will do
        if row["column_1"] == "97140" and row["column_2"] == "97530":
            row = {**row, "deletion_date": "*", "modifier_indicator": "1"}  # a re-instated edit
            start = effective
        lines.append("\t".join([row["column_1"], row["column_2"], "", start,
                                row["deletion_date"], row["modifier_indicator"],
                                row["ptp_edit_rationale"]]))
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_import_newer_edit_table_takes_precedence(cms_dir: Path, data_dir: Path,
                                                  tmp_path: Path) -> None:
    source = _official_ptp(cms_dir, tmp_path / "ccipra-v303r0-f1.txt", "20241001")
    whole_file_expected = runner.invoke(app, ["data", "import", str(source)])
    assert whole_file_expected.exit_code == 2
    assert "not a whole release" in whole_file_expected.output
    result = runner.invoke(app, ["data", "import", "--partial", str(source)])
    assert result.exit_code == 0, result.output
    assert "PTP-v303r0" in result.output
    reference = load_reference(data_dir)
    assert reference.origin["PTP-v303r0"] == "imported"
    visit = {"visit_id": "v", "date_of_service": "2024-11-05",
             "lines": [{"code": "97140", "minutes": 15}, {"code": "97530", "minutes": 15}]}
    after = therabill.check(visit, reference=reference)
    assert after.data.releases["ptp"].startswith("PTP-v303r0")
    assert [ln.status for ln in after.lines if ln.code == "97530"] == ["denied"]
    # before that quarter the bundled July table still answers: the pair was deleted in 2019
    earlier = therabill.check({**visit, "date_of_service": "2024-08-05"}, reference=reference)
    assert earlier.data.releases["ptp"].startswith("PTP-v302r0")
    assert all(ln.status == "payable" for ln in earlier.lines)


def test_import_rvu_file_is_listed_as_imported(cms_dir: Path, data_dir: Path,
                                               tmp_path: Path) -> None:
    copy = tmp_path / "PPRRVU2025_Oct.csv"
    shutil.copy(cms_dir / "pprrvu/2025_oct/PPRRVU2025_Oct.csv", copy)
    result = runner.invoke(app, ["data", "import", str(copy)])
    assert result.exit_code == 0, result.output
    reference = load_reference(data_dir)
    assert reference.origin["RVU25D"] == "imported"
    assert reference.rvu_release(date(2025, 11, 1)).release_id == "RVU25D"
    # the whole official file is kept: codes beyond therapy are there too
    assert len(reference.rvu_release(date(2025, 11, 1)).records) > 15_000


def test_bad_file_is_rejected_whole_and_changes_nothing(cms_dir: Path, data_dir: Path,
                                                        tmp_path: Path) -> None:
    good = _official_ptp(cms_dir, tmp_path / "ccipra-v303r0-f1.txt", "20241001")
    assert runner.invoke(app, ["data", "import", "--partial", str(good)]).exit_code == 0
    before = sorted(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    source = (cms_dir / "pprrvu/2025_oct/PPRRVU2025_Oct.csv").read_text(encoding="latin-1")
    truncated = tmp_path / "PPRRVU2025_Oct.csv"
    truncated.write_text("\n".join(source.splitlines()[:500]), encoding="latin-1")
    broken = _official_ptp(cms_dir, tmp_path / "ccipra-v310r0-f1.txt", "2025AB01")
    text = broken.read_text(encoding="utf-8").replace("\t19960101\t", "\t1996XX01\t", 1)
    broken.write_text(text, encoding="utf-8")
    for args in ([str(truncated)], ["--partial", str(good), str(broken)]):
        bad = Path(args[-1])
        result = runner.invoke(app, ["data", "import", *args])
        assert result.exit_code == 2
        assert bad.name in result.output and "nothing was imported" in result.output
        assert "Traceback" not in result.output
    assert "line 5" in runner.invoke(app, ["data", "import", "--partial", str(broken)]).output
    after = sorted(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert after == before


def test_unknown_file_name_is_rejected(data_dir: Path, tmp_path: Path) -> None:
    odd = tmp_path / "fees.csv"
    odd.write_text("a,b\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "import", str(odd)])
    assert result.exit_code == 2 and "official name" in result.output
    assert not data_dir.exists()


def test_readme_data_directory_commands_run(cms_dir: Path, tmp_path: Path) -> None:
    """The README's data-directory example, in order, in a fresh directory."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    prefix = "THERABILL_DATA_DIR=/tmp/therabill-example therabill "
    commands = [line[len(prefix):] for line in readme.splitlines() if line.startswith(prefix)]
    assert [c.split()[1] for c in commands] == ["import", "import", "info", "repair", "reset"]
    target = tmp_path / "example"
    for command in commands:
        args = [re.sub(r"^\.\./shared/cms", str(cms_dir), a) for a in shlex.split(command)]
        result = runner.invoke(app, args, env={"THERABILL_DATA_DIR": str(target)})
        assert result.exit_code == 0, (command, result.output)
        if "--format" in args:
            info = json.loads(result.output)
            partial = {r["release"]: r["partial"] for r in info["releases"] if r["partial"]}
            assert partial == {"PTP-v322r0": "partial: 0001A–0001U"}
    assert sorted(p.name for p in target.iterdir()) == [".lock", ".therabill-data"]
