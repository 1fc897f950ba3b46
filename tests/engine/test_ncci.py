"""NCCI PTP and MUE edits on the bundled CMS tables (PTP v301r0/v302r0, MUE 2024-07-01).

Indicator 0: nothing unlocks the column-2 code; indicator 1: 59/X{EPSU} may, when documented;
indicator 9 and deleted edits: no edit. MUE: over the value, every unit is denied (MAI 3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from therabill import cli

from .helpers import check, finding, findings, has_words, ln, one, step, steps

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "massage-and-manual.json"


def test_massage_with_manual_therapy_is_denied_even_with_59() -> None:
    result = check(ln("97140", 23, modifiers=["GP"]), ln("97124", 15, modifiers=["GP", "59"]),
                   ln("97110", 15, modifiers=["GP"]), dos="2025-06-03")
    massage = one(result, "97124")
    assert massage.status == "denied"
    assert massage.modifiers == ["GP", "59"]
    assert massage.units == 1  # the denied line keeps its unit
    edit = step(massage, "ncci.ptp")
    assert edit.severity == "error"
    assert has_words(edit.message, "97140/97124", "indicator 0", "even with 59",
                     "no modifier unlocks")
    assert "PTP-v302r0" in edit.source
    assert one(result, "97140").status == one(result, "97110").status == "payable"
    visit_level = finding(result, "ncci.ptp")
    assert visit_level.codes == ("97140", "97124")
    assert "PTP-v302r0" in result.data.releases["ptp"]
    assert result.totals.units == 3


def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # the module console is sized for a terminal; a wide one keeps messages on one line
    monkeypatch.setattr(cli, "console", Console(width=2000, color_system=None,
                                                highlight=False))


def test_cli_table_shows_the_massage_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    _wide_console(monkeypatch)
    outcome = CliRunner().invoke(cli.app, ["check", str(EXAMPLE), "--format", "table"])
    assert outcome.exit_code == 0, outcome.output
    text = outcome.output.splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("│ 97124"))
    end = next(i for i in range(start + 1, len(text)) if text[i][0] in "├└")
    row = "\n".join(text[start:end])  # the row's cells span several text lines
    assert "denied" in text[start] and "GP 59" in text[start]
    assert "ncci.ptp" in row and "indicator 0" in row and "even with 59" in row
    assert "PTP-v302r0" in outcome.output
    assert "Traceback" not in outcome.output


def test_cli_json_shows_the_massage_denial() -> None:
    outcome = CliRunner().invoke(cli.app, ["check", str(EXAMPLE), "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    data = json.loads(outcome.stdout)
    assert data["visit_id"] == "massage-and-manual"
    massage = next(line for line in data["lines"] if line["code"] == "97124")
    assert massage["status"] == "denied"
    assert massage["modifiers"] == ["GP", "59"]
    edit = next(s for s in massage["steps"] if s["rule"] == "ncci.ptp")
    assert has_words(edit["message"], "indicator 0", "even with 59")
    assert "PTP-v302r0" in edit["source"]
    assert any(f["rule"] == "ncci.ptp" for f in data["findings"])
    assert massage["allowed"] == "0.00"


def test_group_with_individual_exercise_needs_a_modifier() -> None:
    result = check(ln("97150"), ln("97110", 20))
    exercise = one(result, "97110")
    assert exercise.status == "denied"
    edit = step(exercise, "ncci.ptp")
    assert has_words(edit.message, "97150/97110", "indicator 1", "59 or XU",
                     "separate time blocks", "notes must show")
    assert one(result, "97150").status == "payable"


@pytest.mark.parametrize("modifier", ["XU", "59"])
def test_group_with_individual_exercise_unlocked_by_xu(modifier: str) -> None:
    result = check(ln("97150"), ln("97110", 20, modifiers=[modifier]))
    exercise = one(result, "97110")
    assert exercise.status == "payable"
    assert exercise.modifiers == ["GP", modifier]
    bypass = step(exercise, "modifier.ncci")
    assert has_words(bypass.message, f"{modifier} on 97110", "97150/97110", "indicator 1",
                     "documentation must support")
    assert not findings(result, "ncci.ptp")


def test_manual_therapy_and_therapeutic_activities_in_2024_have_no_edit() -> None:
    result = check(ln("97140", 20), ln("97530", 20), dos="2024-05-01")
    assert all(line.status == "payable" for line in result.lines)
    assert not findings(result, "ncci.ptp")
    assert "PTP-v301r0" in result.data.releases["ptp"]  # the table in force on that date


def test_manual_therapy_and_therapeutic_activities_in_2019_were_edited() -> None:
    result = check(ln("97140", 20), ln("97530", 20), dos="2019-06-01")
    activities = one(result, "97530")
    assert activities.status == "denied"
    edit = step(activities, "ncci.ptp")
    assert has_words(edit.message, "97140/97530", "indicator 1")
    assert one(result, "97140").status == "payable"
    assert any(has_words(note, "oldest", "started is unknown") for note in result.data.notes)
    assert any("started is unknown" in s.source for s in steps(activities, "ncci.ptp"))


def test_evaluation_with_physical_performance_test() -> None:
    result = check(ln("97161"), ln("97750", 20))
    test = one(result, "97750")
    assert test.status == "denied"
    assert has_words(step(test, "ncci.ptp").message, "97161/97750", "indicator 0")
    assert one(result, "97161").status == "payable"


def test_a_2025_date_uses_the_newest_table_and_says_so() -> None:
    result = check(ln("97110", 20), dos="2025-06-03")
    assert "PTP-v302r0" in result.data.releases["ptp"]
    assert any(has_words(note, "newest", "PTP-v302r0", "applied") for note in result.data.notes)
    assert "mue" in result.data.releases


def test_in_quarter_date_has_no_staleness_note() -> None:
    result = check(ln("97110", 20), dos="2024-08-01")
    assert "PTP-v302r0" in result.data.releases["ptp"]
    assert not any("newest" in note for note in result.data.notes)


def test_mue_denies_every_unit_not_only_the_excess() -> None:
    result = check(ln("97110", 100))
    exercise = one(result, "97110")
    assert (exercise.units, exercise.status) == (7, "denied")
    edit = step(exercise, "ncci.mue")
    assert has_words(edit.message, "7 units", "MUE of 6", "MAI 3", "all units")
    assert "MUE-2024-07-01" in edit.source
    assert finding(result, "ncci.mue").codes == ("97110",)
    assert result.totals.units == 0


def test_mue_at_the_value_passes() -> None:
    result = check(ln("97110", 90))  # 6 units
    assert one(result, "97110").status == "payable"
    assert not findings(result, "ncci.mue")


def test_mue_counts_cq_and_non_cq_lines_of_a_code_together() -> None:
    result = check(ln("97110", 100, assistant_minutes=50))
    lines = [line for line in result.lines if line.code == "97110"]
    assert len(lines) == 2 and sum(line.units for line in lines) == 7
    assert {line.status for line in lines} == {"denied"}
