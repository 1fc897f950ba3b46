"""The guide commands through the CLI: JSON shapes, readable tables, the chart, error paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from therabill.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------------------ compare
@pytest.mark.parametrize(("day", "rvus", "national", "local"), [
    # National: CMS RVU18A/RVU25A × CF (PROVENANCE.md); LA 2025: CMS PFCA252 payment file.
    ("2018-06-01", (("0.35", "0.51", "0.01"), ("0.43", "0.35", "0.01")), ("31.32", "28.44"),
     ("35.04", "31.27")),
    ("2025-06-01", (("0.35", "0.56", "0.01"), ("0.43", "0.40", "0.01")), ("29.76", "27.17"),
     ("33.65", "30.17")),
])
def test_compare_97124_97140(day: str, rvus: tuple[tuple[str, ...], ...],
                             national: tuple[str, str], local: tuple[str, str]) -> None:
    data = run_json("compare", "97124", "97140", "--date", day, "--locality", "01182-18")
    assert data["codes"] == ["97124", "97140"]
    sides = data["sides"]
    for side, (work, pe, mp) in zip(sides, rvus, strict=True):
        got = side["rvu"]["rvus"]
        assert (got["work"], got["pe_nonfacility"], got["mp"]) == (work, pe, mp)
    assert tuple(s["national"]["full"] for s in sides) == national
    assert tuple(s["local"]["full"] for s in sides) == local
    assert all(s["national"]["conversion_factor"]["source"] for s in sides)
    for gap in data["differences"]:
        assert gap["driver"] == "pe"
        assert "practice expense" in gap["text"]
    assert [g["place"] for g in data["differences"]] == ["national", "01182-18"]
    together = data["together"][0]
    assert together["verdict"] == "no"
    assert together["edits"] == [{
        "column_1": "97140", "column_2": "97124", "modifier_indicator": 0,
        "unlock": "none: no modifier unlocks it; 97124 is not paid with 97140 the same day",
        "rationale": "Standards of medical/surgical practice"}]
    assert "even with 59" in together["text"]


def test_compare_table_is_readable() -> None:
    result = runner.invoke(app, ["compare", "97124", "97140", "--date", "2025-06-01",
                                 "--locality", "01182-18"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("$29.76", "$27.17", "$33.65", "$30.17", "practice expense",
                 "97124/97140: no", "RVU25A", "32.3465"):
        assert text in out, text


# ------------------------------------------------------------------------------ explain
def test_explain_97014_mentions_g0283() -> None:
    data = run_json("explain", "97014", "--date", "2025-06-01")
    assert data["medicare"]["status"] == "I"
    assert data["medicare"]["use_instead"] == "G0283"
    assert data["price"]["full"] is None
    table = runner.invoke(app, ["explain", "97014", "--date", "2025-06-01"], env=WIDE)
    assert table.exit_code == 0 and "G0283" in table.stdout


def test_explain_97124_massage_therapist_may_not_bill_medicare() -> None:
    data = run_json("explain", "97124", "--date", "2025-06-01")
    massage = next(p for p in data["performers"] if p["who"] == "massage therapist")
    assert massage["may_furnish"] == "no"
    assert massage["source"] == "CMS Pub 100-02 ch.15 §230.1"
    assert data["rvu"]["rvus"] == {"work": "0.35", "pe_nonfacility": "0.56",
                                   "pe_facility": "0.56", "mp": "0.01", "total": "0.92"}
    assert (data["price"]["full"], data["price"]["reduced"]) == ("29.76", "20.70")
    assert data["mue"]["value"] == 4
    table = runner.invoke(app, ["explain", "97124", "--date", "2025-06-01"], env=WIDE)
    out = table.stdout
    assert "massage therapist" in out and "not a Medicare therapy provider" in out
    assert "State practice acts differ" in out
    assert "PTP-v302r0" in out and "$29.76" in out


# ------------------------------------------------------------------------------ history
def test_history_plot_png(tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    result = runner.invoke(app, ["history", "97124", "97140", "--plot", str(chart)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"chart written to {chart}" in result.stdout.replace("\n", "")
    data = chart.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    height, width, _ = imread(chart).shape
    assert (width, height) == (1200, 744)  # 10 × 6.2 inches at 120 dpi, as plot.py draws it
    assert "$31.32" in result.stdout and "RVU24C" in result.stdout


def test_history_json_shape(tmp_path: Path) -> None:
    data = run_json("history", "97124", "97140", "--from", "2024", "--to", "2024")
    assert [row["label"] for row in data["rows"]] == ["2024 Jan", "2024-03-09", "2024 Jul"]
    july = data["rows"][2]
    assert july["conversion_factor"]["value"] == "33.2875"
    assert [p["full"] for p in july["points"]] == ["30.29", "26.96"]
    assert data["plot"] is None


# ------------------------------------------------------------------------------ suggest
def test_suggest_manual_lymphatic_drainage() -> None:
    data = run_json("suggest", "manual lymphatic drainage")
    (only,) = data["suggestions"]
    assert [c["code"] for c in only["candidates"]] == ["97140"]
    assert "manual therapy" in only["reason"]
    table = runner.invoke(app, ["suggest", "manual lymphatic drainage"], env=WIDE)
    assert table.exit_code == 0
    assert "97140" in table.stdout and "manual therapy" in table.stdout


def test_suggest_no_match_says_so() -> None:
    result = runner.invoke(app, ["suggest", "xylophone"])
    assert result.exit_code == 0
    assert "No technique" in result.stdout
    assert run_json("suggest", "xylophone")["suggestions"] == []


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("args", "message"), [
    (["explain", "99999"], "unknown code 99999"),
    (["explain", "97124", "--date", "2016-05-01"], "no CMS RVU file is held for 2016-05-01"),
    (["explain", "97124", "--date", "2027-02-01"], "no CMS RVU file is held for 2027-02-01"),
    (["explain", "97124", "--date", "June 1"], "--date must be YYYY-MM-DD"),
    (["explain", "97124", "--locality", "99999-99"], "locality '99999-99' is not in"),
    (["explain", "97124", "--payer", "aetna"], "unknown payer 'aetna'"),
    (["explain", "97124", "--format", "xml"], "--format must be table or json"),
    (["compare", "97124", "99999"], "unknown code 99999"),
    (["compare", "97124", "--date", "2025-01-01"], "at least two different codes"),
    (["compare", "97124", "97140", "--payer", "aetna"], "unknown payer"),
    (["history", "97124", "--from", "2016"], "no CMS RVU file is held for 2016"),
    (["history", "97124", "--to", "2027"], "no CMS RVU file is held for 2027"),
    (["history", "97124", "--locality", "99999-99"], "locality '99999-99' is not in"),
    (["history", "97124", "--plot", "chart.pdf"], "--plot must name a .png or .svg file"),
    (["suggest", "massage", "--format", "xml"], "--format must be table or json"),
])
def test_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
