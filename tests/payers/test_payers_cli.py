"""``therabill payers`` (list, show, compare) and the guide's ``--payer`` answers from the
published payer files, through the command line."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from therabill.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def run_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_payers_lists_the_real_payers_first_with_their_unknowns() -> None:
    rows = run_json("payers")
    published = [row for row in rows if row["published_rules"]]
    assert len(published) >= 8
    assert rows[: len(published)] == published
    cigna = next(row for row in rows if row["id"] == "cigna-commercial")
    assert cigna["as_of"] == "2025-11-29" and "mppr" in cigna["unknown"]
    table = runner.invoke(app, ["payers"], env=WIDE)
    assert table.exit_code == 0 and "tricare" in table.stdout


def test_payers_show_gives_each_rule_with_source_date_and_confidence() -> None:
    detail = run_json("payers", "show", "cigna-commercial")
    cap = next(row for row in detail["rules"] if row["rule"] == "daily_cap")
    assert cap["value"] == "capped" and cap["effective_from"] == "2022-10-15"
    assert cap["confidence"] == "B" and cap["source"].startswith("Cigna four-unit limit")
    assert cap["other_reading"]["effective_from"] == "2022-11-01"
    mppr = next(row for row in detail["rules"] if row["rule"] == "mppr")
    assert mppr["answer"] == "unknown" and mppr["note"]
    text = runner.invoke(app, ["payers", "show", "cigna-commercial"], env=WIDE)
    assert "claim-line order" in text.stdout and "[confidence B]" in text.stdout


def test_payers_show_an_unknown_payer_is_one_line() -> None:
    result = runner.invoke(app, ["payers", "show", "acme"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "unknown payer 'acme'" in result.output


def test_payers_compare_97124_97140_answers_for_every_payer_with_sources() -> None:
    answer = run_json("payers", "compare", "97124", "97140", "--date", "2025-06-01")
    by_id = {payer["id"]: payer for payer in answer["payers"]}
    published = [p for p in answer["payers"] if p["as_of"]]
    assert len(published) >= 8
    for payer in published:
        assert payer["coverage"]["97124"]["source"]
        assert payer["same_day"][0]["codes"] == ["97124", "97140"]
        assert payer["same_day"][0]["source"]
        assert set(payer["rules"]) == {"unit_method", "daily_cap", "assistant_rate", "mppr"}
    assert by_id["tricare"]["coverage"]["97124"]["answer"] == "only within a PT/OT plan of care"
    assert by_id["tricare"]["massage_therapist"]["answer"] == "not paid"
    assert by_id["aetna-commercial"]["coverage"]["97124"]["confidence"] == "C"
    assert by_id["unitedhealthcare-commercial"]["coverage"]["97124"]["other_reading"] is True
    assert by_id["unitedhealthcare-commercial"]["same_day"][0]["verdict"] == "no"
    assert by_id["unitedhealthcare-commercial"]["same_day"][0]["ncci_assumed"] is False
    assert by_id["cigna-commercial"]["same_day"][0]["ncci_assumed"] is True
    assert by_id["cigna-commercial"]["rules"]["assistant_rate"]["answer"] == "CQ/CO paid at 85%"
    assert by_id["medicare"]["coverage"]["97124"]["answer"] == "covered (status A)"
    assert "Plans differ" in answer["caveat"]


def test_payers_compare_before_a_rule_starts_says_not_yet() -> None:
    answer = run_json("payers", "compare", "97110", "--date", "2022-01-03")
    cigna = next(p for p in answer["payers"] if p["id"] == "cigna-commercial")
    assert cigna["rules"]["daily_cap"]["answer"].startswith("not yet")


def test_payers_compare_table_and_bad_code() -> None:
    table = runner.invoke(app, ["payers", "compare", "97124", "97140", "--date",
                                "2025-06-01"], env=WIDE)
    assert table.exit_code == 0
    assert "horizon-nj-health" in table.stdout and "Sources" in table.stdout
    bad = runner.invoke(app, ["payers", "compare", "99999x"])
    assert bad.exit_code == 2


def test_explain_and_compare_answer_with_the_payers_published_rules() -> None:
    explained = run_json("explain", "97124", "--payer", "tricare", "--date", "2025-06-01")
    notes = explained["coverage"]
    assert any("TRICARE: massage (97124) coverage: only within a PT/OT plan of care"
               in note["text"] and "tricare-west" in note["source"] for note in notes)
    assert any("TRICARE has published nothing found on" in note["text"] for note in notes)
    compared = run_json("compare", "97124", "97140", "--payer", "unitedhealthcare-commercial",
                        "--date", "2025-06-01")
    together = compared["together"][0]
    assert together["verdict"] == "no"
    assert "UnitedHealthcare applies the NCCI edits" in together["text"]
    assert "COMM-CCI-Editing-Policy" in together["source"]


README_ROWS = {  # README row label → payer id
    "UnitedHealthcare": "unitedhealthcare-commercial", "Aetna": "aetna-commercial",
    "Cigna": "cigna-commercial", "Anthem (IN, KY, MO, OH, WI)": "anthem-commercial",
    "Horizon BCBSNJ": "horizon-bcbsnj", "TRICARE": "tricare",
    "Premera (WA, AK)": "premera-blue-cross", "Highmark (PA)": "highmark-commercial",
    "Horizon NJ Health (Medicaid)": "horizon-nj-health", "Nevada Medicaid": "nevada-medicaid",
    "Texas workers' comp": "texas-workers-comp",
    "California workers' comp": "california-workers-comp", "Medicare": "medicare",
}


def test_the_readme_answer_is_the_one_payers_compare_gives() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    answer = run_json("payers", "compare", "97124", "97140", "--date", "2025-06-01")
    by_id = {payer["id"]: payer for payer in answer["payers"]}
    rows = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] in README_ROWS:
            rows[README_ROWS[cells[0]]] = cells
    assert set(rows) == set(README_ROWS.values())
    for payer_id, cells in rows.items():
        payer = by_id[payer_id]
        covered = payer["coverage"]["97124"]
        assert cells[1].startswith(covered["answer"]), (payer_id, cells[1])
        lmt = payer["massage_therapist"]
        assert cells[2].startswith(lmt["answer"]), (payer_id, cells[2])
        assert cells[3].startswith(payer["same_day"][0]["verdict"]), payer_id
        assert ("unknown" in cells[3]) == payer["same_day"][0]["ncci_assumed"], payer_id
        rate = payer["rules"]["assistant_rate"]
        assert ("85%" in cells[6]) == ("85%" in rate["answer"]), payer_id
        if rate.get("effective_from"):
            assert rate["effective_from"] in cells[6], payer_id
