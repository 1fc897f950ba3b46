"""The 837P reader: the sample file's claims as visits, the malformed one's bad claims as rejects
with segment and element, nothing lost, and (once the engine takes billed units) a check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import therabill
from therabill.batch.records import Reject, VisitRecord
from therabill.batch.x12 import MINUTES_NOTE, payer_slug, read_837p

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "examples" / "claims-837p.x12"
MALFORMED = REPO / "examples" / "claims-837p-malformed.x12"

def visits(records: list[Any]) -> dict[str, dict[str, Any]]:
    return {r.visit["visit_id"]: r.visit for r in records if isinstance(r, VisitRecord)}


def rejects(records: list[Any]) -> list[Reject]:
    return [r for r in records if isinstance(r, Reject)]


def claim_ids(text: str) -> list[str]:
    """CLM01 of every claim in the text ("?" for a blank one, as the reader names it; an
    element cut by the component separator ``:`` keeps its first component, as X12 reads it)."""
    return [found.split(":")[0].strip() or "?"
            for found in re.findall(r"(?:^|~)\s*CLM\*([^*~]*)", text)]


def variant(tmp_path: Path, old: str, new: str, name: str = "variant.x12") -> Path:
    text = SAMPLE.read_text(encoding="ascii")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="ascii")
    return path


@pytest.fixture(scope="module")
def sample() -> list[Any]:
    return list(read_837p(SAMPLE))


def test_sample_validates_and_every_claim_becomes_visits(sample: list[Any]) -> None:
    assert rejects(sample) == []
    assert list(visits(sample)) == [
        "RB2506-001", "RB2506-006", "RB2506-002-2025-06-03", "RB2506-002-2025-06-05",
        "RB2506-003", "RB2506-004", "RB2506-005"]


def test_a_claim_becomes_the_documented_visit_shape(sample: list[Any]) -> None:
    record = sample[0]
    assert isinstance(record, VisitRecord)
    assert record.visit == {
        "visit_id": "RB2506-001", "patient_id": "3QR7TU5VW12", "date_of_service": "2025-06-02",
        "payer": "medicare", "discipline": "PT",
        "lines": [
            {"code": "97110", "modifiers": ["GP"], "discipline": "PT", "charge": "135.00",
             "units": 3},
            {"code": "97140", "modifiers": ["GP"], "discipline": "PT", "charge": "42.00",
             "units": 1},
            {"code": "97010", "modifiers": ["GP"], "discipline": "PT", "charge": "12.00",
             "units": 1}]}
    assert record.position == "claims-837p.x12 claim RB2506-001 (segments 20-32)"
    assert MINUTES_NOTE in record.notes
    assert "rendering provider 1987654328" in record.notes
    assert any("Medicare Part B" in note for note in record.notes)


def test_a_claim_over_two_dates_is_two_visits(sample: list[Any]) -> None:
    found = visits(sample)
    first, second = found["RB2506-002-2025-06-03"], found["RB2506-002-2025-06-05"]
    assert (first["date_of_service"], second["date_of_service"]) == ("2025-06-03", "2025-06-05")
    assert [ln["code"] for ln in first["lines"]] == ["97110", "97112"]
    assert first["lines"][1]["modifiers"] == ["GP", "CQ"]
    assert [ln["code"] for ln in second["lines"]] == ["97110", "97530"]
    assert first["patient_id"] == second["patient_id"] == "5HJ2KL8MN34"


def test_dependent_patient_commercial_payer_and_disciplines(sample: list[Any]) -> None:
    found = visits(sample)
    child = found["RB2506-003"]
    assert child["patient_id"] == "BRH448812301/PARK/EMMA/20170908"
    assert child["payer"] == "blue-river-health" == payer_slug("BLUE RIVER HEALTH")
    assert child["discipline"] == "OT"
    assert found["RB2506-004"]["discipline"] == "SLP"
    assert found["RB2506-005"]["lines"][1] == {"code": "97124", "modifiers": ["GP", "59"],
                                               "discipline": "PT", "charge": "45.00",
                                               "units": 1}


def test_payer_mapping_and_defaults(tmp_path: Path) -> None:
    records = list(read_837p(SAMPLE, payers={"BRH01": "commercial-cpt"},
                             defaults={"locality": "01182-18", "payer": "ignored"}))
    found = visits(records)
    assert found["RB2506-003"]["payer"] == "commercial-cpt"
    assert found["RB2506-001"]["payer"] == "medicare"  # the file's word wins over a default
    assert all(v["locality"] == "01182-18" for v in found.values())
    assert not any("locality" in n for r in records for n in r.notes)
    by_name = visits(list(read_837p(SAMPLE, payers={"BLUE RIVER HEALTH": "commercial-mppr"})))
    assert by_name["RB2506-003"]["payer"] == "commercial-mppr"


def test_malformed_claims_are_rejected_with_segment_and_element() -> None:
    records = list(read_837p(MALFORMED))
    bad = {r.position: r.reason for r in rejects(records)}
    assert bad == {
        "claims-837p-malformed.x12 claim RB2506-002 (segments 50-65)":
            'segment 58 (SV1) element SV102: Mandatory data element "Line Item Charge Amount" '
            "(SV102) is missing (error 1)",
        "claims-837p-malformed.x12 claim RB2506-003 (segments 79-88)":
            "segment 67 (SBR) element SBR09: (Q9) is not a valid code for Claim Filing "
            "Indicator Code (SBR09) (error 7)",
        "claims-837p-malformed.x12 claim RB2506-004 (segments 96-100)":
            'segment 100 (DTP) element DTP03: Data element "Service Date" (DTP03) contains an '
            "invalid date (20250631) (error 8)"}
    assert list(visits(records)) == ["RB2506-001", "RB2506-006", "RB2506-005"]


@pytest.mark.parametrize("path", [SAMPLE, MALFORMED])
@pytest.mark.parametrize("validate", [True, False])
def test_nothing_lost_every_claim_is_a_visit_or_a_reject(path: Path, validate: bool) -> None:
    records = list(read_837p(path, validate=validate))
    seen = set()
    for record in records:
        match = re.search(r" claim (\S+)", record.position)
        assert match, record.position
        seen.add(match.group(1))
    assert seen == set(claim_ids(path.read_text(encoding="ascii")))


def test_the_reader_without_the_map_gives_the_same_visits(sample: list[Any]) -> None:
    fast = list(read_837p(SAMPLE, validate=False))
    assert [(r.visit, r.position, r.notes) for r in fast] == [
        (r.visit, r.position, r.notes) for r in sample]


def test_an_unknown_segment_rejects_its_claim_and_a_wrong_count_its_envelope(
        tmp_path: Path) -> None:
    path = variant(tmp_path, "HI*ABK:M5450~", "HI*ABK:M5450~\nZZZ*1~")
    records = list(read_837p(path))
    bad = rejects(records)
    assert [r.position for r in bad] == ["variant.x12 claim RB2506-005 (segments 108-118)",
                                         "variant.x12 segment 119"]
    assert bad[0].reason.startswith("segment 110 (ZZZ): Segment ZZZ*1 not found")
    assert "SE count of 116" in bad[1].reason and "117" in bad[1].reason
    assert len(visits(records)) == 6
    fast = rejects(list(read_837p(path, validate=False)))
    assert [(r.position, r.reason) for r in fast] == [
        ("variant.x12 segment 119",
         "transaction 0001 (ST/SE): SE01 says 116 segments, the transaction has 117")]


def test_a_truncated_file_keeps_its_complete_claims(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="ascii")
    cut = text.index("LX*1~\nSV1*HC:97110:GP*90.00*UN*2***1~\nDTP*472*D8*20250603")
    path = tmp_path / "cut.x12"
    path.write_text(text[:cut + len("LX*1~\nSV1*HC:97110:GP*90.00*UN*2***1~")],
                    encoding="ascii")
    for validate in (True, False):
        records = list(read_837p(path, validate=validate))
        assert list(visits(records)) == ["RB2506-001", "RB2506-006"]
        bad = rejects(records)
        assert any("RB2506-002" in r.position and "no service date" in r.reason for r in bad)
        assert any("SE" in r.reason for r in bad), bad


@pytest.mark.parametrize(("content", "reason"), [
    (None, "cannot read the file"),
    ("hello, not a claim\n", "not an X12 file"),
])
def test_unreadable_files_are_one_reject(tmp_path: Path, content: str | None,
                                         reason: str) -> None:
    path = tmp_path / "input.x12"
    if content is not None:
        path.write_text(content, encoding="ascii")
    for validate in (True, False):
        records = list(read_837p(path, validate=validate))
        assert len(records) == 1 and isinstance(records[0], Reject)
        assert records[0].position == "input.x12" and records[0].reason.startswith(reason)


def test_another_implementation_is_refused(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="ascii").replace("005010X222A1", "005010X223A2")
    path = tmp_path / "institutional.x12"
    path.write_text(text, encoding="ascii")
    for validate in (True, False):
        (record,) = read_837p(path, validate=validate)
        assert isinstance(record, Reject)
        assert record.reason.startswith("not a 005010X222A1 professional claim file")


def test_minutes_ranges_and_odd_quantities(tmp_path: Path) -> None:
    path = variant(tmp_path, "SV1*HC:92507:GN*110.00*UN*1***1~\nDTP*472*D8*20250609",
                   "SV1*HC:92507:GN*110.00*MJ*40***1~\nDTP*472*RD8*20250609-20250611")
    text = path.read_text(encoding="ascii").replace("SV1*HC:97116:GP*40.00*UN*1***1",
                                                    "SV1*HC:97116:GP*40.00*UN*1.5***1")
    path.write_text(text, encoding="ascii")
    records = list(read_837p(path))
    assert rejects(records) == []
    found = {r.visit["visit_id"]: r for r in records if isinstance(r, VisitRecord)}
    speech = found["RB2506-004"]
    assert speech.visit["date_of_service"] == "2025-06-09"
    assert speech.visit["lines"][0]["minutes"] == 40 and "units" not in speech.visit["lines"][0]
    assert any("SV103 is MJ" in n for n in speech.notes)
    assert any("range 20250609-20250611" in n for n in speech.notes)
    assert found["RB2506-006"].visit["lines"][1]["units"] == "1.5"  # for the engine to report


def test_without_the_map_bad_dates_and_missing_codes_still_reject_their_claims() -> None:
    records = list(read_837p(MALFORMED, validate=False))
    bad = {r.position: r.reason for r in rejects(records)}
    assert bad == {"claims-837p-malformed.x12 claim RB2506-004 (segments 96-100)":
                   "line 1: segment 100 (DTP): DTP03 '20250631' is not a date"}
    found = visits(records)
    assert "charge" not in found["RB2506-002-2025-06-03"]["lines"][1]  # the engine's to report
    assert found["RB2506-003"]["payer"] == "blue-river-health"


def test_a_line_without_a_code_is_rejected(tmp_path: Path) -> None:
    path = variant(tmp_path, "SV1*HC:92507:GN*110.00", "SV1*HC*110.00")
    for validate in (True, False):
        (bad,) = rejects(list(read_837p(path, validate=validate)))
        assert "RB2506-004" in bad.position
        assert "SV101" in bad.reason, bad.reason


def test_void_and_replacement_claims(tmp_path: Path) -> None:
    path = variant(tmp_path, "CLM*RB2506-004*110.00***11:B:1", "CLM*RB2506-004*110.00***11:B:8")
    text = path.read_text(encoding="ascii").replace("CLM*RB2506-005*129.00***11:B:1",
                                                    "CLM*RB2506-005*129.00***11:B:7")
    path.write_text(text, encoding="ascii")
    for validate in (True, False):
        records = list(read_837p(path, validate=validate))
        (void,) = rejects(records)
        assert "RB2506-004" in void.position and void.reason.startswith("CLM05-3 is 8")
        replacement = next(r for r in records if isinstance(r, VisitRecord)
                           and r.visit["visit_id"] == "RB2506-005")
        assert any(n.startswith("CLM05-3 is 7") for n in replacement.notes)


# ---- through the engine (billed units) ------------------------------------------------------


def test_engine_checks_the_billed_units(sample: list[Any]) -> None:
    engine = therabill.Engine()
    results = {r.visit_id: r for r in engine.check_many(
        rec.visit for rec in sample if isinstance(rec, VisitRecord))}
    first = results["RB2506-001"]
    assert not [f for f in first.findings if f.rule == "input" and f.severity == "error"]
    units = {line.code: line.units for line in first.lines}
    assert units["97110"] == 3 and units["97140"] == 1
    assert all(line.allowed is not None and line.allowed > 0 for line in first.lines
               if line.status == "payable")
    assert any("minute" in f.message for f in first.findings)  # no 8-minute rule without them
    massage = results["RB2506-005"]
    denied = [line for line in massage.lines if line.code == "97124"]
    assert denied and denied[0].status == "denied"
    assert any(step.rule == "ncci.ptp" for step in denied[0].steps)


def test_engine_flags_assistant_units_and_unknown_payers(sample: list[Any]) -> None:
    engine = therabill.Engine()
    found = visits(sample)
    assisted = engine.check(found["RB2506-002-2025-06-03"])
    balance = [line for line in assisted.lines if line.code == "97112"]
    assert balance and all("CQ" in line.modifiers or any(
        step.rule == "modifier.assistant" for step in line.steps) for line in balance)
    unknown = engine.check(found["RB2506-003"])
    assert any(f.rule == "input" and "blue-river-health" in f.message
               for f in unknown.findings)
    mapped = visits(list(read_837p(SAMPLE, payers={"BRH01": "commercial-cpt"})))
    result = engine.check(mapped["RB2506-003"])
    assert result.payer == "commercial-cpt"
    assert {line.code for line in result.lines} >= {"97165", "97530"}


# ---- nothing lost, whatever is broken -------------------------------------------------------

SEGMENTS = SAMPLE.read_text(encoding="ascii").split("~\n")


@st.composite
def damaged_files(draw: st.DrawFn) -> str:
    """The sample with one segment deleted, doubled, cut short or given a bad element."""
    segments = [s for s in SEGMENTS if s]
    index = draw(st.integers(min_value=1, max_value=len(segments) - 1))
    kind = draw(st.sampled_from(["delete", "double", "truncate", "element", "garble"]))
    if kind == "delete":
        del segments[index]
    elif kind == "double":
        segments.insert(index, segments[index])
    elif kind == "truncate":
        segments = segments[:index]
    else:
        elements = segments[index].split("*")
        if len(elements) > 1:
            where = draw(st.integers(min_value=1, max_value=len(elements) - 1))
            elements[where] = "" if kind == "element" else draw(
                st.sampled_from(["!!", "X" * 90, "-1", "20251399", "1.2.3", "::"]))
        segments[index] = "*".join(elements)
    return "~\n".join(segments) + "~\n"


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged_files(), validate=st.booleans())
def test_every_claim_of_a_damaged_file_is_a_visit_or_a_reject(
        tmp_path: Path, text: str, validate: bool) -> None:
    path = tmp_path / "damaged.x12"
    path.write_text(text, encoding="ascii")
    records = list(read_837p(path, validate=validate))
    assert records, "a file always gives at least one record"
    whole = [r for r in records if r.position == "damaged.x12"]
    if whole:
        assert records == whole and isinstance(whole[0], Reject)
        return
    seen = {m.group(1) for r in records if (m := re.search(r" claim (\S+)", r.position))}
    assert seen == set(claim_ids(text))
    for record in records:
        if isinstance(record, Reject):
            assert record.reason and record.position.startswith("damaged.x12")
        else:
            assert record.visit["lines"] and MINUTES_NOTE in record.notes


def test_the_readme_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## 837P and FHIR"):]
    section = section[:section.index("\n## ", 4)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(REPO)
    target = tmp_path / "eob.ndjson"
    for block in blocks:
        exec(compile(block.replace('Path("out/eob.ndjson")', f"Path({str(target)!r})"),
                     "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("visit ") for line in printed) == 3
    assert sum(line.startswith("rejected ") for line in printed) == 3
    assert "partial" in printed and "97124 0.00 0.00" in printed
    assert len(target.read_text(encoding="utf-8").splitlines()) == 1


def test_the_read_speed_bench_runs_on_a_clean_generated_file() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_x12.py"), "--claims", "40", "--repeat", "1"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^(map-validated \(pyx12\)|envelope only)\s+([\d,]+) \(([\d,]+)\)\s+"
                      r"([\d,]+) \(([\d,]+)\), ([\d,]+)\s+\[(\d+) visits, (\d+) rejects\]$",
                      done.stdout, re.MULTILINE)
    assert [row[0] for row in rows] == ["map-validated (pyx12)", "envelope only"], done.stdout
    assert rows[0][6] == rows[1][6] and int(rows[0][6]) >= 40  # the same visits both ways
    assert rows[0][7] == rows[1][7] == "0"  # the generator writes valid 005010X222A1


def test_two_transactions_in_one_group(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="ascii")
    start, end = text.index("ST*837*0001"), text.index("GE*1*101")
    second = text[start:end].replace("*0001", "*0002").replace("RB2506-", "RB2507-")
    path = tmp_path / "two.x12"
    path.write_text(text[:end] + second + text[end:].replace("GE*1*101", "GE*2*101"),
                    encoding="ascii")
    for validate in (True, False):
        records = list(read_837p(path, validate=validate))
        assert rejects(records) == []
        found = visits(records)
        assert len(found) == 14 and found["RB2507-003"]["patient_id"].startswith("BRH448")
        later = next(r for r in records if r.visit["visit_id"] == "RB2507-001")
        assert later.position == "two.x12 claim RB2507-001 (segments 136-148)"
