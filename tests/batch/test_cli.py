"""``therabill batch`` on the command line: the README's command, the closing summary, the
machine-readable progress line, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from therabill.cli import app

from .helpers import write_csv

ROOT = Path(__file__).resolve().parents[2]
CLINIC = ROOT / "examples" / "clinic-month.csv"
runner = CliRunner()


def test_clinic_month_with_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(CLINIC), "-o", str(out), "--report",
                                 str(out / "report.html"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "read 1,016 rows from clinic-month.csv: 1,016 in 400 visits, 0 rejected" in result.stdout
    assert "400 visits = 400 checked + 0 merged" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "findings.parquet", "lines.parquet", "rejects.csv", "report.html", "results.jsonl"]


def test_summary_as_json_and_progress_lines(tmp_path: Path) -> None:
    # a real process with standard error not a terminal: progress as JSON lines
    done = subprocess.run(
        [sys.executable, "-m", "therabill", "batch", str(CLINIC), "-o", str(tmp_path / "o"),
         "--to", "csv", "--detail", "compact", "--summary", "json", "--workers", "1"],
        capture_output=True, text=True, timeout=300, check=True)
    summary = json.loads(done.stdout)
    assert summary["adds_up"] is True
    assert summary["records"] == 1016 and summary["visits"] == 400
    assert "results" not in summary["outputs"]
    progress = [json.loads(line) for line in done.stderr.splitlines()]
    assert progress[-1] == {**progress[-1], "progress": "checking", "done": 400, "total": 400}


def test_errors_are_one_line(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ("visit_id", "DOS", "code"), [("v1", "x", "97110")])
    for args, words in (
        ([str(bad), "-o", str(tmp_path / "o")], "unknown column(s) 'DOS'"),
        ([str(tmp_path / "none.csv"), "-o", str(tmp_path / "o")], "no such file"),
        ([str(bad), "-o", str(tmp_path / "o"), "--map", "DOS"], "--map 'DOS'"),
        ([str(bad), "-o", str(tmp_path / "o"), "--report", "r.pdf"], "an .html file"),
    ):
        result = runner.invoke(app, ["batch", *args])
        assert result.exit_code == 2, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    mapped = runner.invoke(app, ["batch", str(bad), "-o", str(tmp_path / "m"), "--map",
                                 "DOS=date_of_service", "--workers", "1"])
    assert mapped.exit_code == 0, mapped.output
    assert "1 checked" in mapped.stdout


def test_readme_summary_is_what_the_command_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Claims files (batch)", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    result = runner.invoke(app, ["batch", str(CLINIC), "-o", str(tmp_path / "o"),
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:len(shown)] == shown


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty

    master, slave = pty.openpty()
    with subprocess.Popen(
            [sys.executable, "-m", "therabill", "batch", str(CLINIC), "-o", str(tmp_path / "o"),
             "--workers", "1"], stdout=subprocess.PIPE, stderr=slave) as process:
        os.close(slave)
        stdout, _ = process.communicate(timeout=300)
    shown = b""
    while True:
        try:
            data = os.read(master, 65_536)
        except OSError:  # the terminal is closed once the process has ended
            break
        if not data:
            break
        shown += data
    os.close(master)
    assert process.returncode == 0
    assert b"400 visits = 400 checked" in stdout  # the summary stays on standard output
    assert b"checking" in shown and b"400/400" in shown and b"visits/s" in shown
    assert b'"progress"' not in shown  # no JSON lines on a terminal


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: Any) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Claims files (batch)", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "clinic-month.csv").write_bytes(CLINIC.read_bytes())
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "out" / "lines.csv").exists()


def test_an_837p_checked_with_the_map_or_its_envelope_alone(tmp_path: Path) -> None:
    # the sample is sound, so both readings give the same tables; the malformed file loses
    # more claims to the map (element types, lengths and codes) than to the envelope checks
    tables = {}
    for sample in ("claims-837p.x12", "claims-837p-malformed.x12"):
        for flag in ("--x12-map", "--x12-envelope-only"):
            out = tmp_path / f"{sample.removesuffix('.x12')}{flag}"
            result = runner.invoke(app, ["batch", str(ROOT / "examples" / sample), "-o",
                                         str(out), "--to", "csv", "--detail", "compact",
                                         "--summary", "json", "--workers", "1", flag])
            assert result.exit_code == 0, result.output
            summary = json.loads(result.stdout)
            assert summary["adds_up"] is True
            tables[(sample, flag)] = (summary, (out / "lines.csv").read_text(),
                                      (out / "rejects.csv").read_text())
    sound = [tables[("claims-837p.x12", flag)] for flag in ("--x12-map", "--x12-envelope-only")]
    assert sound[0][1:] == sound[1][1:] and sound[0][0]["rejects"] == 0
    mapped, enveloped = (tables[("claims-837p-malformed.x12", flag)]
                         for flag in ("--x12-map", "--x12-envelope-only"))
    assert mapped[0]["rejects"] > enveloped[0]["rejects"] > 0
