"""FHIR output: every ExplanationOfBenefit re-parses with fhir.resources (R4B), and its items
and amounts are the checked visit's, cent for cent."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from hypothesis import given, settings
from hypothesis import strategies as st

import therabill
from therabill.batch.fhir import (
    ADJUDICATION,
    ADJUDICATION_SYSTEM,
    LINE_AMOUNTS,
    RULE_SYSTEM,
    eob_json,
    explanation_of_benefit,
    fhir_id,
    fhir_string,
    ndjson_line,
    write_ndjson,
)
from therabill.model import CheckResult

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 1, 15)


def example_visits() -> list[dict[str, Any]]:
    lines = (REPO / "examples" / "visits.jsonl").read_text(encoding="utf-8").splitlines()
    visits = [json.loads(line) for line in lines if line.strip()]
    visits.append(json.loads((REPO / "examples" / "massage-and-manual.json").read_text(
        encoding="utf-8")))
    visits.append({"visit_id": "no lines at all", "date_of_service": "2025-02-10",
                   "lines": [{"code": "ZZZZZ", "minutes": 10}]})
    visits.append({"visit_id": "before the data", "date_of_service": "2015-02-10",
                   "lines": [{"code": "97110", "minutes": 10}]})
    visits.append({"visit_id": "v" * 80, "patient_id": "p-9", "date_of_service": "2025-02-10",
                   "payer": "commercial-mppr", "lines": [{"code": "97014"},
                                                        {"code": "97110", "minutes": 40}]})
    return visits


@pytest.fixture(scope="module")
def results() -> list[CheckResult]:
    engine = therabill.Engine()
    return list(engine.check_many(example_visits()))


def amounts(entries: list[Any]) -> dict[str, Decimal]:
    return {entry.category.coding[0].code: Decimal(str(entry.amount.value))
            for entry in entries if entry.amount is not None}


def eligible_entry(item: Any) -> Any:
    return next(a for a in item.adjudication if a.category.coding[0].code == "eligible")


def test_every_resource_reparses_and_matches_its_result(results: list[CheckResult]) -> None:
    for result in results:
        text = ndjson_line(explanation_of_benefit(result, created=DAY))
        assert "\n" not in text and eob_json(result, created=DAY) == text
        eob = ExplanationOfBenefit.model_validate_json(text)
        assert eob.identifier[0].value == result.visit_id
        assert eob.use == "predetermination" and eob.status == "active"
        assert len(eob.item or []) == len(result.lines)
        for item, line in zip(eob.item or [], result.lines, strict=True):
            assert item.productOrService.coding[0].code == line.code
            assert Decimal(str(item.quantity.value)) == line.units
            assert [m.coding[0].code for m in item.modifier or []] == line.modifiers
            found = amounts(item.adjudication)
            for field, _system, code in LINE_AMOUNTS:  # every money field the line has
                value = getattr(line, field, None)
                assert found.get(code) == value, (result.visit_id, line.code, field)
        totals = amounts(eob.total or [])
        assert totals.get("eligible") == result.totals.allowed
        assert totals.get("benefit") == result.totals.payer_paid
        assert totals.get("patient-responsibility") == result.totals.patient_owes


def test_denied_line_carries_its_rule_and_the_outcome_is_partial(
        results: list[CheckResult]) -> None:
    result = next(r for r in results if r.visit_id == "massage-and-manual")
    eob = explanation_of_benefit(result, created=DAY)
    assert eob.outcome == "partial"
    assert eob.patient.identifier.value == "demo-1"
    denied = next(item for item in eob.item if item.productOrService.coding[0].code == "97124")
    eligible = eligible_entry(denied)
    assert eligible.reason.coding[0].system == RULE_SYSTEM
    assert eligible.reason.coding[0].code == "ncci.ptp" and eligible.reason.text == "denied"
    notes = {note.number: note.text for note in eob.processNote}
    assert denied.noteNumber and all("ncci" in notes[n] for n in denied.noteNumber)
    assert all(n.type == "display" for n in eob.processNote)
    paid = next(item for item in eob.item if item.productOrService.coding[0].code == "97140")
    assert amounts(paid.adjudication)["submitted"] == Decimal("60")


def test_outcomes_complete_and_error(results: list[CheckResult]) -> None:
    by_id = {r.visit_id: r for r in results}
    clean = explanation_of_benefit(by_id["cms-example-1"], created=DAY)
    assert clean.outcome == "complete" and clean.patient.display == "patient not stated"
    broken = explanation_of_benefit(by_id["no lines at all"], created=DAY)
    assert broken.outcome == "error" and len(broken.item) == 1
    assert any("[error input]" in note.text for note in broken.processNote)
    reason = eligible_entry(broken.item[0]).reason
    assert (reason.coding[0].code, reason.text) == ("input", "invalid")
    unpriced = explanation_of_benefit(by_id["before the data"], created=DAY)
    assert unpriced.outcome == "error"
    assert any("[error data]" in note.text for note in unpriced.processNote)
    assert eligible_entry(unpriced.item[0]).reason.text == "not priced"
    every_line_bad = explanation_of_benefit(by_id["bad-line"], created=DAY)
    assert every_line_bad.outcome == "error" and len(every_line_bad.item) == 3


def test_amount_categories_use_the_fhir_and_therabill_systems(
        results: list[CheckResult]) -> None:
    result = next(r for r in results if r.visit_id == "assistant-2025")
    eob = explanation_of_benefit(result, created=DAY, provider_npi="1987654328",
                                 notes=["minutes not in an 837P: units as billed"])
    assert eob.provider.identifier.value == "1987654328"
    assert eob.created.isoformat() == DAY.isoformat()
    assert any(n.text == "minutes not in an 837P: units as billed" for n in eob.processNote)
    systems = {(a.category.coding[0].system, a.category.coding[0].code)
               for item in eob.item for a in item.adjudication}
    assert (ADJUDICATION, "eligible") in systems and (ADJUDICATION, "benefit") in systems
    assert (ADJUDICATION_SYSTEM, "patient-responsibility") in systems
    assert eob.payment.amount.value == result.totals.payer_paid


def test_ids_are_fhir_safe_and_distinct() -> None:
    assert fhir_id("RB2506-001") == "RB2506-001"
    odd = [fhir_id(text) for text in ("a/b", "a b", "a_b", "x" * 65, "x" * 66)]
    assert len(set(odd)) == len(odd)
    for value in odd:
        assert len(value) <= 64
        ExplanationOfBenefit.model_validate({
            "resourceType": "ExplanationOfBenefit", "id": value, "status": "active",
            "type": {"coding": [{"code": "professional"}]}, "use": "claim",
            "patient": {"display": "p"}, "created": "2026-01-01", "insurer": {"display": "i"},
            "provider": {"display": "p"}, "outcome": "complete",
            "insurance": [{"focal": True, "coverage": {"display": "c"}}]})


def test_the_fast_lines_write_and_read_back(results: list[CheckResult], tmp_path: Path) -> None:
    target = tmp_path / "fast.ndjson"
    assert write_ndjson((eob_json(r, created=DAY) for r in results), target) == len(results)
    for line, result in zip(target.read_text(encoding="utf-8").splitlines(), results,
                            strict=True):
        eob = ExplanationOfBenefit.model_validate_json(line)
        assert eob.identifier[0].value == result.visit_id


def test_ndjson_writer_is_atomic(results: list[CheckResult], tmp_path: Path) -> None:
    target = tmp_path / "out" / "eob.ndjson"
    count = write_ndjson((explanation_of_benefit(r, created=DAY) for r in results), target)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert count == len(lines) == len(results)
    for line in lines:
        ExplanationOfBenefit.model_validate_json(line)

    def interrupted() -> Any:
        yield explanation_of_benefit(results[0], created=DAY)
        raise KeyboardInterrupt

    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        write_ndjson(interrupted(), target)
    assert target.read_bytes() == before  # the complete file stays, no half-written one
    assert sorted(p.name for p in target.parent.iterdir()) == ["eob.ndjson"]


def test_output_is_the_same_bytes_every_time(results: list[CheckResult]) -> None:
    first = [ndjson_line(explanation_of_benefit(r, created=DAY)) for r in results]
    again = [ndjson_line(explanation_of_benefit(r, created=DAY)) for r in results]
    assert first == again


CODES = ["97110", "97112", "97140", "97124", "97530", "97161", "97165", "92507", "97010",
         "97014", "G0283", "97150", "97035", "97750"]


@st.composite
def random_visits(draw: st.DrawFn) -> dict[str, Any]:
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        minutes = draw(st.integers(min_value=0, max_value=75))
        line: dict[str, Any] = {"code": draw(st.sampled_from(CODES)), "minutes": minutes,
                                "assistant_minutes": draw(st.integers(0, minutes))}
        if draw(st.booleans()):
            line["charge"] = str(draw(st.decimals(0, 500, places=2)))
        if draw(st.booleans()):
            line["modifiers"] = draw(st.lists(st.sampled_from(["GP", "GO", "59", "XU", "KX"]),
                                              max_size=2, unique=True))
        lines.append(line)
    return {"visit_id": draw(st.text("ab/_-. 9", min_size=1, max_size=70)
                             | st.text(st.characters(exclude_categories=("Cs",)), min_size=1,
                                       max_size=20)),
            "patient_id": draw(st.sampled_from([None, "p-1"])),
            "date_of_service": draw(st.dates(date(2016, 6, 1), date(2026, 12, 31))).isoformat(),
            "payer": draw(st.sampled_from(["medicare", "commercial-cpt", "commercial-mppr",
                                           "nobody"])),
            "lines": lines}


@settings(max_examples=60, deadline=None)
@given(visit=random_visits())
def test_any_checked_visit_gives_a_valid_resource(visit: dict[str, Any]) -> None:
    result = ENGINE.check(visit)
    text = ndjson_line(explanation_of_benefit(result, created=DAY))
    assert eob_json(result, created=DAY) == text  # the fast writer's bytes are the model's
    eob = ExplanationOfBenefit.model_validate_json(text)
    assert eob.outcome in ("complete", "partial", "error")
    assert len(eob.item or []) == len(result.lines)
    assert eob.identifier[0].value == fhir_string(visit["visit_id"]) and len(eob.id) <= 64
    for item, line in zip(eob.item or [], result.lines, strict=True):
        found = amounts(item.adjudication)
        for field, _system, code in LINE_AMOUNTS:
            assert found.get(code) == getattr(line, field, None)
        if line.status != "payable":
            assert eligible_entry(item).reason.text == line.status


ENGINE = therabill.Engine()


def test_837p_notes_name_the_provider(results: list[CheckResult]) -> None:
    from therabill.batch.records import VisitRecord
    from therabill.batch.x12 import read_837p

    record = next(r for r in read_837p(REPO / "examples" / "claims-837p.x12")
                  if isinstance(r, VisitRecord))
    eob = explanation_of_benefit(results[0], created=DAY, notes=record.notes)
    assert eob.provider.identifier.value == "1987654328"
    texts = [n.text for n in eob.processNote]
    assert all(note in texts for note in record.notes)


def test_a_visit_id_with_a_no_break_space_still_makes_a_valid_resource() -> None:
    # found by the property test: FHIR strings hold no whitespace but spaces, tabs and breaks
    result = ENGINE.check({"visit_id": "V\xa01", "date_of_service": "2025-03-03",
                           "lines": [{"code": "97110", "minutes": 30}]})
    eob = ExplanationOfBenefit.model_validate_json(
        ndjson_line(explanation_of_benefit(result, created=DAY)))
    assert eob.identifier[0].value == "V 1" and result.visit_id == "V\xa01"
