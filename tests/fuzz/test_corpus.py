"""Every input that ever broke therabill, kept as a regression test (tests/fuzz/corpus.jsonl).

Each corpus record names the issue point it came from and goes either through the Python API
(``"via": "api"``, a ``visit``) or through the CLI's reader and the engine (``"via": "cli"``, the
input ``text``; ``@GOOD@`` stands for a well-formed visit and ``expand`` builds long runs such as
5,000 digits). Add a record whenever a new input breaks something.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

import therabill
from therabill.interchange import VisitReader
from therabill.model import CheckResult
from therabill.output import dumps

CORPUS = Path(__file__).with_name("corpus.jsonl")
GOOD = json.dumps({"visit_id": "good", "date_of_service": "2025-03-04",
                   "lines": [{"code": "97110", "minutes": 38}]})
SECONDS_PER_VISIT = 2.0


def _cases() -> list[dict[str, Any]]:
    # split on newlines only: a record may hold any other line separator
    return [json.loads(text) for text in CORPUS.read_text(encoding="utf-8").split("\n")
            if text.strip()]


def _messages(result: CheckResult) -> list[str]:
    return [f.message for f in result.findings if f.rule == "input"]


def test_the_corpus_covers_issue_10_points_4_to_8() -> None:
    points = {case["issue"] for case in _cases()}
    assert {"10.4", "10.5", "10.6", "10.8"} <= points
    assert len({case["id"] for case in _cases()}) == len(_cases())


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case["id"])
def test_corpus_case(case: dict[str, Any]) -> None:
    engine = therabill.Engine()
    started = time.monotonic()
    if case["via"] == "api":
        visit = dict(case["visit"])
        if "repeat_lines" in case:
            visit["lines"] = visit["lines"] * case["repeat_lines"]
        results = [engine.check(visit)]
    else:
        text = case["text"].replace("@GOOD@", GOOD)
        for token, (piece, times) in case.get("expand", {}).items():
            text = text.replace(token, piece * times)
        reader = VisitReader(io.BytesIO(text.encode("utf-8")))
        results = [item if isinstance(item, CheckResult) else engine.check(item)
                   for item in reader]
        assert len(results) == reader.records == case["results"]
        assert sum(1 for r in results if r.visit_id == "good") >= case["results"] - 1
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS_PER_VISIT * len(results), f"{elapsed:.1f} s"
    written = [dumps(result) for result in results]
    if "finding" in case:
        assert any(case["finding"] in m for r in results for m in _messages(r)), \
            [_messages(r) for r in results]
    if "charge" in case:
        assert json.loads(written[0])["lines"][0]["charge"] == case["charge"]
    if "max_bytes" in case:
        assert len(written[0]) < case["max_bytes"], len(written[0])
