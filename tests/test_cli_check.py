"""`therabill check` as a process: streaming, the summary line, exit status, and one line (never
a traceback) when the input or the output goes away."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from therabill import cli

THERABILL = [sys.executable, "-m", "therabill"]


def visit(n: int, **fields: Any) -> dict[str, Any]:
    return {"visit_id": f"v{n}", "date_of_service": "2025-03-04",
            "lines": [{"code": "97110", "minutes": 38}, {"code": "97140", "minutes": 20}],
            **fields}


def jsonl(path: Path, count: int, broken_every: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            if broken_every and n % broken_every == broken_every - 1:
                out.write('{"visit_id": "broken", \n')
            else:
                out.write(json.dumps(visit(n)) + "\n")
    return path


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def invoke(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli.app, ["check", *args], input=stdin)


def test_summary_line_and_one_result_per_record(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "v.jsonl", 10, broken_every=4)
    done = invoke(str(path), "--format", "json")
    assert done.exit_code == 0, done.output
    records = [json.loads(t) for t in done.stdout.splitlines()]
    assert len(records) == 10
    assert [r["visit_id"] for r in records][:4] == ["v0", "v1", "v2", ""]
    assert done.stderr.strip() == ("therabill check: 10 visit(s) read, 10 result(s) written, "
                                   "2 with input errors")


def test_strict_exit_status(tmp_path: Path) -> None:
    broken = jsonl(tmp_path / "b.jsonl", 5, broken_every=2)
    clean = jsonl(tmp_path / "c.jsonl", 3)
    assert invoke(str(broken), "--format", "json", "--strict").exit_code == 1
    assert invoke(str(broken), "--format", "json").exit_code == 0
    assert invoke(str(clean), "--format", "json", "--strict").exit_code == 0
    bad_value = tmp_path / "v.json"
    bad_value.write_text(json.dumps(visit(1, date_of_service=20250304)))
    assert invoke(str(bad_value), "--format", "json", "--strict").exit_code == 1


@pytest.mark.parametrize("args", [["--format", "xml"], ["--format", "json", "--detail", "all"],
                                  ["--detail", "lines"]])
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str]) -> None:
    path = jsonl(tmp_path / "v.jsonl", 1)
    done = invoke(str(path), *args)
    assert done.exit_code == 2
    one_error_line(done.stderr)


def test_an_array_that_breaks_leaves_valid_output_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text("[" + json.dumps(visit(1)) + ",\n" + json.dumps(visit(2)))
    for detail in ("full", "lines", "totals"):
        done = invoke(str(path), "--format", "json", "--detail", detail)
        assert done.exit_code == 2
        document = json.loads(done.stdout)
        results = document["results"] if detail == "lines" else document
        assert [r["visit_id"] for r in results] == ["v1", "v2"]
        assert "not closed" in one_error_line(done.stderr)
        assert "2 result(s) written" in done.stderr


def test_binary_input_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    path.write_bytes(bytes(range(256)) * 10)
    done = invoke(str(path), "--format", "json")
    assert done.exit_code == 2 and done.stdout == ""
    assert "not text" in one_error_line(done.stderr)


def test_table_format_streams_too(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "v.jsonl", 3)
    done = invoke(str(path))
    assert done.exit_code == 0
    assert done.stdout.count("visit v") == 3
    assert "3 result(s) written" in done.stderr


def test_standard_input(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(visit(n)) for n in range(3))
    done = invoke("-", "--format", "json", "--detail", "totals", stdin=text)
    assert done.exit_code == 0
    assert [json.loads(t)["visit_id"] for t in done.stdout.splitlines()] == ["v0", "v1", "v2"]


# --- as a real process -------------------------------------------------------------------------


def test_first_result_is_written_before_the_input_ends() -> None:
    child = subprocess.Popen([*THERABILL, "check", "-", "--format", "json", "--detail",
                              "totals"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write((json.dumps(visit(1)) + "\n" + json.dumps(visit(2)) + "\n").encode())
        child.stdin.flush()
        ready, _, _ = select.select([child.stdout], [], [], 60)
        assert ready, "no result while the input is still open"
        first = json.loads(child.stdout.readline())
        assert first["visit_id"] == "v1"
        assert child.poll() is None  # still reading
        child.stdin.write((json.dumps(visit(3)) + "\n").encode())
        child.stdin.close()
        rest = child.stdout.read().decode().splitlines()
        assert [json.loads(t)["visit_id"] for t in rest] == ["v2", "v3"]
        assert child.wait(60) == 0
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()


@pytest.mark.parametrize("format", ["json", "table"])
def test_broken_pipe_is_one_line(tmp_path: Path, format: str) -> None:
    path = jsonl(tmp_path / "v.jsonl", 3000)
    child = subprocess.Popen([*THERABILL, "check", str(path), "--format", format],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.read(100)
    child.stdout.close()  # the reader goes away, as `| head` does
    stderr = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(120) == 3
    assert "broken pipe" in one_error_line(stderr)


@pytest.mark.parametrize("format", ["json", "table"])
def test_full_device_is_one_line(tmp_path: Path, format: str) -> None:
    path = jsonl(tmp_path / "v.jsonl", 5)
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*THERABILL, "check", str(path), "--format", format],
                              stdout=full, stderr=subprocess.PIPE, timeout=120, check=False)
    assert done.returncode == 3
    assert "No space left" in one_error_line(done.stderr.decode())


def test_closed_standard_input_is_one_line() -> None:
    command = " ".join([*THERABILL, "check", "-", "--format", "json"])
    done = subprocess.run(["bash", "-c", f"{command} <&-"], capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 2
    assert "standard input is closed" in one_error_line(done.stderr.decode())


@pytest.mark.parametrize("format", ["json", "table"])
def test_closed_standard_output_is_one_line(tmp_path: Path, format: str) -> None:
    path = jsonl(tmp_path / "v.jsonl", 2)
    command = " ".join([*THERABILL, "check", str(path), "--format", format])
    done = subprocess.run(["bash", "-c", f"{command} >&-"], capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 3
    assert "standard output is closed" in one_error_line(done.stderr.decode())


@pytest.mark.parametrize("detail", ["full", "lines"])
def test_memory_stays_flat_as_the_input_grows(tmp_path: Path, detail: str) -> None:
    """Peak memory of the whole process on 400 and on 4,000 visits: the tenfold input costs
    at most a few megabytes more (results are written, never held)."""
    peaks = []
    for count in (400, 4_000):
        path = tmp_path / f"v{count}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for n in range(count):  # varied: minutes, dates, localities, payers
                out.write(json.dumps(visit(
                    n, date_of_service=f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
                    locality=("national", "10112-00", "01182-18")[n % 3],
                    payer=("medicare", "commercial-cpt", "commercial-mppr")[n % 3],
                    lines=[{"code": "97110", "minutes": 8 + n % 53},
                           {"code": "97140", "minutes": 8 + n % 37,
                            "charge": f"{10 + n % 30}.{n % 97:02d}"}])
                ) + "\n")
        started = time.monotonic()
        child = subprocess.Popen([*THERABILL, "check", str(path), "--format", "json", "--detail",
                                  detail], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert child.stderr is not None
        stderr = child.stderr.read().decode()
        child.stderr.close()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.returncode == 0, stderr
        assert time.monotonic() - started < 300
        peaks.append(usage.ru_maxrss)
    assert peaks[1] - peaks[0] < 2 * 1024, peaks  # KiB


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    """A running count goes to standard error when it is a terminal (and is wiped at the end);
    redirected, standard error holds the summary line alone."""
    import pty

    path = jsonl(tmp_path / "v.jsonl", 12_000)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([*THERABILL, "check", str(path), "--format", "json", "--detail",
                               "totals"], stdout=subprocess.DEVNULL, stderr=follower,
                              timeout=300, check=False)
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0
    text = seen.decode()
    assert "\rchecking visits: " in text
    assert text.rstrip().endswith("12,000 result(s) written, 0 with input errors")
    redirected = subprocess.run([*THERABILL, "check", str(path), "--format", "json", "--detail",
                                 "totals"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=300, check=False)
    assert redirected.stderr.decode().count("\n") == 1
    assert "checking visits" not in redirected.stderr.decode()
