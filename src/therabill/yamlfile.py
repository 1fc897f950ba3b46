"""Reading a YAML data file into a validated pydantic model, with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_model(path: Path, model: type[M], error: type[ValueError], label: str) -> M:
    """Parse ``path`` as ``model``; any problem raises ``error`` as "label: where: what"."""
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise error(f"{label}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise error(f"{label}: {where}: {first['msg']}") from None
