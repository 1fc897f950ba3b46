"""Bad input: every problem is an ``input`` (or ``data``) finding naming the field, the rest of
the visit is still checked, and the CLI never shows a traceback."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import therabill
from therabill import cli
from therabill.render import result_json

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


# --- values that once stopped a whole run (issue 10 points 4 and 6) -----------------------------


@pytest.mark.parametrize("charge", [1e308, "1E+50", "1E+99999999", 1e26, "100000000.00",
                                    "-1E+99999999"])
def test_amounts_over_the_maximum_are_an_input_finding(charge: Any) -> None:
    result = check(ln("97110", 20, charge=charge), ln("97140", 10))
    messages = _input_messages(result)
    assert any(m.startswith("lines.0.charge:") and "99,999,999.99" in m for m in messages) or \
        any(m.startswith("lines.0.charge:") and "greater than or equal to 0" in m
            for m in messages), messages
    assert one(result, "97140").status == "payable"


@pytest.mark.parametrize("amount", ["1E-99999999", "0.001", 0.005])
def test_fractions_of_a_cent_are_refused_at_once(amount: Any) -> None:
    result = check(ln("97110", 20), deductible_remaining=amount)
    assert any(m.startswith("deductible_remaining:") and "two decimal places" in m
               for m in _input_messages(result))


def test_the_largest_amount_is_accepted() -> None:
    result = check(ln("97110", 20, charge="99999999.99"))
    assert one(result, "97110").charge == Decimal("99999999.99")
    assert not findings(result, "input")


@pytest.mark.parametrize("value", ["-0", "-0.00", "0E-7", "0.000"])
def test_negative_or_odd_zero_comes_back_as_zero(value: str) -> None:
    line = one(check(ln("97110", 20, charge=value)), "97110")
    assert str(line.charge) == "0.00"


@pytest.mark.parametrize(("field", "value"), [("minutes", True), ("minutes", False),
                                              ("assistant_minutes", True)])
def test_booleans_are_not_minutes(field: str, value: bool) -> None:
    raw = ln("97110", 20)
    raw[field] = value
    messages = _input_messages(check(raw))
    assert any(m.startswith(f"lines.0.{field}:") and "true or false" in m
               for m in messages), messages


@pytest.mark.parametrize("value", [1741046400, 1741046400.0, "2025-03-04T10:00:00",
                                   "20250304", "2025-3-4", True])
def test_date_of_service_is_an_iso_date_string(value: Any) -> None:
    raw = visit(ln("97110", 20))
    raw["date_of_service"] = value
    result = therabill.check(raw)
    assert any(m.startswith("date_of_service:") and "YYYY-MM-DD" in m
               for m in _input_messages(result))
    assert result.lines == []


def test_a_python_date_is_still_accepted() -> None:
    raw = visit(ln("97110", 20))
    raw["date_of_service"] = date(2025, 3, 4)
    assert one(therabill.check(raw), "97110").units == 1


def test_untimed_code_split_with_assistant_minutes_on_the_second_line() -> None:
    result = check(ln("G0283", 5), ln("G0283", assistant_minutes=10), ln("97110", 20))
    messages = _input_messages(result)
    # An untimed code's lines are separate services: the second, with assistant minutes but
    # no minutes of its own, is refused by itself (it once raised while being combined).
    assert any(m.startswith("lines.1.assistant_minutes:") and "without the minutes" in m
               for m in messages), messages
    g = [(line.status, line.units) for line in result.lines if line.code == "G0283"]
    assert sorted(g) == [("invalid", 0), ("payable", 1)]
    assert one(result, "97110").status == "payable"


def test_repeated_lines_of_one_code_grow_output_linearly() -> None:
    def size(count: int) -> int:
        result = check(*[ln("97110", 1) for _ in range(count)])
        return len(json.dumps(result_json(result)))

    small, large = size(100), size(1_000)
    assert large < 12 * small  # linear (quadratic would be ~100x)
    combine = step(one(check(*[ln("97110", 1) for _ in range(50)]), "97110"), "units.combine")
    assert "0-49" in combine.message


def test_combined_indexes_are_listed_as_ranges() -> None:
    result = check(ln("97110", 10), ln("97140", 10), ln("97110", 10), ln("97110", 10))
    assert "0, 2-3" in step(one(result, "97110"), "units.combine").message


def test_long_identifiers_and_modifiers_are_refused_briefly() -> None:
    result = check(ln("97110", 20, modifiers=["X" * 100_000]), visit_id="v" * 10_000)
    assert all(len(m) < 300 for m in _input_messages(result))
    assert any(m.startswith("visit_id:") for m in _input_messages(result))
