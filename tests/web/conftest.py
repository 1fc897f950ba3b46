from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from therabill.engine import Engine
from therabill.web.app import create_app
from therabill.web.settings import Settings

REPO = Path(__file__).resolve().parents[2]
KEY = "test-key-5f1c2a"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="session")
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), engine=engine)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def keyed_client(engine: Engine) -> Iterator[TestClient]:
    settings = Settings(api_keys=frozenset({KEY, "second-key"}), max_body_bytes=4096,
                        max_visits=3)
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


@pytest.fixture
def massage_visit() -> dict[str, Any]:
    """97124 and 97140 the same day: the example whose 97124 NCCI denies."""
    visit: dict[str, Any] = json.loads((REPO / "examples" / "massage-and-manual.json")
                                       .read_text(encoding="utf-8"))
    return visit
