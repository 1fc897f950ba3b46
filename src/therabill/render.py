"""Presenting results: JSON for programs, and the check view for people.

``result_json`` needs nothing but the result types, so importing it loads no interface library.
The table view (``render_result``, ``render_data_notes``, ``DataNotes``) lives with the other
command line views in ``therabill.cli_views.check``, the only place besides ``therabill.cli``
that imports rich; it is reachable from here too, loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from therabill.model import RESULT_ADAPTER, CheckResult

if TYPE_CHECKING:
    from therabill.cli_views.check import DataNotes, render_data_notes, render_result

__all__ = ["DataNotes", "render_data_notes", "render_result", "result_json"]
_VIEWS = frozenset({"DataNotes", "render_data_notes", "render_result"})


def result_json(result: CheckResult) -> dict[str, Any]:
    return RESULT_ADAPTER.dump_python(result, mode="json")


def __getattr__(name: str) -> Any:
    if name in _VIEWS:
        from therabill.cli_views import check

        return getattr(check, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
