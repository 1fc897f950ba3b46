"""The tables and text people read, at 80 and 120 columns: whole numbers, whole words."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

import therabill
from therabill import cli
from therabill.render import render_data_notes, render_result

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
WIDTHS = (80, 120)
MASSAGE = json.loads((EXAMPLES / "massage-and-manual.json").read_text(encoding="utf-8"))
# A PT visit where an assistant furnished 23 of 36 minutes of 97110 (CMS's CQ example shape).
ASSISTED = {"visit_id": "cq", "date_of_service": "2025-05-12", "locality": "10112-00",
            "deductible_remaining": 0,
            "lines": [{"code": "97110", "minutes": 36, "assistant_minutes": 23},
                      {"code": "97140", "minutes": 30}]}


def console(width: int) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None, highlight=False)


def text_of(out: Console) -> str:
    assert isinstance(out.file, io.StringIO)
    return out.file.getvalue()


def flat(text: str) -> str:
    """The words of ``text`` on one line, frame characters dropped: a word broken by wrapping
    shows up as two words here, so a whole sentence found in it was printed unbroken."""
    return " ".join(re.sub(r"[│┃]", " ", text).split())


def assert_within(text: str, width: int) -> None:
    for line in text.splitlines():
        assert len(line.rstrip()) <= width, line


def invoke(args: list[str], width: int, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a command with its tables printed on a console of ``width`` columns."""
    out = console(width)
    monkeypatch.setattr(cli, "console", out)
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    return text_of(out)


# -------------------------------------------------------------------------- check view
@pytest.mark.parametrize("width", WIDTHS)
def test_check_view_puts_decisions_under_each_line(width: int) -> None:
    out = console(width)
    render_result(out, therabill.check(MASSAGE))
    text = text_of(out)
    assert_within(text, width)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("│ 97124"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i][0] in "├╰")
    row = lines[start].split()
    assert row[1:6] == ["97124", "1", "GP", "59", "denied"]
    block = flat("\n".join(lines[start + 1:end]))
    # The denial sits under its line, its sentence whole (never a squeezed "why" column).
    assert ("✗ ncci.ptp: 97124 is denied when billed with 97140 on the same day even with 59"
            in block)
    assert "Standards of medical/surgical practice" in block
    assert "why" not in lines[start - 2]
    # The denial is not repeated among the visit findings; the 8-minute-rule total is there.
    assert text.count("ncci.ptp") == 1
    assert "53 timed minutes (PT) make 4 unit(s)" in flat(text)
    total = next(line for line in lines if line.startswith("│ total")).split()
    assert total[1:6] == ["total", "3", "76.88", "60.27", "15.38"]


def test_check_view_fits_a_screen_or_two_at_80_columns() -> None:
    out = console(80)
    render_result(out, therabill.check(MASSAGE))
    assert len(text_of(out).splitlines()) <= 48


def test_wider_console_gives_longer_lines_not_taller_rows() -> None:
    heights = {}
    for width in WIDTHS:
        out = console(width)
        render_result(out, therabill.check(MASSAGE))
        heights[width] = len(text_of(out).splitlines())
    assert heights[120] < heights[80]


@pytest.mark.parametrize("width", WIDTHS)
def test_assistant_split_lines_show_their_own_minutes(width: int) -> None:
    out = console(width)
    render_result(out, therabill.check(ASSISTED))
    rows = [line.split()[1:] for line in text_of(out).splitlines()
            if line.startswith("│ 97110")]
    # Therapist's part: 13 minutes, 1 unit; the assistant's part: 23 minutes, 1 unit with CQ.
    assert [row[:5] for row in rows] == [["97110", "1", "GP", "payable", "13"],
                                         ["97110", "1", "GP", "CQ", "payable"]]
    assert rows[1][5] == "23"


def test_unpriced_visit_shows_its_error_first_and_no_amounts() -> None:
    out = console(80)
    render_result(out, therabill.check({**ASSISTED, "locality": "99999-99"}))
    text = text_of(out)
    findings = flat(text.split("visit findings", 1)[1])
    # Errors come first among the visit findings (the engine lists the 8-minute total first).
    assert findings.startswith("✗ ") and "99999-99" in findings.split(" · ")[0]
    rows = [line.split() for line in text.splitlines() if line.startswith("│ 97")]
    assert rows and all(row[-4:-1] == ["—", "—", "—"] for row in rows)


def test_data_notes_once_per_run() -> None:
    results = [therabill.check({**MASSAGE, "visit_id": f"v{n}"}) for n in range(3)]
    out = console(120)
    for result in results:
        render_result(out, result, show_data=False)
    render_data_notes(out, results[0].data)
    text = text_of(out)
    assert text.count("data: rvu RVU25A") == 1
    assert text.count("note: ") == len(results[0].data.notes) > 0
    single = console(120)
    render_result(single, results[0])
    assert text_of(single).count("data: rvu RVU25A") == 1


def test_data_notes_of_a_run_with_several_dates() -> None:
    dated = [therabill.check({**MASSAGE, "visit_id": f"v{n}", "date_of_service": day})
             for n, day in enumerate(("2025-06-03", "2024-08-01", "2025-06-04"))]
    out = console(200)
    render_data_notes(out, (result.data for result in dated))
    text = text_of(out)
    (used,) = [line for line in text.splitlines() if line.startswith("data:")]
    assert "rvu RVU25A" in used and "rvu RVU24C" in used
    assert used.count("rvu RVU25A") == 1
    notes = [note for result in dated for note in result.data.notes]
    assert text.count("note: ") == len(set(notes)) < len(notes)


def test_explain_option_lays_out_the_arithmetic_in_dollars() -> None:
    out = console(80)
    render_result(out, therabill.check(MASSAGE), explain="97140")
    text = flat(text_of(out))
    assert "allowed $44.88 = payer $35.18 + patient $8.98 + reductions $0.72" in text


# --------------------------------------------------------------------------- guide views
@pytest.mark.parametrize("width", WIDTHS)
def test_history_never_cuts_rvus(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = invoke(["history", "97124", "97140"], width, monkeypatch)
    assert_within(text, width)
    assert "…" not in text
    for rvus in ("0.35/0.38/0.01", "0.43/0.41/0.01", "0.43/0.40/0.01", "0.35/0.56/0.01"):
        assert rvus in text
    for amount in ("$26.56", "$30.51", "$29.76", "$27.17"):
        assert amount in text
    assert ("Consolidated Appropriations Act, 2024 (+1.68% for 2024-03-09 to 2024-12-31, not "
            "retroactive)") in flat(text)


def test_history_many_codes_split_into_tables_at_80(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = ["97124", "97140", "97110", "97530", "97112", "97116"]
    text = invoke(["history", *codes, "--from", "2025"], 80, monkeypatch)
    assert_within(text, 80)
    for code in codes:
        assert re.search(rf"┃\s+{code} ┃", text), code
    assert "0.50/0.48/0.01" in text and "$32.02" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_four_codes_keeps_labels_whole(width: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    text = invoke(["compare", "97124", "97140", "97110", "97530", "--date", "2025-06-01",
                   "--locality", "01182-18"], width, monkeypatch)
    assert_within(text, width)
    for label in ("Medicare status", "work / PE / MP RVU", "national", "01182-18"):
        assert f"│ {label} " in text, label
    for amount in ("$29.76", "$27.17", "$28.79", "$34.61", "MPPR $27.03", "$39.00"):
        assert amount in text
    words = flat(text)
    assert "97124 pays $2.59 (9.5%) more than 97140 a unit" in words
    assert "work -$2.59, pe +$5.17, mp +$0.00" in words


@pytest.mark.parametrize("width", WIDTHS)
def test_explain_never_breaks_words(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = invoke(["explain", "97124", "--date", "2025-06-01"], width, monkeypatch)
    assert_within(text, width)
    words = flat(text)
    assert "97140 / 97124: Standards of medical/surgical practice" in words
    assert "97150 / 97124: More extensive procedure" in words
    assert ("massage therapist: no — not a Medicare therapy provider: 97124 furnished by a "
            "massage therapist cannot be billed to Medicare as therapy") in words
    assert ("with CQ (PTA) or CO (OTA), paid at 85% of the amount; general supervision in "
            "private practice from 2025") in words
    assert "$29.76 a unit; MPPR-reduced unit $20.70" in words


# ------------------------------------------------------------------------------ data info
@pytest.mark.parametrize("width", WIDTHS)
def test_data_info_fits_and_shortens_hashes(width: int,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    text = invoke(["data", "info"], width, monkeypatch)
    assert_within(text, width)
    assert "fda64dc114c3…" in text
    assert "fda64dc114c31e9002889c5847fcdcdc1c1ee8a1d8b26765b55e1f5da6e61bab" not in text
    assert "--hashes" in text
    assert "RVU26A" in text and "conversion_factor" in text


@pytest.mark.parametrize("width", (80, 120, 250))
def test_data_info_hashes_whole(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    text = invoke(["data", "info", "--hashes"], width, monkeypatch)
    assert "fda64dc114c31e9002889c5847fcdcdc1c1ee8a1d8b26765b55e1f5da6e61bab" in text.replace(
        "\n", "")
    # Whole on one line, not folded across two.
    assert any("fda64dc114c31e9002889c5847fcdcdc1c1ee8a1d8b26765b55e1f5da6e61bab" in line
               for line in text.splitlines())


# ------------------------------------------------------------------------------ courtesies
def test_suggest_lists_what_it_could_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    note = "manual lymphatic drainage to the left arm, then effleurage; xylophone practice, 10 min"
    text = invoke(["suggest", note], 80, monkeypatch)
    assert "not matched" in text and "'xylophone practice'" in text
    assert "10 min" not in text.split("not matched")[1]
    data = json.loads(runner.invoke(cli.app, ["suggest", note, "--format", "json"]).stdout)
    assert data["unmatched"] == ["xylophone practice"]
    assert [s["candidates"][0]["code"] for s in data["suggestions"]] == ["97140", "97124"]


def test_explain_code_outside_the_bundled_tables_says_how_to_import(
        cms_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from therabill.reference.store import default_reference

    monkeypatch.setenv("THERABILL_DATA_DIR", str(tmp_path / "data"))
    default_reference.cache_clear()
    try:
        result = runner.invoke(cli.app, ["explain", "99213", "--date", "2025-11-03"])
        assert result.exit_code == 2
        (line,) = result.stderr.strip().splitlines()
        assert "unknown code 99213: it is outside the bundled tables" in line
        assert "237 therapy codes" in line and "therabill data import PPRRVU" in line
        # Following the advice works: the whole national file makes 99213 known.
        imported = runner.invoke(cli.app, ["data", "import", str(
            cms_dir / "pprrvu/2025_oct/PPRRVU2025_Oct.csv")])
        assert imported.exit_code == 0, imported.output
        default_reference.cache_clear()
        answer = runner.invoke(cli.app, ["explain", "99213", "--date", "2025-11-03",
                                         "--format", "json"])
        assert answer.exit_code == 0, answer.output
        data = json.loads(answer.stdout)
        assert data["medicare"]["rvu_release"] == "RVU25D" and data["price"]["full"]
    finally:
        default_reference.cache_clear()


def test_version() -> None:
    for flag in ("--version", "-V"):
        result = runner.invoke(cli.app, [flag])
        assert result.exit_code == 0
        assert re.fullmatch(r"therabill \d+\.\d+\.\d+\S*\n", result.stdout)


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


def test_short_and_long_help_on_every_command() -> None:
    paths = list(_command_paths(typer.main.get_command(cli.app)))
    assert {("check",), ("explain",), ("compare",), ("history",), ("suggest",),
            ("data", "info"), ("data", "import"), ("data", "build")} <= set(paths)
    for path in paths:
        short = runner.invoke(cli.app, [*path, "-h"])
        long = runner.invoke(cli.app, [*path, "--help"])
        assert short.exit_code == long.exit_code == 0, path
        assert "Usage:" in short.stdout and short.stdout == long.stdout, path
