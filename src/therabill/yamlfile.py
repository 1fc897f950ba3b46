"""Reading a YAML data file into a validated pydantic model or dataclass, with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

M = TypeVar("M")


def read_model(path: Path, model: type[M], error: type[ValueError], label: str) -> M:
    """Parse ``path`` as ``model``; any problem raises ``error`` as "label: where: what"."""
    try:
        return TypeAdapter(model).validate_python(
            yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise error(f"{label}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        what = ("unknown key (check its spelling)"
                if first["type"] in ("unexpected_keyword_argument", "extra_forbidden")
                else first["msg"])
        raise error(f"{label}: {where}: {what}") from None
