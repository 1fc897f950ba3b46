"""`therabill check` takes a known patient's year-to-date figures from the ledger and says so."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from therabill import cli
from therabill.ledger import URL_ENV, Ledger

FIRST = {"visit_id": "w1", "patient_id": "pat-9", "date_of_service": "2025-03-03",
         "lines": [{"code": "97110", "minutes": 45}, {"code": "97140", "minutes": 30}]}
LATER = {"visit_id": "w2", "patient_id": "pat-9", "date_of_service": "2025-03-10",
         "lines": [{"code": "97110", "minutes": 30}]}


def _check(path: Path, *options: str) -> dict:
    outcome = CliRunner().invoke(cli.app, ["check", str(path), "--format", "json", *options])
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.stdout)


def test_a_known_patient_gets_the_year_from_the_ledger(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'ledger.sqlite3'}"
    monkeypatch.setenv(URL_ENV, url)
    with Ledger(url) as ledger:
        posted = ledger.check_and_post(FIRST)
    accrued = sum(Decimal(line.allowed) for line in posted.result.lines
                  if line.status == "payable")
    visit = tmp_path / "later.json"
    visit.write_text(json.dumps(LATER), encoding="utf-8")

    result = _check(visit)
    said = [f for f in result["findings"] if f["rule"] == "ledger.prefill"]
    assert said and all(f["severity"] == "info" for f in said)
    assert any("ytd_threshold_amount from the ledger" in f["message"] for f in said)
    assert not [f for f in result["findings"] if f["rule"] == "input.assumed"
                and "ytd_threshold_amount" in f["message"]]
    own = Decimal(result["totals"]["threshold_amount"])
    assert Decimal(result["threshold_to_date"]["pt_slp"]) == accrued + own

    # --no-ledger checks the visit as given, and says what it assumed instead
    plain = _check(visit, "--no-ledger")
    assert not [f for f in plain["findings"] if f["rule"] == "ledger.prefill"]
    assert Decimal(plain["threshold_to_date"]["pt_slp"]) == own
