"""Bad input: every problem is an ``input`` (or ``data``) finding naming the field, the rest of
the visit is still checked, and the CLI never shows a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import therabill
from therabill import cli

from .helpers import check, finding, findings, has_words, ln, one, step, visit


def _input_messages(result: Any) -> list[str]:
    return [f.message for f in findings(result, "input")]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"visit_id": None}, "visit_id", ("required",)),
        ({"date_of_service": "2025-13-04"}, "date_of_service", ("date",)),
        ({"date_of_service": "yesterday"}, "date_of_service", ("date",)),
        ({"date_of_servise": "2025-03-04"}, "date_of_servise", ("extra",)),
        ({"lines": "97110"}, "lines", ("tuple",)),
        ({"discipline": "PTA"}, "discipline", ("PT", "OT", "SLP")),
    ],
)
def test_bad_visit_fields_are_named(change: dict[str, Any], field: str,
                                    words: tuple[str, ...]) -> None:
    raw = visit(ln("97110", 20))
    raw.update(change)
    raw = {k: v for k, v in raw.items() if v is not None}
    result = therabill.check(raw)
    messages = _input_messages(result)
    assert any(m.startswith(f"{field}:") and has_words(m, *words) for m in messages), messages
    assert all(f.severity == "error" for f in findings(result, "input"))
    assert result.lines == []  # a visit that cannot be read is not priced
    assert result.date_of_service is None


def test_unknown_payer_is_named_with_the_known_ones() -> None:
    result = check(ln("97110", 20), payer="aetna")
    message = finding(result, "input").message
    assert has_words(message, "payer", "aetna", "medicare", "commercial-cpt")
    assert result.lines == []


def test_a_visit_must_be_an_object() -> None:
    result = therabill.check([{"visit_id": "x"}])  # type: ignore[arg-type]
    assert has_words(finding(result, "input").message, "JSON object")


def test_bad_lines_are_reported_and_the_others_still_checked() -> None:
    result = check(
        ln("97110", 20),  # 0: good
        ln("97530", -5),  # 1: negative minutes (model validation)
        ln("99999", 10),  # 2: unknown code
        ln("97112"),  # 3: timed code without minutes
        ln("97140", 10, assistant_minutes=12),  # 4: assistant minutes over the total
        ln("97116", 10, minuts=5),  # 5: typo in a field name
        ln("97530", 10),  # 6: good
    )
    messages = _input_messages(result)
    assert any(m.startswith("lines.1.minutes:") and "greater than or equal to 0" in m
               for m in messages), messages
    assert any(m.startswith("lines.2.code:") and has_words(m, "99999", "not a code")
               for m in messages), messages
    assert any(m.startswith("lines.3.minutes:") and has_words(m, "97112", "timed", "required")
               for m in messages), messages
    assert any(m.startswith("lines.4.assistant_minutes:") and has_words(m, "12", "exceed")
               for m in messages), messages
    assert any(m.startswith("lines.5.minuts:") for m in messages), messages
    assert len(messages) == 5
    # the good lines: 97110 20 + 97530 10 = 30 minutes → 2 units
    assert one(result, "97110").status == "payable"
    good_units = sum(line.units for line in result.lines if line.status == "payable")
    assert good_units == 2
    invalid = [line for line in result.lines if line.status == "invalid"]
    assert len(invalid) == 5
    assert all(line.units == 0 for line in invalid)
    assert {line.code for line in invalid} == {"97530", "99999", "97112", "97140", "97116"}
    assert result.totals.units == 2
    assert result.totals.allowed is not None  # the good lines are priced


def test_a_line_that_is_not_an_object() -> None:
    result = check("97110", ln("97110", 20))  # type: ignore[arg-type]
    messages = _input_messages(result)
    assert any(m.startswith("lines.0:") for m in messages), messages
    line = one(result, "97110")
    assert (line.units, line.status) == (1, "payable")


def test_lowercase_code_is_normalised_and_bad_codes_rejected() -> None:
    assert one(check(ln("g0283")), "G0283").status == "payable"
    result = check(ln("9711"))
    assert any(m.startswith("lines.0.code:") for m in _input_messages(result))


def test_2016_has_no_fee_schedule_but_units_are_still_counted() -> None:
    result = check(ln("97110", 38), dos="2016-03-04")
    data_errors = [f for f in findings(result, "data") if f.severity == "error"]
    assert data_errors
    assert has_words(data_errors[0].message, "no fee schedule", "2016-03-04", "import")
    line = one(result, "97110")
    assert (line.units, line.status) == (3, "payable")
    assert line.allowed is None
    assert "rvu" not in result.data.releases


def test_engine_accepts_a_visit_model() -> None:
    from therabill.model import VISIT_ADAPTER, Visit

    parsed = VISIT_ADAPTER.validate_python(visit(ln("97110", 38)))
    assert isinstance(parsed, Visit)
    result = therabill.check(parsed)
    assert one(result, "97110").units == 3
    assert step(one(result, "97110"), "units.cms_total_time")


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_json_lines_with_one_malformed_record(tmp_path: Path) -> None:
    path = tmp_path / "visits.jsonl"
    path.write_text("\n".join([
        json.dumps({"visit_id": "a", "date_of_service": "2025-02-10",
                    "lines": [{"code": "97110", "minutes": 38}]}),
        '{"visit_id": "b", "date_of_service": ',
        json.dumps({"visit_id": "c", "date_of_service": "2025-02-10", "payer": "nobody",
                    "lines": [{"code": "97140", "minutes": 20}]}),
        json.dumps({"visit_id": "d", "date_of_service": "2025-02-10",
                    "lines": [{"code": "97140", "minutes": 20}]}),
    ]) + "\n", encoding="utf-8")
    outcome = CliRunner().invoke(cli.app, ["check", str(path), "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    records = [json.loads(text) for text in outcome.stdout.splitlines()]
    assert [r["visit_id"] for r in records] == ["a", "", "c", "d"]
    assert records[0]["lines"][0]["units"] == 3
    broken = records[1]
    assert broken["lines"] == []
    assert broken["findings"][0]["rule"] == "input"
    assert has_words(broken["findings"][0]["message"], "line 2", "malformed JSON")
    assert records[2]["findings"][0]["rule"] == "input"  # unknown payer, still a record
    assert records[3]["lines"][0]["status"] == "payable"


@pytest.mark.parametrize("text", ["garbage{", "", "\"just a string\"", "{bad\n{worse\n"])
def test_cli_unreadable_input_fails_with_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "visits.json"
    path.write_text(text, encoding="utf-8")
    outcome = CliRunner().invoke(cli.app, ["check", str(path)])
    assert outcome.exit_code != 0
    assert outcome.stdout == ""
    message = outcome.stderr.strip()
    assert message.startswith("error:")
    assert "\n" not in message
    assert "Traceback" not in outcome.output
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)


def test_cli_missing_file_fails_with_one_line(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(cli.app, ["check", str(tmp_path / "nope.json")])
    assert outcome.exit_code != 0
    assert outcome.stderr.strip().startswith("error: cannot read")
    assert "Traceback" not in outcome.output
