"""`therabill batch --fhir`: every checked visit as a validated FHIR R4B ExplanationOfBenefit,
the same bytes from one worker or two."""

from __future__ import annotations

import json
from pathlib import Path

from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from typer.testing import CliRunner

from therabill import cli

CLINIC = Path(__file__).resolve().parents[2] / "examples" / "clinic-month.csv"


def _run(out: Path, workers: int) -> bytes:
    outcome = CliRunner().invoke(cli.app, ["batch", str(CLINIC), "-o", str(out), "--fhir",
                                           "--workers", str(workers), "--detail", "compact"])
    assert outcome.exit_code == 0, outcome.output
    return (out / "eob.ndjson").read_bytes()


def test_batch_writes_one_valid_explanation_of_benefit_per_visit(tmp_path: Path) -> None:
    one = _run(tmp_path / "one", 1)
    records = one.splitlines()
    assert len(records) == 400  # the clinic's 400 visits
    for raw in records[:60]:
        resource = ExplanationOfBenefit.model_validate(json.loads(raw))
        assert resource.use == "predetermination" and resource.item
    ids = {json.loads(raw)["id"] for raw in records}
    assert len(ids) == 400
    assert _run(tmp_path / "two", 2) == one
