"""JSON results in three details, written one at a time; money always two decimals."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest

import therabill
from therabill.model import RESULT_ADAPTER, CheckResult
from therabill.output import ResultWriter, dumps, money_text

MONEY = ("charge", "fee_schedule_amount", "allowed", "payer_paid", "patient_owes", "reductions")

VISITS = [
    {"visit_id": "v-1", "patient_id": "p-1", "date_of_service": "2025-05-12",
     "locality": "10112-00",
     "lines": [{"code": "97110", "minutes": 36, "assistant_minutes": 23},
               {"code": "97140", "minutes": 30, "charge": "60"},
               {"code": "97530", "minutes": 15}]},
    {"visit_id": "v-2", "date_of_service": "2025-05-12", "payer": "commercial-cpt",
     "lines": [{"code": "97110", "minutes": 23}, {"code": "97140", "minutes": 15},
               {"code": "97112", "minutes": 10}]},
    {"visit_id": "v-3", "date_of_service": "2024-05-12",
     "lines": [{"code": "97161"}, {"code": "97110", "minutes": 25},
               {"code": "97124", "minutes": 15}]},
    {"visit_id": "v-4", "date_of_service": "2025-05-12",
     "lines": [{"code": "99999", "minutes": 10}, {"code": "97110", "minutes": -1}]},
]


@pytest.fixture(scope="module")
def results() -> list[CheckResult]:
    return [therabill.check(v) for v in VISITS]


def written(results: list[CheckResult], shape: Any, detail: Any) -> bytes:
    out = io.BytesIO()
    writer = ResultWriter(out, shape, detail)
    for result in results:
        writer.write(result)
    writer.close()
    return out.getvalue()


def amounts(value: Any) -> list[Any]:
    """Every money field anywhere in a written result."""
    found: list[Any] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in MONEY or (key in ("allowed", "payer_paid", "patient_owes")):
                found.append(item)
            else:
                found.extend(amounts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(amounts(item))
    return found


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("60"), "60.00"), (Decimal("60.5"), "60.50"), (Decimal("-0"), "0.00"),
    (Decimal("-0.00"), "0.00"), (Decimal("1E+1"), "10.00"), (Decimal("0.125"), "0.125"),
    (Decimal("-3.1"), "-3.10")])
def test_money_text(value: Decimal, text: str) -> None:
    assert money_text(value) == text


def test_full_detail_is_the_whole_result_with_money_as_two_decimals(
        results: list[CheckResult]) -> None:
    for result in results:
        ours = json.loads(dumps(result))
        theirs = json.loads(RESULT_ADAPTER.dump_json(result))
        for line in theirs["lines"]:  # the same figures, written with two decimals
            for key in MONEY:
                if line.get(key) is not None:
                    line[key] = f"{Decimal(line[key]):.2f}"
        for key, value in theirs["totals"].items():
            if isinstance(value, str):
                theirs["totals"][key] = f"{Decimal(value):.2f}"
        assert ours == theirs
        for amount in amounts(ours):
            assert amount is None or (isinstance(amount, str) and amount.split(".")[1:]
                                      and len(amount.split(".")[1]) == 2), amount
    charged = json.loads(dumps(results[0]))["lines"]
    assert any(line["charge"] == "60.00" for line in charged)


def test_json_lines_compact_detail(results: list[CheckResult]) -> None:
    records = [json.loads(text) for text in written(results, "lines", "lines").splitlines()]
    assert records[0] == {"record": "header", "therabill": therabill.__version__,
                          "detail": "lines"}
    data = [r for r in records if r.get("record") == "data"]
    visits = [r for r in records if "visit_id" in r]
    assert [v["visit_id"] for v in visits] == ["v-1", "v-2", "v-3", "v-4"]
    assert len(data) == len({json.dumps([r.data.releases, r.data.parameters, r.data.notes])
                             for r in results if r.data.releases})
    # each data set comes before the first result that names it, and only once
    seen: set[str] = set()
    for record in records[1:]:
        if record.get("record") == "data":
            assert record["id"] not in seen
            seen.add(record["id"])
            assert record["releases"]["rvu"].startswith("RVU")
        elif "data" in record:
            assert record["data"] in seen
    first = visits[0]
    assert "message" not in json.dumps(first) and "source" not in json.dumps(first)
    line = first["lines"][0]
    assert {"code", "units", "modifiers", "status", "allowed", "payer_paid",
            "patient_owes", "rules"} <= set(line)
    assert "units.cms_total_time" in line["rules"]
    assert all(not r.startswith("pricing.") for r in line["rules"])
    assert first["totals"]["allowed"] == f"{results[0].totals.allowed:.2f}"
    bad = visits[3]
    errors = [f for f in bad["findings"] if f["severity"] == "error"]
    assert errors and all(f["rule"] == "input" and f["message"] for f in errors)


def test_a_typical_visit_is_under_a_kilobyte_compact(results: list[CheckResult]) -> None:
    records = written(results[1:3], "lines", "lines").splitlines()
    sizes = [len(r) for r in records if b'"visit_id"' in r]
    assert sizes and all(size < 1024 for size in sizes), sizes
    full = [len(r) for r in written(results[1:3], "lines", "full").splitlines()]
    assert all(size > 3 * 1024 for size in full)


def test_json_compact_detail_is_one_document_with_the_data_once(
        results: list[CheckResult]) -> None:
    document = json.loads(written(results, "array", "lines"))
    assert document["detail"] == "lines"
    assert [r["visit_id"] for r in document["results"]] == ["v-1", "v-2", "v-3", "v-4"]
    names = {r["data"] for r in document["results"] if "data" in r}
    assert names == set(document["data"])
    assert all("rvu" in data["releases"] for data in document["data"].values())


def test_totals_detail(results: list[CheckResult]) -> None:
    rows = [json.loads(t) for t in written(results, "lines", "totals").splitlines()]
    assert rows[0] == {"visit_id": "v-1", "patient_id": "p-1", "date_of_service": "2025-05-12",
                       "payer": "medicare", "totals": json.loads(dumps(results[0].totals)),
                       "statuses": {"payable": 4}, "errors": 0}
    assert rows[3]["errors"] == 2 and rows[3]["statuses"] == {"invalid": 2}


@pytest.mark.parametrize("detail", ["full", "lines", "totals"])
@pytest.mark.parametrize("shape", ["object", "array", "lines"])
def test_output_is_valid_after_any_number_of_results(results: list[CheckResult], shape: Any,
                                                     detail: Any) -> None:
    for count in (0, 1, 3) if shape != "object" else (1,):
        data = written(results[:count], shape, detail)
        if shape == "lines":
            for text in data.splitlines():
                json.loads(text)
        else:
            json.loads(data)


def test_the_first_result_is_handed_over_at_once(results: list[CheckResult]) -> None:
    class Stream(io.BytesIO):
        flushes = 0

        def flush(self) -> None:
            Stream.flushes += 1

    out = Stream()
    writer = ResultWriter(out, "lines", "full", clock=lambda: 0.0)
    writer.write(results[0])
    assert out.getvalue().count(b"\n") == 1 and Stream.flushes == 1
    writer.write(results[1])  # no time passed: held for the next flush
    assert out.getvalue().count(b"\n") == 1
    writer.close()
    assert out.getvalue().count(b"\n") == 2


def test_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="detail"):
        ResultWriter(io.BytesIO(), "lines", "everything")  # type: ignore[arg-type]
