"""``therabill ledger`` commands, on both back ends (the URL from THERABILL_DATABASE_URL or the
option), and the README's ledger section run in order as written."""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from therabill.cli import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _run(args: list[str], url: str):
    return runner.invoke(app, args, env={"THERABILL_DATABASE_URL": url, "COLUMNS": "200"})


def test_readme_ledger_section_runs_in_order(database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(REPO)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Patient's year (ledger)", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#", 1)[0].strip()
                for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)
                for line in block.splitlines() if line.startswith("therabill ledger ")]
    assert len(commands) >= 5
    outputs = []
    for command in commands:
        args = shlex.split(command)[1:]
        if "--database-url" in args:  # the README's PostgreSQL example: this test's database
            args[args.index("--database-url") + 1] = database_url
        result = _run(args, database_url)
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.output)
    text = "\n".join(outputs)
    # what the section says the commands show
    assert "now need KX: pt-14" in text
    assert "KX first needed: 2025-04-14" in text
    assert "targeted review amount passed: PT+SLP" in text


def test_post_year_json_delete_and_errors(database_url: str, tmp_path: Path):
    visits = [json.loads(line) for line in
              (REPO / "examples" / "ledger-year.jsonl").read_text().splitlines()]
    no_patient = {k: v for k, v in visits[0].items() if k != "patient_id"}
    no_patient["visit_id"] = "orphan"
    path = tmp_path / "visits.jsonl"
    path.write_text("\n".join(json.dumps(v) for v in [*visits[:3], no_patient, {"bad": 1}])
                    + "\nnot json\n")
    result = _run(["ledger", "post", str(path), "--format", "json"], database_url)
    assert result.exit_code == 1
    posted = json.loads(result.stdout)
    assert [p["visit_id"] for p in posted] == ["pt-01", "pt-02", "pt-03"]
    assert "visit 4: visit 'orphan' has no patient_id" in result.stderr
    assert "visit 5: " in result.stderr and "visit 6: " in result.stderr
    assert "3 of 6 visits not posted" in result.stderr
    year = _run(["ledger", "year", "demo-1", "2025", "--format", "json"], database_url)
    assert year.exit_code == 0
    body = json.loads(year.stdout)
    assert [v["visit_id"] for v in body["visits"]] == ["pt-01", "pt-02", "pt-03"]
    assert Decimal(body["totals"]["pt_slp"]) == sum(
        (Decimal(p["result"]["totals"]["allowed"]) for p in posted), Decimal(0)) > 0
    gone = _run(["ledger", "delete", "demo-1", "pt-02"], database_url)
    assert gone.exit_code == 0 and "check again" in gone.stdout
    again = _run(["ledger", "delete", "demo-1", "pt-02"], database_url)
    assert again.exit_code == 1
    assert again.stderr.strip() == "error: patient 'demo-1' has no posted visit 'pt-02'"
    fixed = _run(["ledger", "recheck", "demo-1", "2025", "--format", "json"], database_url)
    assert [p["visit_id"] for p in json.loads(fixed.stdout)] == ["pt-03"]
    assert _run(["ledger", "recheck", "demo-1", "2025"], database_url).stdout.startswith(
        "nothing to check again")


def test_bad_arguments_are_one_line_errors(database_url: str, tmp_path: Path):
    missing = _run(["ledger", "post", str(tmp_path / "none.json")], database_url)
    assert missing.exit_code == 2 and missing.stderr.startswith("error: cannot read")
    fmt = _run(["ledger", "year", "p", "2025", "--format", "xml"], database_url)
    assert fmt.exit_code == 2 and "--format must be table or json" in fmt.stderr
    wrong = _run(["ledger", "db", "upgrade", "--database-url", "mysql://u@h/d"], database_url)
    assert wrong.exit_code == 2
    assert wrong.stderr.strip() == ("error: the ledger keeps its data in SQLite or PostgreSQL, "
                                    "not mysql")
    down = _run(["ledger", "year", "p", "2025"], "postgresql://nobody:secret@127.0.0.1:1/x")
    assert down.exit_code == 2 and "cannot open the ledger database" in down.stderr
    assert "secret" not in down.stderr and "Traceback" not in down.output
    upgraded = _run(["ledger", "db", "upgrade"], database_url)
    assert upgraded.exit_code == 0 and "revision 0001" in upgraded.stdout


def test_the_readme_example_year_before_the_late_visit(database_url: str):
    path = str(REPO / "examples" / "ledger-year.jsonl")
    assert _run(["ledger", "post", path], database_url).exit_code == 0
    year = _run(["ledger", "year", "demo-1", "2025"], database_url)
    assert "KX first needed: 2025-04-21" in year.stdout
    late = _run(["ledger", "post", str(REPO / "examples" / "ledger-late-visit.json"),
                 "--format", "json"], database_url)
    assert json.loads(late.stdout)[0]["now_need_kx"] == ["pt-14"]
    assert "KX first needed: 2025-04-14" in _run(["ledger", "year", "demo-1", "2025"],
                                                  database_url).stdout
    fixed = json.loads(_run(["ledger", "recheck", "demo-1", "2025", "--format", "json"],
                            database_url).stdout)
    assert [p["visit_id"] for p in fixed] == [f"pt-{n:02d}" for n in range(1, 19)]
    pt14 = next(p for p in fixed if p["visit_id"] == "pt-14")["result"]
    assert any(f["rule"] == "threshold.kx" and f["severity"] == "error"
               for f in pt14["findings"])


def test_unknown_patient_and_a_damaged_database_are_one_line_errors(tmp_path: Path):
    import sqlite3

    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    path = str(REPO / "examples" / "ledger-late-visit.json")
    assert _run(["ledger", "post", path], url).exit_code == 0
    unknown = _run(["ledger", "year", "nobody", "2025"], url)
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "error: the ledger has no visits of patient 'nobody'"
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        conn.execute("ALTER TABLE ledger_visits DROP COLUMN gave_ytd")
    for args in (["ledger", "year", "demo-1", "2025"], ["ledger", "post", path],
                 ["ledger", "delete", "demo-1", "pt-00"], ["ledger", "recheck", "demo-1", "2025"]):
        broken = _run(args, url)
        assert broken.exit_code != 0, args
        assert "no such column" in broken.stderr and "Traceback" not in broken.output, args
        assert len(broken.stderr.strip().splitlines()) <= 2, broken.stderr
