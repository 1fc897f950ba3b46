"""The interface libraries stay at the edge: the engine, reference data and guide import none."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from therabill.cli import app

INTERFACE = ("rich", "typer", "matplotlib")
CORE = ("therabill", "therabill.engine", "therabill.rules", "therabill.pricing",
        "therabill.reference", "therabill.reference.info", "therabill.reference.store",
        "therabill.guide.explain", "therabill.guide.compare", "therabill.guide.history",
        "therabill.guide.suggest", "therabill.guide.facts", "therabill.model",
        "therabill.render")


def _loaded_after(modules: tuple[str, ...], work: str = "") -> set[str]:
    """Top-level packages loaded by a fresh interpreter after importing ``modules``."""
    script = textwrap.dedent(f"""
        import importlib, sys
        for name in {modules!r}:
            importlib.import_module(name)
        {work}
        print(" ".join(sorted({{m.partition(".")[0] for m in sys.modules}})))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


def test_core_and_guide_import_no_interface_library() -> None:
    # Work through the engine and the guide too, so lazy imports inside functions count.
    loaded = _loaded_after(CORE, work=textwrap.dedent("""
        from datetime import date
        import therabill
        from therabill.guide.explain import explain_code
        from therabill.guide.history import code_history
        from therabill.guide.suggest import suggest
        from therabill.reference.info import info_json
        from therabill.reference.store import default_reference
        therabill.check({"visit_id": "v", "date_of_service": "2025-06-03",
                         "lines": [{"code": "97140", "minutes": 23}]})
        reference = default_reference()
        explain_code("97124", date(2025, 6, 1), "national", "medicare", reference)
        code_history(["97124"], 2024, 2025, "national", reference)
        suggest("effleurage")
        info_json(reference)
        """).replace("\n", "\n        "))
    assert "therabill" in loaded
    assert not loaded & set(INTERFACE), sorted(loaded & set(INTERFACE))


def test_the_command_line_does_load_them() -> None:
    # The check above can fail: the same probe sees rich and typer once the CLI is imported.
    assert {"rich", "typer"} <= _loaded_after(("therabill.cli",))


def test_history_plot_without_matplotlib_says_how_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes every import of matplotlib fail as if it were absent.
    for name in [m for m in sys.modules if m.partition(".")[0] == "matplotlib"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "therabill.cli_views.plot", raising=False)
    chart = tmp_path / "chart.png"
    result = CliRunner().invoke(app, ["history", "97124", "--plot", str(chart)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: --plot needs matplotlib, which is not installed: "
                     "pip install 'therabill[plot]'"]
    assert not chart.exists()


def test_history_without_plot_needs_no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "therabill.cli_views.plot", raising=False)
    result = CliRunner().invoke(app, ["history", "97124", "--from", "2025"])
    assert result.exit_code == 0, result.output
