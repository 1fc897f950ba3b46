"""Damaged copies of every official file in ``../shared/cms`` through ``therabill data import``.

For each file a few variants, made the same way every run: cut in the middle of a data row,
cut at a line boundary after 90% of the lines, a data row whose first field is garbage, the first
4 KiB overwritten with noise, and an empty file. Each must be refused with one line naming the
file (exit 2, no traceback), and the data directory, which already holds an import, must be left
byte for byte as it was. The cut inside a row is also tried with ``--partial``: a partial import
accepts less than a whole file, never a broken one.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from therabill.cli import app
from therabill.reference.paths import cms_source_dir

runner = CliRunner()
SUFFIXES = {".csv", ".txt"}


def _official_files() -> list[str]:
    root = cms_source_dir()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in SUFFIXES)


def _data_lines(data: bytes) -> list[int]:
    """Offsets of lines that look like data rows (start with a code or a number)."""
    offsets, at = [], 0
    for line in data.splitlines(keepends=True):
        bare = line.lstrip(b'"')
        if bare[:1].isalnum() and not bare.startswith((b"HDR", b"TRL", b"Column", b"HCPCS")):
            offsets.append(at + len(line) - len(bare))
        at += len(line)
    return offsets


def _middle_row(data: bytes) -> int:
    rows = _data_lines(data)
    assert rows, "no data rows found"
    return rows[len(rows) // 2]


def cut_in_row(data: bytes) -> bytes:
    return data[: _middle_row(data) + 2]


def cut_lines(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(lines[: int(len(lines) * 0.9)])


def garbage_code(data: bytes) -> bytes:
    at = _middle_row(data)
    return data[:at] + b"#@!" + data[at + 3:]


def noise_head(data: bytes) -> bytes:
    noise = random.Random(len(data)).randbytes(4096)
    return noise + data[4096:]


def empty(data: bytes) -> bytes:
    return b""


VARIANTS: dict[str, Callable[[bytes], bytes]] = {
    "cut in a row": cut_in_row, "cut at 90% of lines": cut_lines,
    "garbage code": garbage_code, "noise head": noise_head, "empty": empty}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, cms_dir: Path) -> Path:
    """A data directory that already holds one import."""
    target = tmp_path_factory.mktemp("fuzz") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("THERABILL_DATA_DIR", str(target))
        result = runner.invoke(app, ["data", "import", str(cms_dir / "gpci/2025/GPCI2025.csv")])
    assert result.exit_code == 0, result.output
    return target


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("relative", _official_files())
def test_damaged_official_file_is_refused_and_changes_nothing(
        relative: str, cms_dir: Path, seeded: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THERABILL_DATA_DIR", str(seeded))
    before = _snapshot(seeded)
    source = cms_dir / relative
    data = source.read_bytes()
    tries = [(name, make, []) for name, make in VARIANTS.items()]
    tries.append(("cut in a row", cut_in_row, ["--partial"]))
    for name, make, flags in tries:
        copy = tmp_path / name.replace(" ", "-").replace("%", "") / source.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(make(data))
        result = runner.invoke(app, ["data", "import", *flags, str(copy)])
        lines = [line for line in result.output.splitlines() if line.strip()]
        where = f"{relative} ({name}{' --partial' if flags else ''})"
        assert result.exit_code == 2, f"{where} was accepted: {result.output}"
        assert len(lines) == 1 and "Traceback" not in result.output, where
        assert lines[0].startswith("error: ") and source.name in lines[0], where
        assert _snapshot(seeded) == before, f"{where} changed the data directory"
        shutil.rmtree(copy.parent)
