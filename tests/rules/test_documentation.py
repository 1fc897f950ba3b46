"""The note's documented time totals against the lines billed (Pub 100-02 ch.15 §220.3)."""

from __future__ import annotations

from typing import Any

import therabill


def check(lines: list[dict[str, Any]], **documented: int) -> therabill.model.CheckResult:
    return therabill.check({"visit_id": "doc", "date_of_service": "2025-05-12",
                            "lines": lines, **documented})


def documentation(result: therabill.model.CheckResult) -> list[tuple[str, str]]:
    return [(f.severity, f.message) for f in result.findings if f.rule == "documentation.time"]


LINES = [{"code": "97110", "minutes": 23}, {"code": "97140", "minutes": 15},
         {"code": "97161"}]


def test_documentation_that_matches_the_lines_raises_nothing() -> None:
    result = check(LINES, documented_timed_minutes=38, documented_total_minutes=70,
                   documented_untimed_minutes=30)
    assert documentation(result) == []


def test_timed_minutes_billed_beyond_the_note_are_an_error() -> None:
    found = documentation(check(LINES, documented_timed_minutes=30,
                                documented_total_minutes=60))
    assert any(sev == "error" and "38 timed minutes" in msg and "8 billed minutes" in msg
               for sev, msg in found), found
    # 38 minutes make 3 units, but 30 documented minutes support only 2
    assert any(sev == "error" and "3 timed unit(s) billed" in msg and "at most 2" in msg
               for sev, msg in found), found


def test_fewer_minutes_billed_than_documented_is_a_warning() -> None:
    found = documentation(check(LINES, documented_timed_minutes=45,
                                documented_total_minutes=60))
    assert [sev for sev, _ in found] == ["warning"]


def test_total_time_below_the_timed_minutes_is_an_error() -> None:
    found = documentation(check(LINES, documented_timed_minutes=38, documented_total_minutes=30))
    assert [(sev, "less than" in msg) for sev, msg in found] == [("error", True)]


def test_a_missing_total_treatment_time_is_said() -> None:
    found = documentation(check(LINES, documented_timed_minutes=38))
    assert found and found[0][0] == "warning" and "total treatment time" in found[0][1]


def test_every_documentation_finding_cites_cms() -> None:
    result = check(LINES, documented_timed_minutes=10, documented_total_minutes=5)
    sources = {f.source for f in result.findings if f.rule == "documentation.time"}
    assert sources and all("§220.3" in s and "§20.2" in s for s in sources)
