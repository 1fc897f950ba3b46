"""Where reference data lives: in the package, in the user's imports, in the CMS files."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "bundled"
PARAMETERS_DIR = PACKAGE_DIR / "parameters"


def user_data_dir() -> Path:
    """Imported official files go here; ``THERABILL_DATA_DIR`` overrides the XDG data home."""
    override = os.environ.get("THERABILL_DATA_DIR")
    return Path(override) if override else user_data_path("therabill")


def cms_source_dir() -> Path:
    """The official CMS files the bundled tables are built from (``THERABILL_CMS_DIR`` overrides).

    In a checkout they sit in ``../shared/cms`` beside the repository.
    """
    override = os.environ.get("THERABILL_CMS_DIR")
    if override:
        return Path(override)
    return PACKAGE_DIR.parents[2].parent / "shared" / "cms"


class DataDirError(Exception):
    """The user's data directory cannot be used as it is: one line naming the path, the cause
    and, where there is one, the command that repairs it."""

    def __init__(self, path: Path | str, cause: str, repair: str = "") -> None:
        self.path = str(path)
        self.cause = cause
        self.repair = repair
        message = f"{self.path}: {cause}"
        if repair:
            message += f"; {repair}"
        super().__init__(message)


REPAIR_RESET = "run `therabill data reset` and import the files again"
REPAIR_REPAIR = "run `therabill data repair`"
