"""The Engine object: one checker shared by every caller."""

from __future__ import annotations

import therabill
from therabill.engine import Engine


def test_engine_checks_one_visit_like_the_convenience_function() -> None:
    visit = {"visit_id": "e1", "patient_id": "p-7", "date_of_service": "2025-03-04",
             "lines": [{"code": "97110", "minutes": 38}]}
    engine = therabill.Engine()
    result = engine.check(visit)
    assert result.patient_id == "p-7"
    assert result.lines[0].units == 3
    assert result == therabill.check(visit)


def test_check_many_yields_in_input_order() -> None:
    engine = Engine()
    visits = ({"visit_id": f"v{i}", "date_of_service": "2025-03-04",
               "lines": [{"code": "97110", "minutes": 8 + 15 * (i % 4)}]} for i in range(40))
    results = list(engine.check_many(visits))
    assert [r.visit_id for r in results] == [f"v{i}" for i in range(40)]
    assert [r.lines[0].units for r in results] == [1 + i % 4 for i in range(40)]
