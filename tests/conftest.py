from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from therabill.reference.paths import cms_source_dir

# In CI the property tests draw the same examples every run (hundreds of them still): a
# submission's result must not depend on the draw. Locally they explore afresh each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def cms_dir() -> Path:
    """The official CMS files; the suite runs on the real data, so their absence is a failure."""
    path = cms_source_dir()
    if not (path / "PROVENANCE.md").exists():
        pytest.fail(f"CMS source files not found at {path}; set THERABILL_CMS_DIR")
    return path
