from __future__ import annotations

from pathlib import Path

import pytest

from therabill.reference.paths import cms_source_dir


@pytest.fixture(scope="session")
def cms_dir() -> Path:
    """The official CMS files; the suite runs on the real data, so their absence is a failure."""
    path = cms_source_dir()
    if not (path / "PROVENANCE.md").exists():
        pytest.fail(f"CMS source files not found at {path}; set THERABILL_CMS_DIR")
    return path
