"""The patients' routes in a minimal FastAPI application of the test's own (the service's app
includes the same router): engine in app.state.engine, database_url in app.state.settings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from therabill.engine import Engine
from therabill.web import patients

from .helpers import visit, weekly

ENGINE = Engine()


@pytest.fixture
def client(database_url: str):
    app = FastAPI()
    app.state.engine = ENGINE
    app.state.settings = SimpleNamespace(database_url=database_url)
    app.include_router(patients.router)
    with TestClient(app) as test_client:
        yield test_client
    opened = getattr(app.state, "ledger", None)
    if opened is not None:
        opened.close()


def _body(raw: dict) -> dict:
    return {k: v for k, v in raw.items() if k != "patient_id"}


def test_post_read_replace_and_delete_through_the_api(client: TestClient):
    visits = weekly(16, prefix="a")
    for raw in visits:
        response = client.post("/v1/patients/p1/visits", json=_body(raw))
        assert response.status_code == 201, response.text
    posted = response.json()
    assert posted["patient_id"] == "p1" and posted["replaced"] is False
    assert posted["result"]["visit_id"] == "a15"
    assert any("from the ledger" in note for note in posted["result"]["data"]["notes"])
    again = client.post("/v1/patients/p1/visits", json=_body(visits[-1]))
    assert again.status_code == 200 and again.json()["replaced"] is True

    year = client.get("/v1/patients/p1/year/2025")
    assert year.status_code == 200
    body = year.json()
    assert [v["visit_id"] for v in body["visits"]] == [raw["visit_id"] for raw in visits]
    first = next(v for v in body["visits"] if v["crosses_kx"])
    assert body["kx_first_needed_on"] == first["date_of_service"]
    assert float(body["totals"]["pt_slp"]) > 2410
    assert body["review_passed"] == {"pt_slp": False, "ot": False}
    assert body["kx_threshold"] == "2410" and body["deductible_met"] == "257.00"

    late = client.post("/v1/patients/p1/visits", json=_body(visit("late", "2025-01-02")))
    assert late.status_code == 201
    assert late.json()["now_need_kx"]  # the late visit pulled a later one over KX
    assert late.json()["recheck"] == [raw["visit_id"] for raw in visits]
    year_late = client.get("/v1/patients/p1/year/2025").json()
    assert [v["visit_id"] for v in year_late["visits"] if v["recheck"]] == late.json()["recheck"]
    gone = client.delete("/v1/patients/p1/visits/late")
    assert gone.status_code == 200
    assert gone.json()["no_longer_need_kx"] == late.json()["now_need_kx"]
    assert client.get("/v1/patients/p1/year/2025").json()["visits"] == body["visits"]
    # deleting the late visit left nothing stale; posting it again and re-checking does
    client.post("/v1/patients/p1/visits", json=_body(visit("late", "2025-01-02")))
    fixed = client.post("/v1/patients/p1/year/2025/recheck")
    assert fixed.status_code == 200
    assert [o["visit_id"] for o in fixed.json()] == [raw["visit_id"] for raw in visits]
    assert all(not v["recheck"] for v in client.get("/v1/patients/p1/year/2025").json()["visits"])
    assert client.post("/v1/patients/p1/year/2025/recheck").json() == []
    assert client.post("/v1/patients/nobody/year/2025/recheck").status_code == 404


def test_errors_name_the_problem_and_are_never_server_errors(client: TestClient):
    missing = client.delete("/v1/patients/p1/visits/none")
    assert missing.status_code == 404 and "no posted visit" in missing.json()["detail"]
    assert client.get("/v1/patients/nobody/year/2025").status_code == 404
    assert client.get("/v1/patients/p1/year/12").status_code == 422
    other = client.post("/v1/patients/p1/visits", json=visit("v", "2025-03-03", patient="p2"))
    assert other.status_code == 422 and "patient_id" in other.json()["detail"]
    bad_date = client.post("/v1/patients/p1/visits",
                           json={**_body(visit("v", "2025-03-03")), "date_of_service": "x"})
    assert bad_date.status_code == 422 and "date_of_service" in bad_date.json()["detail"]
    unknown = client.post("/v1/patients/p1/visits",
                          json={**_body(visit("v", "2025-03-03")),
                                "lines": [{"code": "99999", "minutes": 5}]})
    assert unknown.status_code == 422 and "99999" in unknown.json()["detail"]
    long_id = client.post("/v1/patients/p1/visits",
                          json=_body(visit("v" * 200, "2025-03-03")))
    assert long_id.status_code == 422 and "visit_id: at most 128" in long_id.json()["detail"]
    not_object = client.post("/v1/patients/p1/visits", json=[1, 2])
    assert not_object.status_code == 422


def test_the_router_is_documented_in_openapi(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/v1/patients/{patient_id}/visits",
                          "/v1/patients/{patient_id}/visits/{visit_id}",
                          "/v1/patients/{patient_id}/year/{yyyy}",
                          "/v1/patients/{patient_id}/year/{yyyy}/recheck"}
    assert "post" in paths["/v1/patients/{patient_id}/visits"]


def test_the_readme_curl_example(client: TestClient):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert "-d @examples/massage-and-manual.json" in readme
    assert "/v1/patients/demo-1/visits" in readme and "/v1/patients/demo-1/year/2025" in readme
    body = (repo / "examples" / "massage-and-manual.json").read_text(encoding="utf-8")
    posted = client.post("/v1/patients/demo-1/visits", content=body,
                         headers={"content-type": "application/json"})
    assert posted.status_code == 201, posted.text
    statuses = {line["code"]: line["status"] for line in posted.json()["result"]["lines"]}
    assert statuses["97124"] == "denied"  # next to 97140, even with 59
    year = client.get("/v1/patients/demo-1/year/2025").json()
    assert [v["visit_id"] for v in year["visits"]] == ["massage-and-manual"]
    assert year["visits"][0]["deductible"] == "0.00"  # the visit gave deductible_remaining 0
