"""The user's data directory: owned, locked, switched by manifest swap, repaired with a message.

Real processes for concurrency and for crashes (a process killed at each step of an import);
injected failures for a full disk, a read-only directory and a file removed mid-import, which a
test run as root could not otherwise produce.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import therabill
from therabill.cli import app
from therabill.reference import datadir, user_import
from therabill.reference.paths import DataDirError
from therabill.reference.store import DataDirWarning, load_reference
from therabill.reference.tables import read_manifest

runner = CliRunner()
SMALL = ("gpci/2024/GPCI2024.csv", "gpci/2025/GPCI2025.csv", "locality_county/2024/24LOCCO.csv",
         "locality_county/2025/25LOCCO.csv")
VISIT = {"visit_id": "v", "date_of_service": "2025-03-04", "locality": "10112-00",
         "lines": [{"code": "97110", "minutes": 38}]}


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "therabill-data"
    monkeypatch.setenv("THERABILL_DATA_DIR", str(target))
    return target


@pytest.fixture()
def small(cms_dir: Path, tmp_path: Path) -> list[Path]:
    """Copies of four small official files (two GPCI years, two crosswalks)."""
    copies = []
    for relative in SMALL:
        copy = tmp_path / "in" / Path(relative).name
        copy.parent.mkdir(exist_ok=True)
        shutil.copy(cms_dir / relative, copy)
        copies.append(copy)
    return copies


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file() and p.name != datadir.LOCK}


def _imported(directory: Path) -> set[str]:
    return {entry["release_id"] for entry in read_manifest(directory)}


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# -- a directory therabill owns ----------------------------------------------------------------

def test_directory_with_foreign_files_is_refused_and_left_intact(data_dir: Path,
                                                                 small: list[Path]) -> None:
    data_dir.mkdir()
    (data_dir / "thesis.docx").write_bytes(b"years of work")
    (data_dir / "photos").mkdir()
    (data_dir / "photos" / "a.jpg").write_bytes(b"\xff\xd8")
    before = _snapshot(data_dir)
    result = runner.invoke(app, ["data", "import", str(small[1])])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert str(data_dir) in line and "did not write" in line and "thesis.docx" in line
    assert _snapshot(data_dir) == before
    assert sorted(os.listdir(data_dir)) == ["photos", "thesis.docx"]


def test_new_directory_is_created_marked_and_payers_are_kept(data_dir: Path,
                                                             small: list[Path]) -> None:
    result = runner.invoke(app, ["data", "import", str(small[1])])
    assert result.exit_code == 0, result.output
    assert (data_dir / datadir.MARKER).is_file()
    (data_dir / "payers").mkdir()
    (data_dir / "payers" / "acme.yaml").write_text("name: acme\n", encoding="utf-8")
    assert runner.invoke(app, ["data", "import", str(small[0])]).exit_code == 0
    assert (data_dir / "payers" / "acme.yaml").read_text(encoding="utf-8") == "name: acme\n"
    assert _imported(data_dir) == {"GPCI2024", "GPCI2025"}
    # every table the manifest names is there, and nothing else is under tables/
    named = {entry["table"] for entry in read_manifest(data_dir)}
    on_disk = {str(p.relative_to(data_dir)) for p in (data_dir / "tables").rglob("*")
               if p.is_file()}
    assert on_disk == named


def test_empty_existing_directory_is_adopted(data_dir: Path, small: list[Path]) -> None:
    data_dir.mkdir()
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    assert (data_dir / datadir.MARKER).is_file()


def test_older_layout_is_adopted_and_its_replaced_tables_removed(data_dir: Path,
                                                                 small: list[Path]) -> None:
    from therabill.reference.importers.gpci import read_gpci_file
    from therabill.reference.tables import write_releases

    write_releases(data_dir, [read_gpci_file(small[1])])  # what an older therabill wrote
    assert (data_dir / "gpci" / "GPCI2025.csv").is_file()
    result = runner.invoke(app, ["data", "import", str(small[1]), str(small[0])])
    assert result.exit_code == 0, result.output
    assert _imported(data_dir) == {"GPCI2024", "GPCI2025"}
    assert not (data_dir / "gpci").exists()


# -- leftovers of an older, interrupted import ---------------------------------------------------

def test_leftover_old_copy_is_removed_with_a_message(data_dir: Path, small: list[Path]) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    shutil.copytree(data_dir, datadir.leftover_copy(data_dir))
    result = runner.invoke(app, ["data", "import", str(small[0])])
    assert result.exit_code == 0, result.output
    assert "removed" in result.output and ".old" in result.output
    assert not datadir.leftover_copy(data_dir).exists()
    assert _imported(data_dir) == {"GPCI2024", "GPCI2025"}


def test_crash_between_renames_of_older_version_is_recovered(data_dir: Path,
                                                              small: list[Path]) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    data_dir.rename(datadir.leftover_copy(data_dir))  # no data/ at all, only data.old
    with pytest.warns(DataDirWarning, match="data repair"):
        reference = load_reference(data_dir)
    assert any("interrupted import" in p for p in reference.problems)
    info = runner.invoke(app, ["data", "info", "--format", "json"])
    assert info.exit_code == 1 and "data repair" in info.output
    result = runner.invoke(app, ["data", "import", str(small[0])])
    assert result.exit_code == 0, result.output
    assert "restored" in result.output
    assert _imported(data_dir) == {"GPCI2024", "GPCI2025"}  # the earlier import is not lost


def test_repair_restores_the_old_copy(data_dir: Path, small: list[Path]) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    data_dir.rename(datadir.leftover_copy(data_dir))
    result = runner.invoke(app, ["data", "repair"])
    assert result.exit_code == 0 and "restored" in result.output
    assert _imported(data_dir) == {"GPCI2025"}


# -- concurrent imports, real processes ------------------------------------------------------------

def _python(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_concurrent_imports_all_land(data_dir: Path, small: list[Path], tmp_path: Path) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "THERABILL_DATA_DIR": str(data_dir)}
    code = """
        import sys, time
        from pathlib import Path
        from therabill.reference.user_import import import_files
        while not Path(sys.argv[-2]).exists():
            time.sleep(0.005)
        import_files([Path(sys.argv[-1])], Path(sys.argv[-3]))
        print("imported")
    """
    processes = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(data_dir),
                                   str(go), str(path)], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for path in small]
    go.touch()
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.strip() == "imported"
    assert _imported(data_dir) == {"GPCI2024", "GPCI2025", "LOCCO2024", "LOCCO2025"}
    reference = load_reference(data_dir)
    assert not reference.problems
    assert {reference.origin[r] for r in ("GPCI2024", "LOCCO2025")} == {"imported"}


# -- a crash at each step: the old state or the new, complete ------------------------------------

CRASH = """
    import os, sys
    from pathlib import Path
    from therabill.reference import datadir
    from therabill.reference.user_import import import_files
    def crash(step):
        if step == sys.argv[-1]:
            os._exit(9)
    datadir.checkpoint = crash
    import_files([Path(p) for p in sys.argv[-3].split(",")], Path(sys.argv[-2]))
"""


@pytest.mark.parametrize("step", ["locked", "table-written", "manifest-staged",
                                  "manifest-swapped", "tidied"])
def test_import_killed_at_each_step_leaves_old_or_new_state(data_dir: Path, small: list[Path],
                                                             step: str) -> None:
    assert runner.invoke(app, ["data", "import", str(small[0])]).exit_code == 0
    old = _snapshot(data_dir)
    files = ",".join(str(p) for p in small[1:3])
    process = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH), files,
                              str(data_dir), step], capture_output=True, text=True, timeout=120)
    assert process.returncode == 9, process.stderr
    reference = load_reference(data_dir)
    assert not reference.problems
    held = _imported(data_dir)
    swapped = step in ("manifest-swapped", "tidied")
    assert held == ({"GPCI2024", "GPCI2025", "LOCCO2024"} if swapped else {"GPCI2024"})
    if not swapped:  # the old manifest and every table it names are untouched
        assert all(_snapshot(data_dir)[name] == data for name, data in old.items())
    # the next import cleans up what the crash left, says so, and loses nothing
    result = runner.invoke(app, ["data", "import", str(small[3])])
    assert result.exit_code == 0, result.output
    leftovers = step in ("table-written", "manifest-staged")  # tables no manifest names
    assert ("left by an interrupted import" in result.output) == leftovers, result.output
    assert _imported(data_dir) == held | {"LOCCO2025"}
    named = {entry["table"] for entry in read_manifest(data_dir)}
    on_disk = {str(p.relative_to(data_dir)) for p in (data_dir / "tables").rglob("*")
               if p.is_file()}
    assert on_disk == named
    assert not list(data_dir.glob(".tmp-*"))


# -- full disk, read-only directory, a file removed mid-import: one line, nothing changed ----------

def test_full_disk_is_one_line_and_changes_nothing(data_dir: Path, small: list[Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["data", "import", str(small[0])]).exit_code == 0
    before = _snapshot(data_dir)
    real = datadir._write_atomic
    calls = []

    def fill(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:  # the second table: the first is already on disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(datadir, "_write_atomic", fill)
    result = runner.invoke(app, ["data", "import", str(small[1]), str(small[2])])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert "no space left" in line and "nothing was imported" in line and str(data_dir) in line
    assert _snapshot(data_dir) == before


def test_read_only_directory_is_one_line(data_dir: Path, small: list[Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["data", "import", str(small[0])]).exit_code == 0
    before = _snapshot(data_dir)

    def refuse(path: os.PathLike[str] | str, *args: object, **kwargs: object) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(datadir.os, "open", refuse)  # the lock file is the first write
    result = runner.invoke(app, ["data", "import", str(small[1])])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert "read-only" in line.lower() and str(data_dir) in line
    monkeypatch.undo()
    assert _snapshot(data_dir) == before


def test_uncreatable_directory_is_one_line(tmp_path: Path, small: list[Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("THERABILL_DATA_DIR", str(blocker / "data"))
    result = runner.invoke(app, ["data", "import", str(small[0])])
    assert result.exit_code == 2
    assert str(blocker) in _one_line_error(result.output)


@pytest.mark.parametrize("relative", [
    "gpci/2025/GPCI2025.csv", "locality_county/2025/25LOCCO.csv",
    "pprrvu/2025_oct/PPRRVU2025_Oct.csv",
    "ncci_ptp_practitioner/2026q3_format_sample/ccipra-v322r0-f1.format_sample.txt",
    "mue_practitioner/2026q3_format_sample/MCR_MUE_PractitionerServices_Eff_07-01-2026"
    ".excerpt.csv"])
def test_file_removed_mid_import_is_one_line(cms_dir: Path, data_dir: Path, tmp_path: Path,
                                             relative: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / Path(relative).name
    shutil.copy(cms_dir / relative, copy)
    real = user_import.read_any

    def vanish(kind: str, path: Path, *, extract: bool = False) -> object:
        path.unlink()  # gone after the name was checked, before it was read
        return real(kind, path, extract=extract)

    monkeypatch.setattr(user_import, "read_any", vanish)
    result = runner.invoke(app, ["data", "import", "--partial", str(copy)])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert copy.name in line and "cannot read" in line
    assert not data_dir.exists()


# -- a damaged manifest or table: check falls back, info says how to repair ------------------------

def _damage(data_dir: Path, how: str) -> None:
    manifest = data_dir / "manifest.json"
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    if how == "truncated manifest":
        manifest.write_bytes(manifest.read_bytes()[: manifest.stat().st_size // 2])
    elif how == "deleted table":
        (data_dir / entries[0]["table"]).unlink()
    elif how == "damaged table":
        table = data_dir / entries[0]["table"]
        table.write_bytes(table.read_bytes()[:-40])
    elif how == "path outside":
        entries[0]["release_id"] = "../../../escaped"
        manifest.write_text(json.dumps(entries), encoding="utf-8")
    elif how == "table outside":
        entries[0]["table"] = "gpci/../../../escaped.csv"
        manifest.write_text(json.dumps(entries), encoding="utf-8")


@pytest.mark.parametrize("how", ["truncated manifest", "deleted table", "damaged table",
                                 "path outside", "table outside"])
def test_damaged_data_falls_back_to_bundled_with_the_repair_command(
        data_dir: Path, small: list[Path], tmp_path: Path, how: str) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    _damage(data_dir, how)
    with pytest.warns(DataDirWarning, match="data reset"):
        reference = load_reference(data_dir)
    assert reference.origin["GPCI2025"] == "bundled"
    result = therabill.check(VISIT, reference=reference)
    assert result.lines[0].allowed is not None
    visit = tmp_path / "visit.json"
    visit.write_text(json.dumps(VISIT), encoding="utf-8")
    cli = Path(sys.executable).with_name("therabill")
    checked = subprocess.run([str(cli), "check", str(visit), "--format", "json"],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "THERABILL_DATA_DIR": str(data_dir)})
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["lines"][0]["allowed"] is not None
    # besides check's own one-line summary, one line: the warning
    warning = _one_line_error("\n".join(line for line in checked.stderr.splitlines()
                                         if not line.startswith("therabill check:")))
    assert warning.startswith("warning: ") and "data reset" in warning
    info = runner.invoke(app, ["data", "info"], env={"COLUMNS": "200"})
    assert info.exit_code == 1
    damage = [line for line in info.output.splitlines() if line.startswith("damaged:")]
    assert len(damage) == 1 and "data reset" in damage[0] and str(data_dir) in damage[0]
    assert "RVU25A" in info.output  # the bundled listing is still shown
    # a new import refuses to build on damage it would carry forward ...
    again = runner.invoke(app, ["data", "import", str(small[0])])
    assert again.exit_code == 2 and "data reset" in _one_line_error(again.output)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "escaped.csv").exists()
    # ... and the repair named works
    assert runner.invoke(app, ["data", "reset"]).exit_code == 0
    assert runner.invoke(app, ["data", "info"]).exit_code == 0
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    assert not load_reference(data_dir).problems


def test_reset_keeps_payers_and_marker(data_dir: Path, small: list[Path]) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    (data_dir / "payers").mkdir()
    (data_dir / "payers" / "acme.yaml").write_text("x\n", encoding="utf-8")
    assert runner.invoke(app, ["data", "reset"]).exit_code == 0
    assert sorted(os.listdir(data_dir)) == sorted([datadir.MARKER, datadir.LOCK, "payers"])


def test_release_id_that_is_a_path_is_refused() -> None:
    from therabill.reference.tables import check_release_id

    for bad in ("../x", "a/b", "..", "", "x" * 80, "a\nb", "RVU..25"):
        with pytest.raises(ValueError):
            check_release_id(bad)
    assert check_release_id("MUE-2024-07-01") == "MUE-2024-07-01"


def test_data_dir_error_names_path_cause_and_repair() -> None:
    error = DataDirError("/x/manifest.json", "is damaged (bad JSON)", "run `therabill data "
                         "reset` and import the files again")
    assert str(error) == ("/x/manifest.json: is damaged (bad JSON); run `therabill data reset` "
                          "and import the files again")


# -- the data commands' output: one line when it cannot be written ---------------------------------

@pytest.mark.parametrize("args", [["data", "info"], ["data", "info", "--format", "json"],
                                  ["data", "import", "GPCI2025"]])
def test_output_to_a_full_device_is_one_line(args: list[str], data_dir: Path,
                                             small: list[Path]) -> None:
    args = [str(small[1]) if a == "GPCI2025" else a for a in args]
    cli = Path(sys.executable).with_name("therabill")
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(cli), *args], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120, env={**os.environ, "THERABILL_DATA_DIR": str(data_dir)})
    assert done.returncode == 2
    line = _one_line_error(done.stderr)
    assert line == "error: standard output: No space left on device"


def test_broken_pipe_is_quiet(data_dir: Path) -> None:
    cli = Path(sys.executable).with_name("therabill")
    reader = subprocess.Popen([str(cli), "data", "info"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              env={**os.environ, "THERABILL_DATA_DIR": str(data_dir),
                                   "COLUMNS": "80"})
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # like `| head -c 10`
    error = reader.stderr.read().decode()
    assert reader.wait(timeout=120) != 0 or not error
    assert "Traceback" not in error and "Exception ignored" not in error


def test_build_into_a_missing_place_is_one_line(tmp_path: Path, cms_dir: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["data", "build", "--source", str(cms_dir), "--out",
                                 str(blocker / "out")])
    assert result.exit_code == 2
    assert str(blocker) in _one_line_error(result.output)


# -- any manifest at all: the bundled data answers, never an exception ------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
FIELDS = ("kind", "release_id", "table", "source", "effective_from", "year", "table_sha256",
          "partial", "covers")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), value=JSON, whole=st.booleans())
def test_any_damaged_manifest_falls_back_without_an_exception(
        tmp_path_factory: pytest.TempPathFactory, field: str, value: object,
        whole: bool) -> None:
    directory = tmp_path_factory.mktemp("manifest") / "data"
    directory.mkdir()
    entry = {"kind": "gpci", "release_id": "GPCI2025", "table": "gpci/GPCI2025.csv",
             "source": {"file_name": "GPCI2025.csv", "sha256": "0" * 64, "rows": 1},
             "year": 2025}
    (directory / "gpci").mkdir()
    (directory / "gpci" / "GPCI2025.csv").write_text(
        "mac,locality,state,name,work,pe,mp,work_unfloored\n"
        "10112,00,CA,SOMEWHERE,1.000,1.000,1.000,\n", encoding="utf-8")
    manifest: object = value if whole else [{**entry, field: value}]
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDirWarning)
        reference = load_reference(directory)
    if reference.problems:
        assert reference.origin["GPCI2025"] == "bundled"
        assert all("data reset" in p or "cannot be read" in p for p in reference.problems)
    else:
        assert reference.gpci[2025].release_id == "GPCI2025"


def test_old_copy_with_a_payer_file_not_kept_is_left_alone(data_dir: Path,
                                                           small: list[Path]) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    old = datadir.leftover_copy(data_dir)
    shutil.copytree(data_dir, old)
    (old / "payers").mkdir()
    (old / "payers" / "acme.yaml").write_text("edited only here\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "import", str(small[0])])
    assert result.exit_code == 0, result.output
    assert "remove it yourself" in result.output
    assert (old / "payers" / "acme.yaml").read_text(encoding="utf-8") == "edited only here\n"


def test_old_copy_with_releases_not_in_the_directory_is_kept(data_dir: Path,
                                                             small: list[Path]) -> None:
    assert runner.invoke(app, ["data", "import", str(small[1])]).exit_code == 0
    old = datadir.leftover_copy(data_dir)
    data_dir.rename(old)
    data_dir.mkdir()  # someone made an empty directory where the data was
    result = runner.invoke(app, ["data", "import", str(small[0])])
    assert result.exit_code == 0, result.output
    assert "remove it yourself" in result.output
    assert _imported(old) == {"GPCI2025"}


def test_data_commands_run_with_stdin_closed(data_dir: Path, small: list[Path]) -> None:
    cli = Path(sys.executable).with_name("therabill")
    env = {**os.environ, "THERABILL_DATA_DIR": str(data_dir)}
    for args in (["data", "import", str(small[1])], ["data", "info", "--format", "json"]):
        done = subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=120,
                              env=env, preexec_fn=lambda: os.close(0))
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    assert _imported(data_dir) == {"GPCI2025"}


def test_huge_file_is_refused_before_it_is_read(data_dir: Path, tmp_path: Path) -> None:
    from therabill.reference.importers.common import MAX_SOURCE_BYTES

    huge = tmp_path / "PPRRVU25_JAN.csv"
    with huge.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_SOURCE_BYTES + 1)
    result = runner.invoke(app, ["data", "import", str(huge)])
    assert result.exit_code == 2
    assert "not the official file" in _one_line_error(result.output)
    assert not data_dir.exists()
