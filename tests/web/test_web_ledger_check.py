"""With a ledger database configured, /v1/check takes a known patient's year from the ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient

from therabill.engine import Engine
from therabill.web.app import create_app
from therabill.web.settings import Settings

FIRST = {"visit_id": "a1", "patient_id": "pat-api", "date_of_service": "2025-04-07",
         "lines": [{"code": "97110", "minutes": 45}]}
LATER = {"visit_id": "a2", "patient_id": "pat-api", "date_of_service": "2025-04-14",
         "lines": [{"code": "97110", "minutes": 30}]}


def test_check_fills_the_year_of_a_patient_the_ledger_knows(tmp_path: Path,
                                                            engine: Engine) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.sqlite3'}"
    with TestClient(create_app(Settings(database_url=url), engine=engine)) as client:
        posted = client.post("/v1/patients/pat-api/visits", json=FIRST)
        assert posted.status_code == 201, posted.text
        accrued = Decimal(client.get("/v1/patients/pat-api/year/2025").json()
                          ["totals"]["pt_slp"])
        checked = client.post("/v1/check", json=LATER).json()
        said = [f for f in checked["findings"] if f["rule"] == "ledger.prefill"]
        assert said and "from the ledger" in said[0]["message"]
        own = Decimal(checked["totals"]["threshold_amount"])
        assert Decimal(checked["threshold_to_date"]["pt_slp"]) == accrued + own
        unknown = client.post("/v1/check", json={**LATER, "patient_id": "someone-else"}).json()
        assert not [f for f in unknown["findings"] if f["rule"] == "ledger.prefill"]


def test_the_page_shows_the_patients_year_position(tmp_path: Path, engine: Engine) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.sqlite3'}"
    with TestClient(create_app(Settings(database_url=url), engine=engine)) as client:
        assert client.post("/v1/patients/pat-api/visits", json=FIRST).status_code == 201
        form = {"visit_id": "page-1", "date_of_service": "2025-04-14", "payer": "medicare",
                "locality": "national",
                "discipline": "PT", "patient_id": "pat-api",
                "code": "97110", "minutes": "30"}
        page = client.post("/check", data=form)
        assert page.status_code == 200
        assert "patient's therapy year stands at PT and SLP $" in page.text
        assert "from the ledger" in page.text
