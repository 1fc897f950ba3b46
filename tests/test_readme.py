"""The README's commands run as written, and its figures are the ones the commands give."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from therabill.cli import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def _commands() -> list[str]:
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command.startswith("therabill ") and "…" not in command:
                found.append(command)
    return found


def test_readme_has_the_two_setup_commands() -> None:
    assert "make demo" in README and "make test" in README
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


@pytest.mark.parametrize("command", _commands())
def test_readme_command_runs(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                             ) -> None:
    monkeypatch.chdir(REPO)
    args = shlex.split(command)[1:]
    if "--plot" in args:
        index = args.index("--plot") + 1
        args[index] = str(tmp_path / args[index])
    result = runner.invoke(app, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output


def test_readme_payment_figures_match_compare() -> None:
    result = runner.invoke(app, ["compare", "97124", "97140", "--date", "2025-06-01",
                                 "--locality", "01182-18", "--format", "json"])
    assert result.exit_code == 0, result.output
    text = json.dumps(json.loads(result.output))
    for figure in ("29.76", "27.17", "33.65", "30.17", "2.59"):
        assert f'"{figure}"' in text, figure
        assert f"${figure}" in README, figure


def test_readme_python_example() -> None:
    import therabill

    result = therabill.check({"visit_id": "v1", "date_of_service": "2025-03-04",
                              "lines": [{"code": "97110", "minutes": 38}]})
    assert result.lines[0].units == 3
