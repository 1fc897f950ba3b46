"""API keys, request size limits, CORS off by default, and logs free of patient data."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from therabill.cli import app as cli
from therabill.web.settings import Settings, SettingsError

KEY = "test-key-5f1c2a"


def test_every_endpoint_but_health_and_docs_needs_the_key(keyed_client: TestClient) -> None:
    for url in ("/health", "/docs", "/openapi.json", "/static/app.css"):
        assert keyed_client.get(url).status_code == 200, url
    for url in ("/v1/codes/97124", "/v1/data", "/v1/localities?q=ohio", "/v1/suggest?q=prom",
                "/v1/history", "/v1/compare?codes=97124,97140"):
        response = keyed_client.get(url)
        assert response.status_code == 401, url
        assert response.headers["content-type"] == "application/problem+json"
        assert keyed_client.get(url, headers={"X-API-Key": "wrong"}).status_code == 401
        assert keyed_client.get(url, headers={"X-API-Key": KEY}).status_code == 200, url
        assert keyed_client.get(url, headers={"Authorization": "Bearer second-key"}
                                ).status_code == 200, url
    assert keyed_client.post("/v1/check", json={}).status_code == 401


def test_the_page_asks_for_the_key_and_keeps_it_in_a_cookie(engine: Any) -> None:
    from therabill.web.app import create_app

    settings = Settings(api_keys=frozenset({KEY}))
    with TestClient(create_app(settings, engine=engine), follow_redirects=False) as browser:
        first = browser.get("/guide/compare")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/guide/compare"
        assert browser.get("/login").status_code == 200
        wrong = browser.post("/login", data={"key": "nope", "next": "/guide/compare"})
        assert wrong.status_code == 401
        right = browser.post("/login", data={"key": KEY, "next": "https://elsewhere.example/"})
        assert right.status_code == 303 and right.headers["location"] == "/"
        assert "samesite=strict" in right.headers["set-cookie"].lower()
        assert browser.get("/guide/compare").status_code == 200
        assert browser.get("/v1/codes/97140").status_code == 200


def test_request_size_limit(keyed_client: TestClient) -> None:
    headers = {"X-API-Key": KEY, "content-type": "text/csv"}
    big = "visit_id,date_of_service,code,minutes\n" + "v,2025-06-03,97110,30\n" * 400
    response = keyed_client.post("/v1/check", content=big, headers=headers)
    assert response.status_code == 413
    assert response.json()["type"].endswith("request-too-large")

    def chunks() -> Any:  # no content-length: the limit is counted as the body arrives
        for _ in range(400):
            yield b"v,2025-06-03,97110,30\n"

    streamed = keyed_client.post("/v1/check", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    as_json = keyed_client.post("/v1/check", content=chunks(),
                                headers={**headers, "content-type": "application/json"})
    assert as_json.status_code == 413
    assert as_json.headers["content-type"] == "application/problem+json"


def test_array_limit_names_the_body(keyed_client: TestClient) -> None:
    visits = [{"visit_id": str(n), "date_of_service": "2025-06-03"} for n in range(4)]
    response = keyed_client.post("/v1/check", json=visits, headers={"X-API-Key": KEY})
    assert response.status_code == 422
    assert "limit is 3" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body"


def test_pages_allow_only_their_own_scripts(client: TestClient) -> None:
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/health").headers["x-content-type-options"] == "nosniff"
    assert "<script src=\"/static/app.js\"" in page.text and "cdn" not in page.text.lower()


def test_cors_is_off_by_default(client: TestClient) -> None:
    preflight = client.options("/v1/check", headers={
        "Origin": "https://emr.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    plain = client.get("/health", headers={"Origin": "https://emr.example"})
    assert "access-control-allow-origin" not in plain.headers


def test_cors_when_configured(engine: Any) -> None:
    from therabill.web.app import create_app

    settings = Settings(cors_origins=("https://emr.example",))
    with TestClient(create_app(settings, engine=engine)) as browser:
        response = browser.get("/health", headers={"Origin": "https://emr.example"})
        assert response.headers["access-control-allow-origin"] == "https://emr.example"


def test_logs_hold_no_patient_identifier_or_visit_content(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret_patient, secret_visit = "PATIENT-7731-SECRET", "VISIT-ZZ-4412"
    visit = {"visit_id": secret_visit, "patient_id": secret_patient,
             "date_of_service": "2025-06-03", "locality": "01182-18",
             "lines": [{"code": "97530", "minutes": 41}, {"code": "97124", "minutes": -3}]}
    with caplog.at_level(logging.DEBUG):
        assert client.post("/v1/check", json=visit).status_code == 200
        client.post("/v1/check", content=f'{{"visit_id": "{secret_visit}", bad',
                    headers={"content-type": "application/json"})
        client.get(f"/v1/patients/{secret_patient}/year/2025")
        client.get("/v1/suggest", params={"q": f"{secret_patient} effleurage"})
        client.get(f"/v1/codes/{secret_visit[:5]}")
    # What the server logged (the test client's own request log is not the server's).
    text = "\n".join(record.getMessage() for record in caplog.records
                     if not record.name.startswith(("httpx", "httpcore")))
    assert "POST /v1/check 200" in text  # the access log is there ...
    for secret in (secret_patient, secret_visit, "97530", "effleurage"):
        assert secret not in text  # ... without the content


def test_settings_from_the_environment(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# keys\nalpha\n\nbeta  # the second\n", encoding="utf-8")
    settings = Settings.from_env({"THERABILL_PORT": "9001", "THERABILL_API_KEYS": "gamma,delta",
                                  "THERABILL_API_KEYS_FILE": str(keys),
                                  "THERABILL_DATABASE_URL": "sqlite:///x.db",
                                  "THERABILL_MAX_VISITS": "10"}, host="::1")
    assert settings.port == 9001 and settings.host == "::1" and settings.loopback
    assert settings.api_keys == {"alpha", "beta", "gamma", "delta"}
    assert settings.database_url == "sqlite:///x.db" and settings.max_visits == 10
    assert Settings.from_env(settings.to_env()) == settings
    with pytest.raises(SettingsError, match="THERABILL_PORT"):
        Settings.from_env({"THERABILL_PORT": "eighty"})
    with pytest.raises(SettingsError, match="holds no key"):
        (tmp_path / "empty").write_text("# none\n", encoding="utf-8")
        Settings.from_env({"THERABILL_API_KEYS_FILE": str(tmp_path / "empty")})


def test_app_state_holds_engine_and_database_url(engine: Any) -> None:
    from therabill.web.app import create_app

    built = create_app(Settings(database_url="sqlite:///ledger.db"), engine=engine)
    assert built.state.engine is engine
    assert built.state.settings.database_url == "sqlite:///ledger.db"


def test_serve_refuses_a_public_address_without_keys() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"], env={
        "THERABILL_API_KEYS": "", "THERABILL_API_KEYS_FILE": ""})
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in result.output
    bad = CliRunner().invoke(cli, ["serve"], env={"THERABILL_PORT": "x"})
    assert bad.exit_code == 2 and "THERABILL_PORT must be a whole number" in bad.output


class _BrokenEngine:
    """An engine that fails the way a bug would, quoting the visit in its message."""

    def __init__(self, real: Any) -> None:
        self.reference, self.policies = real.reference, real.policies

    def check(self, visit: Any) -> Any:
        raise ValueError(f"cannot handle {visit!r}")


def test_an_internal_error_is_a_500_problem_logged_without_content(
        engine: Any, caplog: pytest.LogCaptureFixture) -> None:
    from therabill.web.app import create_app

    broken = create_app(Settings(), engine=_BrokenEngine(engine))  # type: ignore[arg-type]
    visit = {"visit_id": "SECRET-VISIT-9", "date_of_service": "2025-06-03"}
    with TestClient(broken) as test_client, caplog.at_level(logging.INFO):
        for query, body in (("", visit), ("?detail=lines&x=1", visit)):
            response = test_client.post("/v1/check" + query, json=body)
            assert response.status_code == 500
            assert response.headers["content-type"] == "application/problem+json"
        csv_text = "visit_id,date_of_service\nSECRET-VISIT-9,2025-06-03\n"
        streamed = test_client.post("/check", data={"visit_id": "SECRET-VISIT-9"})
        assert streamed.status_code == 500
        test_client.post("/v1/check", content=csv_text, headers={"content-type": "text/csv"})
    server_lines = [r.getMessage() for r in caplog.records
                    if not r.name.startswith(("httpx", "httpcore"))]
    assert any("internal error ValueError on POST /v1/check" in m for m in server_lines)
    assert not any("SECRET-VISIT-9" in m for m in server_lines)


def test_the_data_directory_setting_reaches_the_engine(tmp_path: Path) -> None:
    from therabill.web.app import create_app

    built = create_app(Settings.from_env({"THERABILL_DATA_DIR": str(tmp_path)}))
    assert built.state.settings.data_dir == tmp_path
    with TestClient(built) as test_client:
        data = test_client.get("/v1/data").json()
        assert all(row["origin"] == "bundled" for row in data["releases"])
        assert test_client.post("/v1/check", json={
            "visit_id": "d", "date_of_service": "2025-06-03",
            "lines": [{"code": "97110", "minutes": 38}]}).json()["lines"][0]["units"] == 3
