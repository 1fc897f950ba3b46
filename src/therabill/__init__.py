"""therabill: outpatient therapy claims from documented visits, each decision explained.

    >>> import therabill
    >>> result = therabill.check({"visit_id": "v1", "date_of_service": "2025-03-04",
    ...                           "lines": [{"code": "97110", "minutes": 38}]})
    >>> result.lines[0].units
    3
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from therabill.engine import Engine
    from therabill.model import CheckResult, Visit


def check(visit: Visit | dict[str, Any], **options: Any) -> CheckResult:
    """Check one visit (a dict or a ``therabill.model.Visit``); see ``therabill.engine.check``."""
    from therabill.engine import check as engine_check

    return engine_check(visit, **options)


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from therabill.engine import Engine

        return Engine
    raise AttributeError(f"module 'therabill' has no attribute {name!r}")


__all__ = ["Engine", "__version__", "check"]
