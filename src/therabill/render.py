"""Presenting results: JSON for programs, and the check view for people.

``result_json`` needs nothing but the result types. The table view lives with the other command
line views in ``therabill.cli_views`` (the only place, with ``therabill.cli``, that imports rich);
it is named here too for the ``check`` command.
"""

from __future__ import annotations

from typing import Any

from therabill.cli_views.check import DataNotes, render_data_notes, render_result
from therabill.model import RESULT_ADAPTER, CheckResult

__all__ = ["DataNotes", "render_data_notes", "render_result", "result_json"]


def result_json(result: CheckResult) -> dict[str, Any]:
    return RESULT_ADAPTER.dump_python(result, mode="json")
