"""The Engine object: one checker that owns its caches, shared by threads, streaming."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import therabill
from therabill.engine import Engine
from therabill.memo import DEFAULT_LIMIT, LIMITS
from therabill.model import RESULT_ADAPTER, CheckResult

SRC = Path(therabill.__file__).resolve().parent
CODES = ("97110", "97112", "97116", "97140", "97530", "97124", "97161", "97035", "97150")
PAYERS = ("medicare", "commercial-cpt", "commercial-mppr")
LOCALITIES = ("national", "01182-18", "10112-00", "05102-00")


def varied_visits(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Visits over three payers, four places, two years, assistants, deductibles and charges."""
    rng = random.Random(seed)
    visits = []
    for number in range(count):
        lines = []
        for code in rng.sample(CODES, rng.randint(1, 4)):
            minutes = rng.randint(5, 50)
            line: dict[str, Any] = {"code": code, "minutes": minutes}
            if rng.random() < 0.3:
                line["assistant_minutes"] = rng.randint(0, minutes)
            if rng.random() < 0.2:
                line["charge"] = f"{rng.randint(20, 90)}.{rng.randint(0, 99):02d}"
            if rng.random() < 0.15:
                line["modifiers"] = [rng.choice(("59", "KX", "XU"))]
            lines.append(line)
        visits.append({
            "visit_id": f"v{number}", "patient_id": f"p{number % 50}",
            "date_of_service": f"{rng.choice((2024, 2025))}-{rng.randint(1, 12):02d}-"
                               f"{rng.randint(1, 28):02d}",
            "payer": rng.choice(PAYERS), "locality": rng.choice(LOCALITIES),
            "deductible_remaining": f"{rng.randint(0, 257)}.{rng.randint(0, 99):02d}",
            "ytd_threshold_amount": {"pt_slp": str(rng.choice((0, 2350, 2990))), "ot": "0"},
            "lines": lines})
    return visits


def as_json(result: CheckResult) -> bytes:
    return RESULT_ADAPTER.dump_json(result)


def test_engine_checks_one_visit_like_the_convenience_function() -> None:
    visit = {"visit_id": "e1", "patient_id": "p-7", "date_of_service": "2025-03-04",
             "lines": [{"code": "97110", "minutes": 38}]}
    engine = therabill.Engine()
    result = engine.check(visit)
    assert result.patient_id == "p-7"
    assert result.lines[0].units == 3
    assert as_json(result) == as_json(therabill.check(visit))


def test_check_many_is_lazy_and_keeps_input_order() -> None:
    engine = Engine()
    pulled: list[int] = []

    def source() -> Any:
        for i in range(40):
            pulled.append(i)
            yield {"visit_id": f"v{i}", "date_of_service": "2025-03-04",
                   "lines": [{"code": "97110", "minutes": 8 + 15 * (i % 4)}]}

    results = engine.check_many(source())
    first = next(results)
    assert first.visit_id == "v0" and pulled == [0]  # nothing read ahead, nothing held
    rest = list(results)
    assert [r.visit_id for r in [first, *rest]] == [f"v{i}" for i in range(40)]
    assert [r.lines[0].units for r in [first, *rest]] == [1 + i % 4 for i in range(40)]


def test_threads_sharing_one_engine_get_the_sequential_results() -> None:
    visits = varied_visits(2_000)
    expected = [as_json(Engine().check(v)) for v in visits]
    shared = Engine()
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda v: as_json(shared.check(v)), visits, chunksize=7))
    assert got == expected


def test_results_do_not_depend_on_the_order_visits_come_in() -> None:
    visits = varied_visits(600, seed=11)
    forward = {v["visit_id"]: as_json(r) for v, r in zip(visits, Engine().check_many(visits),
                                                        strict=True)}
    shuffled = visits[:]
    random.Random(3).shuffle(shuffled)
    engine = Engine()
    for visit in shuffled:
        assert as_json(engine.check(visit)) == forward[visit["visit_id"]]


def test_every_cache_is_counted_and_stays_within_its_limit() -> None:
    engine = Engine()
    for _ in engine.check_many(varied_visits(300, seed=5)):
        pass
    stats = engine.stats()
    assert {"pricing.prices", "pricing.shares", "rules.ncci.edits", "rules.coverage.clean",
            "rules.modifiers.settled", "engine.days"} <= set(stats)
    for name, figures in stats.items():
        assert 0 < figures["entries"] <= figures["limit"], name
        assert figures["limit"] == LIMITS.get(name, DEFAULT_LIMIT)
    engine.clear_caches()
    assert all(figures["entries"] == 0 for figures in engine.stats().values())


def test_a_full_cache_is_emptied_not_grown() -> None:
    engine = Engine()
    shares = engine.caches.memo("pricing.shares")
    limit = LIMITS["pricing.shares"]
    # Varied deductibles make a new payment split per visit: the memo that grew without end
    visits = [{"visit_id": f"d{i}", "date_of_service": "2025-06-02", "locality": "01182-18",
               "deductible_remaining": f"{i // 100}.{i % 100:02d}",
               "lines": [{"code": "97110", "minutes": 30}]} for i in range(limit + 500)]
    for _ in engine.check_many(visits):
        assert len(shares) <= limit
    assert len(shares) <= limit


MUTATORS = {"append", "extend", "put", "setdefault", "update", "clear", "pop", "add",
            "insert", "remove", "popitem", "__setitem__"}
ENGINE_PARTS = ("engine.py", "intake.py", "worksheet.py", "memo.py", "decision.py", "model.py",
                "money.py", "rules", "pricing")


def _mutated_module_names(tree: ast.Module) -> set[str]:
    """Module-level names that some function changes: by item assignment or a mutating call."""
    names = {target.id for node in tree.body
             for target in (node.targets if isinstance(node, ast.Assign) else
                            [node.target] if isinstance(node, ast.AnnAssign) else [])
             if isinstance(target, ast.Name)}
    changed = set()
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.value, ast.Name) and node.value.id in names:
                changed.add(node.value.id)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id in names and \
                    node.func.attr in MUTATORS:
                changed.add(node.func.value.id)
            if isinstance(node, ast.Global):
                changed.update(node.names)
    return changed


def test_no_module_holds_a_mutable_cache() -> None:
    """Nothing the engine works out is kept in a module: no memo objects or lru_caches at
    module level in the engine's parts, and no module-level name that a function changes
    anywhere in the package, but the default engine's one slot (set once, under a lock)."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        engine_part = relative.parts[0] in ENGINE_PARTS
        for node in tree.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") in (
                    "BoundedMemo", "ObjectMemo", "LineMemo", "Caches"):
                offenders.append(f"{relative}: module-level {value.func.id}")  # type: ignore
            if engine_part and isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    name = ast.unparse(decorator)
                    if "cache" in name:
                        offenders.append(f"{relative}: @{name} on {node.name}")
        for name in sorted(_mutated_module_names(tree) - {"_DEFAULT"}):
            offenders.append(f"{relative}: module-level {name} is changed by a function")
    assert offenders == []


def test_pricing_imports_nothing_from_rules() -> None:
    for path in sorted((SRC / "pricing").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("therabill.rules"), (path.name, node.module)


def test_the_engine_loads_without_interface_libraries() -> None:
    code = ("import sys, therabill; therabill.check({'visit_id': 'x', 'date_of_service': "
            "'2025-01-02', 'lines': [{'code': '97110', 'minutes': 30}]}); "
            "print(sorted(m for m in ('rich', 'typer', 'matplotlib', 'fastapi', 'polars') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
