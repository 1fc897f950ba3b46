"""Hostile visits through the Python API and through the CLI's reader: whatever they hold, every
visit gives exactly one result, no exception escapes, and each visit is checked in bounded time.

Strategies start from a well-formed visit and replace fields with hostile values: huge, tiny and
non-finite numbers, exponent strings, booleans, wrong types, Unicode line separators, long
strings, deep nesting, and whole records of random bytes.
"""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import therabill
from therabill.interchange import UnreadableInput, VisitReader
from therabill.model import CheckResult
from therabill.output import dumps

ENGINE = therabill.Engine()
SECONDS_PER_VISIT = 1.0
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEPARATORS = "\u2028\u2029\u0085\r\n\t\x00\ufeff"
hostile_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from(SEPARATORS + "a\"\\{}[]"), max_size=30),
    st.sampled_from(["", " ", "97110", "GP", "-0", "1E+99999999", "1E-99999999", "NaN",
                     "Infinity", "-1", "1e308", "0x10", "１２", "2025-02-30", "2025-03-04",
                     "99999999.99", "100000000", "12.345", "٣"]),
    st.integers(1_000, 20_000).map(lambda n: "x" * n),
)
hostile_number = st.one_of(
    st.integers(), st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e-300, 1e300, 2**63, -(2**63), 1440, 1441, 10**25]),
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


hostile_value = st.one_of(
    hostile_text, hostile_number, st.booleans(), st.none(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
    st.integers(1, 3_000).map(_nested),
)

LINE_FIELDS = ("code", "minutes", "assistant_minutes", "discipline", "modifiers", "charge",
               "performed_by", "unknown_field")
VISIT_FIELDS = ("visit_id", "patient_id", "date_of_service", "payer", "locality", "claim_type",
                "provider_type", "discipline", "qualifying_apm", "deductible_remaining",
                "ytd_threshold_amount", "lines", "unknown_field")


@st.composite
def hostile_line(draw: st.DrawFn) -> Any:
    line: dict[str, Any] = {"code": draw(st.sampled_from(["97110", "97140", "G0283", "97161",
                                                          "97150", "97530"])),
                            "minutes": draw(st.integers(0, 60))}
    for name in draw(st.lists(st.sampled_from(LINE_FIELDS), max_size=3, unique=True)):
        line[name] = draw(hostile_value)
    return draw(st.one_of(st.just(line), st.just(line), hostile_value))


@st.composite
def hostile_visit(draw: st.DrawFn) -> Any:
    visit: dict[str, Any] = {
        "visit_id": "fuzz", "date_of_service": draw(st.sampled_from(
            ["2025-03-04", "2024-11-30", "2016-01-01", "2026-02-01"])),
        "payer": draw(st.sampled_from(["medicare", "commercial-cpt", "commercial-mppr"])),
        "lines": draw(st.lists(hostile_line(), max_size=6)),
    }
    if draw(st.booleans()):  # the same code over and over
        visit["lines"] = visit["lines"] + [{"code": "97110", "minutes": 1}] * draw(
            st.integers(0, 300))
    for name in draw(st.lists(st.sampled_from(VISIT_FIELDS), max_size=3, unique=True)):
        visit[name] = draw(hostile_value)
    return visit


def _refuse(constant: str) -> Any:
    raise AssertionError(f"{constant} written as a JSON number")


def _checked(visit: Any) -> CheckResult:
    started = time.monotonic()
    result = ENGINE.check(visit)
    assert isinstance(result, CheckResult)
    assert time.monotonic() - started < SECONDS_PER_VISIT
    json.loads(dumps(result), parse_constant=_refuse)  # strict JSON: no NaN, no Infinity
    for line in result.lines:
        for amount in (line.allowed, line.payer_paid, line.patient_owes, line.charge):
            assert amount is None or (isinstance(amount, Decimal) and amount.is_finite())
    return result


@FUZZ
@given(hostile_visit())
def test_any_visit_through_the_python_api_gives_one_result(visit: Any) -> None:
    _checked(visit)


@FUZZ
@given(st.lists(hostile_visit(), min_size=1, max_size=4))
def test_check_many_gives_one_result_per_visit(visits: list[Any]) -> None:
    results = list(ENGINE.check_many(visits))
    assert len(results) == len(visits)


def _as_json(value: Any) -> str:
    def default(item: Any) -> Any:
        return str(item) if isinstance(item, Decimal) else repr(item)

    try:
        return json.dumps(value, default=default, ensure_ascii=False, allow_nan=True)
    except (RecursionError, ValueError):
        return "{" + "[" * 3000  # what a writer that gave up might leave


record = st.one_of(
    hostile_visit().map(_as_json),
    hostile_visit().map(_as_json),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    hostile_text,
)


@FUZZ
@given(st.lists(record, min_size=1, max_size=6), st.sampled_from(["lines", "array"]),
       st.booleans())
def test_any_file_through_the_reader_gives_one_result_per_record(
        records: list[str], shape: str, bom: bool) -> None:
    records = [r.replace("\n", " ") for r in records]
    good = json.dumps({"visit_id": "good", "date_of_service": "2025-03-04",
                       "lines": [{"code": "97110", "minutes": 20}]})
    records.insert(0, good)  # a file with one visit at least is never unreadable as a whole
    text = ("\n".join(records) + "\n") if shape == "lines" else ("[" + ",\n".join(records) + "]")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogatepass")
    started = time.monotonic()
    try:
        reader = VisitReader(io.BytesIO(data))
        results = [item if isinstance(item, CheckResult) else _checked(item) for item in reader]
    except UnreadableInput as exc:
        # only an array whose items cannot be told apart may be unreadable, in one line
        assert shape == "array" and "\n" not in str(exc)
        return
    assert time.monotonic() - started < SECONDS_PER_VISIT * len(records)
    assert results[0].visit_id == "good" and results[0].lines[0].status == "payable"
    if reader.shape == "lines":
        assert len(results) == sum(1 for r in records if r.strip(" \t\r\n"))
    else:
        assert len(results) >= 1


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(record, min_size=1, max_size=5), st.sampled_from(["full", "lines", "totals"]))
def test_any_file_through_the_check_command(records: list[str], detail: str) -> None:
    """The whole command in process: one JSON Lines result per record, in any detail, and
    the summary line's counts agree."""
    from typer.testing import CliRunner

    from therabill import cli

    good = json.dumps({"visit_id": "good", "date_of_service": "2025-03-04",
                       "lines": [{"code": "97110", "minutes": 20}]})
    lines = [good, *(r.replace("\n", " ") for r in records), good]
    text = "\n".join(lines) + "\n"
    done = CliRunner().invoke(cli.app, ["check", "-", "--format", "json", "--detail", detail],
                              input=text.encode("utf-8", "surrogatepass"))
    assert done.exit_code == 0, done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    # split on newlines only (str.splitlines would also split at U+0085, U+2028, U+2029)
    written = [json.loads(t, parse_constant=_refuse) for t in done.stdout.split("\n") if t]
    results = [r for r in written if "visit_id" in r]
    expected = sum(1 for line in lines if line.strip(" \t\r\n"))
    assert len(results) == expected
    assert results[0]["visit_id"] == results[-1]["visit_id"] == "good"
    assert done.stderr.startswith(f"therabill check: {expected:,} visit(s) read, "
                                  f"{expected:,} result(s) written")
