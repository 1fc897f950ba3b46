"""Every endpoint of the JSON API through the test client, on the bundled CMS data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]

PROBLEM = "application/problem+json"


def line(result: dict[str, Any], code: str) -> dict[str, Any]:
    return next(item for item in result["lines"] if item["code"] == code)


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_check_one_visit_denies_massage_next_to_manual_therapy(
        client: TestClient, massage_visit: dict[str, Any]) -> None:
    response = client.post("/v1/check", json=massage_visit)
    assert response.status_code == 200
    result = response.json()
    assert result["visit_id"] == "massage-and-manual"
    assert result["patient_id"] == "demo-1"
    massage = line(result, "97124")
    assert massage["status"] == "denied"
    assert any(step["rule"] == "ncci.ptp" and "97140" in step["message"]
               for step in massage["steps"])
    assert line(result, "97140")["status"] == "payable"
    assert result["totals"]["allowed"] is not None
    assert result["data"]["releases"]["rvu"].startswith("RVU25")


def test_check_matches_the_engine(client: TestClient, engine: Any,
                                  massage_visit: dict[str, Any]) -> None:
    from therabill.model import RESULT_ADAPTER

    expected = RESULT_ADAPTER.dump_python(engine.check(massage_visit), mode="json")
    assert client.post("/v1/check", json=massage_visit).json() == expected


def test_check_array_keeps_order_and_reports_non_objects(
        client: TestClient, massage_visit: dict[str, Any]) -> None:
    second = {**massage_visit, "visit_id": "second"}
    response = client.post("/v1/check", json=[massage_visit, 7, second])
    assert response.status_code == 200
    results = response.json()
    assert [r["visit_id"] for r in results] == ["massage-and-manual", "", "second"]
    assert results[1]["findings"][0]["rule"] == "input"
    assert "item 1" in results[1]["findings"][0]["message"]


def test_check_detail_lines_and_totals(client: TestClient, massage_visit: dict[str, Any]
                                       ) -> None:
    full = client.post("/v1/check", json=massage_visit).json()
    lines = client.post("/v1/check?detail=lines", json=massage_visit).json()
    assert all("steps" not in item for item in lines["lines"])
    assert [item["status"] for item in lines["lines"]] == [
        item["status"] for item in full["lines"]]
    assert lines["totals"] == full["totals"] and "data" not in lines
    totals = client.post("/v1/check?detail=totals", json=massage_visit).json()
    assert set(totals) == {"visit_id", "patient_id", "date_of_service", "payer", "totals",
                           "findings"}
    assert totals["totals"] == full["totals"]
    assert totals["findings"]["error"] == sum(f["severity"] == "error" for f in full["findings"])


def test_check_bad_detail_is_a_problem_naming_the_parameter(
        client: TestClient, massage_visit: dict[str, Any]) -> None:
    response = client.post("/v1/check?detail=everything", json=massage_visit)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == "detail"


def test_a_bad_visit_is_a_result_with_input_findings(client: TestClient) -> None:
    response = client.post("/v1/check", json={
        "visit_id": "bad", "date_of_service": "2025-06-01",
        "lines": [{"code": "97110", "minutes": -5}, {"code": "97140", "minutes": 20}]})
    assert response.status_code == 200
    result = response.json()
    assert any(f["rule"] == "input" and "lines.0.minutes" in f["message"]
               for f in result["findings"])
    assert line(result, "97140")["status"] == "payable"


def test_check_json_lines_streams_one_result_a_line(client: TestClient) -> None:
    text = (REPO / "examples" / "visits.jsonl").read_text(encoding="utf-8")
    text += "{not json\n"
    response = client.post("/v1/check?detail=totals", content=text,
                           headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    results = [json.loads(row) for row in response.text.splitlines()]
    visits = [row for row in text.splitlines() if row.strip()]
    assert len(results) == len(visits)
    assert results[0]["visit_id"] == json.loads(visits[0])["visit_id"]
    assert results[-1]["findings"]["error"] == 1


def test_check_csv_groups_rows_by_visit(client: TestClient) -> None:
    csv_text = ("visit_id,date_of_service,locality,code,minutes,modifiers\n"
                "a,2025-06-03,01182-18,97140,23,GP\n"
                "b,2025-06-03,,97110,38,\n"
                "a,2025-06-03,01182-18,97124,15,GP 59\n")
    response = client.post("/v1/check", content=csv_text, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    results = [json.loads(row) for row in response.text.splitlines()]
    assert [r["visit_id"] for r in results] == ["a", "b"]
    assert line(results[0], "97124")["status"] == "denied"
    assert line(results[1], "97110")["units"] == 3


def test_check_multipart_upload(client: TestClient) -> None:
    csv_text = b"visit_id,date_of_service,code,minutes\nu1,2025-06-03,97110,38\n"
    response = client.post("/v1/check", files={"file": ("visits.csv", csv_text, "text/csv")})
    assert response.status_code == 200
    assert json.loads(response.text.splitlines()[0])["lines"][0]["units"] == 3


def test_check_unreadable_bodies_are_problems(client: TestClient) -> None:
    cases = [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 422),
        (b"42", "application/json", 422),
        (b"\xff\xfe", "text/csv", 400),
        (b"code,minutes\n97110,30\n", "text/csv", 422),
        (b"[1, 2", "application/x-ndjson", 422),
        (b"<visit/>", "application/xml", 415),
    ]
    for body, media, status in cases:
        response = client.post("/v1/check", content=body, headers={"content-type": media})
        assert response.status_code == status, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"] == PROBLEM
        assert problem["status"] == status and problem["detail"]
        assert problem["errors"][0]["field"] in ("body", "content-type")


def test_explain(client: TestClient) -> None:
    response = client.get("/v1/codes/97124", params={"date": "2025-06-01"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["code"] == "97124"
    assert answer["medicare"]["status"] == "A"
    assert answer["price"]["full"] == "29.76"
    assert any(p["who"] == "massage therapist" and p["may_furnish"] == "no"
               for p in answer["performers"])


def test_explain_errors_name_the_parameter(client: TestClient) -> None:
    expected = {"/v1/codes/99999": (404, "code"), "/v1/codes/9712": (422, "code"),
                "/v1/codes/97124?date=2001-01-01": (422, "date"),
                "/v1/codes/97124?date=2025-13-01": (422, "date"),
                "/v1/codes/97124?date=2025-06-01&locality=99999-99": (422, "locality"),
                "/v1/codes/97124?payer=nobody": (422, "payer")}
    for url, (status, field) in expected.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["field"] == field, url


def test_compare_names_practice_expense(client: TestClient) -> None:
    response = client.get("/v1/compare", params={"codes": "97124,97140", "date": "2025-06-01",
                                                 "locality": "01182-18"})
    assert response.status_code == 200
    answer = response.json()
    national = answer["differences"][0]
    assert (national["dollars"], national["driver"]) == ("2.59", "pe")
    assert answer["together"][0]["verdict"] == "no"
    repeated = client.get("/v1/compare?codes=97124&codes=97140&date=2025-06-01").json()
    assert repeated["differences"][0]["dollars"] == "2.59"
    single = client.get("/v1/compare?codes=97124")
    assert single.status_code == 422 and single.json()["errors"][0]["field"] == "codes"


def test_history_json_and_charts(client: TestClient) -> None:
    answer = client.get("/v1/history").json()
    assert answer["codes"] == ["97124", "97140"]
    first = answer["rows"][0]
    assert first["label"].startswith("2017")
    svg = client.get("/v1/history?format=svg&from=2017&to=2020")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in svg.content[:500]
    png = client.get("/v1/history?codes=97110&format=png&from=2024&to=2025")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    wrong = client.get("/v1/history?from=1990")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "from"


def test_suggest(client: TestClient) -> None:
    response = client.get("/v1/suggest", params={
        "q": "manual lymphatic drainage to the left arm, then effleurage"})
    assert response.status_code == 200
    codes = [c["code"] for s in response.json()["suggestions"] for c in s["candidates"]]
    assert codes.index("97140") < codes.index("97124")
    empty = client.get("/v1/suggest?q=")
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "q"


def test_data_lists_the_releases(client: TestClient) -> None:
    answer = client.get("/v1/data").json()
    releases = {row["release"] for row in answer["releases"]}
    assert {"RVU25A", "RVU17A"} <= releases
    assert answer["catalogue_codes"] == 237
    assert any(p["parameter"] == "conversion_factor" for p in answer["parameters"])


def test_localities_by_city_county_and_state(client: TestClient) -> None:
    found = client.get("/v1/localities", params={"q": "los angeles", "year": 2025}).json()
    assert "01182-18" in [item["locality"] for item in found["localities"]]
    texas = client.get("/v1/localities?q=TX&year=2025").json()["localities"]
    assert texas and all(item["state"] == "TEXAS" for item in texas)
    assert any("HOUSTON" in item["name"] for item in texas)
    county = client.get("/v1/localities?q=Alameda&year=2025").json()["localities"]
    assert county and all(item["state"] == "CALIFORNIA" for item in county)
    none = client.get("/v1/localities?q=atlantis").json()
    assert none["localities"] == []
    missing = client.get("/v1/localities?q=ohio&year=1999")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "year"


def test_openapi_document_describes_the_visit(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "/v1/check" in document["paths"]
    schemas = document["components"]["schemas"]
    assert "date_of_service" in schemas["Visit"]["properties"]
    assert "lines" in schemas["CheckResult"]["properties"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "//cdn" not in docs.text


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
