"""The server-rendered pages through the test client (the browser tests drive them for real)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from therabill.web.csv_visits import CsvError, read_csv_visits


def _form(**extra: object) -> dict[str, object]:
    form: dict[str, object] = {
        "visit_id": "page-1", "patient_id": "", "date_of_service": "2025-06-03",
        "payer": "medicare", "locality": "01182-18", "discipline": "PT",
        "provider_type": "private_practice", "deductible_remaining": "", "ytd_pt_slp": "",
        "ytd_ot": "", "code": ["97124", "97140", ""], "minutes": ["15", "23", ""],
        "assistant_minutes": ["", "", ""], "modifiers": ["GP 59", "", ""],
        "performed_by": ["therapist"] * 3, "line_discipline": ["", "", ""]}
    form.update(extra)
    return form


def test_check_page_shows_the_denial_with_its_source(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'list="localities"' in page.text and "01182-18" in page.text
    summaries = json.loads(re.search(r'id="code-summaries">(.*?)</script>', page.text,
                                     re.S).group(1))  # type: ignore[union-attr]
    assert len(summaries) == 237 and "97124" in summaries
    result = client.post("/check", data=_form())
    assert result.status_code == 200
    text = result.text
    denied = re.search(r'<tr class="status-denied" data-code="97124">', text)
    assert denied, text[:2000]
    why = text[denied.end():text.index('data-code="97140"')]
    assert "ncci.ptp" in why and "Source: NCCI PTP practitioner edits" in why
    assert "$52.61" in text  # 97140's allowed amount in Los Angeles (two units after MPPR)


def test_check_page_reports_bad_entries_as_findings(client: TestClient) -> None:
    result = client.post("/check", data=_form(minutes=["abc", "23", ""], ytd_pt_slp="-4"))
    assert result.status_code == 200
    assert "lines.0.minutes" in result.text
    assert "ytd_threshold_amount.pt_slp" in result.text
    assert 'value="abc"' in result.text  # the form keeps what was typed


def test_guide_pages(client: TestClient) -> None:
    explain = client.get("/guide/explain?code=97140&date=2025-06-01")
    assert explain.status_code == 200 and "$27.17" in explain.text
    assert "massage therapist" in explain.text
    compare = client.get("/guide/compare?codes=97124&codes=97140&date=2025-06-01")
    assert "97124 pays $2.59" in compare.text
    assert "0.35 / 0.56 / 0.01" in compare.text  # work / PE / MP of 97124 in RVU25A
    history = client.get("/guide/history")
    assert '<img src="/v1/history?codes=97124&amp;codes=97140' in history.text
    assert "RVU18A takes effect" in history.text
    suggest = client.get("/guide/suggest", params={"q": "effleurage"})
    assert "/guide/explain?code=97124" in suggest.text
    assert client.get("/guide/suggest").status_code == 200


def test_guide_pages_show_problems_in_words(client: TestClient) -> None:
    wrong = client.get("/guide/explain?code=ABCDE")
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text
    assert "unknown code ABCDE" in wrong.text
    assert client.get("/guide/history?from=20x7").status_code == 422
    assert client.get("/guide/compare?codes=97124&date=2025-99-01").status_code == 422


def test_upload_page(client: TestClient) -> None:
    csv_text = ("visit_id,date_of_service,code,minutes,modifiers\n"
                "a,2025-06-03,97124,15,59\na,2025-06-03,97140,23,\nb,2025-06-03,97110,38,\n")
    page = client.post("/upload", files={"file": ("day.csv", csv_text, "text/csv")},
                       data={"detail": "totals"})
    assert page.status_code == 200
    assert '<dd id="summary-visits">2</dd>' in page.text
    assert 'download="day-results.jsonl"' in page.text
    bad = client.post("/upload", files={"file": ("day.csv", "code\n97110\n", "text/csv")})
    assert bad.status_code == 422 and "visit_id" in bad.text
    jsonl = client.post("/upload", files={"file": ("v.jsonl", '{"visit_id": "j", '
                                                   '"date_of_service": "2025-06-03"}\n', "")})
    assert jsonl.status_code == 200 and '<dd id="summary-visits">1</dd>' in jsonl.text


def test_csv_reader_keeps_every_row() -> None:
    visits = read_csv_visits(
        "\ufeffVisit_ID,date_of_service,payer,code,minutes,modifiers,colour\n"
        "a,2025-06-03,medicare,97110,30,GP;59\n"
        ",2025-06-03,medicare,97140,10,\n"
        "a,2025-06-04,medicare,97112,20,\n")
    assert [v.visit.get("visit_id") for v in visits] == ["a", None]
    first = visits[0]
    assert first.rows == [2, 4]
    assert first.visit["lines"][0] == {"code": "97110", "minutes": "30",
                                       "modifiers": ["GP", "59"]}
    assert any("date_of_service '2025-06-04' differs" in p for p in first.problems)
    assert any("unknown column(s) colour" in p for p in first.problems)
    assert any("visit_id is empty" in p for p in visits[1].problems)
    for text in ("", "code,minutes\n97110,3\n", "visit_id\n"):
        try:
            read_csv_visits(text)
        except CsvError:
            continue
        raise AssertionError(f"no CsvError for {text!r}")


def test_csv_problems_become_findings(client: TestClient) -> None:
    csv_text = ("visit_id,date_of_service,code,minutes\n"
                "a,2025-06-03,97110,30\na,2025-06-05,97140,10\n")
    result = json.loads(client.post("/v1/check", content=csv_text,
                                    headers={"content-type": "text/csv"}).text)
    messages = [f["message"] for f in result["findings"] if f["rule"] == "input"]
    assert any("row 3: date_of_service" in m for m in messages)


def test_every_catalogue_code_has_an_explain_page(client: TestClient, engine: object) -> None:
    from therabill.engine import Engine

    assert isinstance(engine, Engine)
    codes = engine.reference.catalogue.codes()
    for code in codes:
        page = client.get(f"/guide/explain?code={code}&date=2025-06-01&locality=01182-18")
        assert page.status_code == 200, (code, page.text[-500:])
        assert f"<h2>{code} on 2025-06-01" in page.text
    for payer in engine.policies:
        page = client.get(f"/guide/compare?codes={codes[0]},{codes[-1]},97140&payer={payer}"
                          "&date=2024-03-10")
        assert page.status_code == 200, payer


def test_a_big_array_is_checked_off_the_event_loop(client: TestClient,
                                                   massage_visit: dict[str, object]) -> None:
    visits = [{**massage_visit, "visit_id": f"v{n}"} for n in range(120)]
    for query in ("", "?detail=full&"):  # the middleware's path and the router's
        response = client.post("/v1/check" + query, json=visits)
        assert response.status_code == 200
        assert [r["visit_id"] for r in response.json()] == [f"v{n}" for n in range(120)]
