"""The patient's year across a file: threshold amounts and the deductible carried from visit to
visit in date order, whatever the order of the file."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from therabill.batch.accrual import PatientYear, discipline_group
from therabill.batch.pipeline import plan_outputs, run
from therabill.engine import Engine

from .helpers import write_csv

HEADER = ("visit_id", "patient_id", "date_of_service", "payer", "discipline", "code",
          "minutes")
KX_2025 = Decimal(2410)  # src/therabill/reference/parameters/kx_threshold.yaml
DEDUCTIBLE_2025 = Decimal(257)  # part_b_deductible.yaml


def year_of_visits(shuffle: bool) -> list[tuple[str, ...]]:
    """One Medicare PT patient, 45 visits in 2025 of 97110 + 97530 (about $120 a visit), with an
    OT plan of care beside it, a commercial visit, and a 2026 visit."""
    rows = []
    for n in range(45):
        day = f"2025-{1 + n // 5:02d}-{1 + 5 * (n % 5):02d}"
        rows.append((f"pt{n:02d}", "p1", day, "medicare", "PT", "97110", "38"))
        rows.append((f"pt{n:02d}", "p1", day, "medicare", "PT", "97530", "23"))
    for n in range(3):
        rows.append((f"ot{n}", "p1", f"2025-02-{2 + n:02d}", "medicare", "OT", "97535", "30"))
    rows.append(("com", "p1", "2025-02-10", "commercial-cpt", "PT", "97110", "30"))
    rows.append(("next", "p1", "2026-01-05", "medicare", "PT", "97110", "30"))
    if shuffle:  # visits in a random order (each visit's rows kept in their order)
        visits: dict[str, list[tuple[str, ...]]] = {}
        for row in rows:
            visits.setdefault(row[0], []).append(row)
        groups = list(visits.values())
        random.Random(4).shuffle(groups)
        rows = [row for group in groups for row in group]
    return rows


def results(tmp_path: Path, rows: list[tuple[str, ...]], name: str) -> dict[str, Any]:
    path = write_csv(tmp_path / f"{name}.csv", HEADER, rows)
    run([path], plan_outputs(tmp_path / name), workers=1)
    text = (tmp_path / name / "results.jsonl").read_bytes()
    return {r["visit_id"]: r for r in map(orjson.loads, text.splitlines())}


def test_threshold_and_deductible_accrue_in_date_order(tmp_path: Path) -> None:
    checked = results(tmp_path, year_of_visits(shuffle=True), "shuffled")
    pt = [checked[f"pt{n:02d}"] for n in range(45)]
    engine = Engine()
    before = Decimal(0)
    deductible_left = DEDUCTIBLE_2025
    crossed = None
    for n, result in enumerate(pt):
        visit = {"visit_id": "again", "patient_id": "p1",
                 "date_of_service": result["date_of_service"], "lines": [
                     {"code": "97110", "minutes": 38}, {"code": "97530", "minutes": 23}],
                 "ytd_threshold_amount": {"pt_slp": str(before)},
                 "deductible_remaining": str(deductible_left)}
        # the same visit checked alone with the amounts worked out here gives the same lines
        again = engine.check(visit)
        assert [line["allowed"] for line in result["lines"]] == \
            [str(line.allowed) for line in again.lines], n
        assert [line["patient_owes"] for line in result["lines"]] == \
            [str(line.patient_owes) for line in again.lines], n
        kx = [f for f in result["findings"] if f["rule"] == "threshold.kx"]
        if kx and crossed is None:
            crossed = n
        allowed = sum((Decimal(line["allowed"]) for line in result["lines"]
                       if line["status"] == "payable"), Decimal(0))
        if crossed is None:
            assert before + allowed <= KX_2025 or kx, n
        taken = min(deductible_left, allowed)
        deductible_left -= taken
        before += allowed
    assert crossed is not None and 15 < crossed < 30  # about $120 a visit against $2,410
    assert deductible_left == 0


def test_file_order_does_not_change_the_results(tmp_path: Path) -> None:
    ordered = results(tmp_path, year_of_visits(shuffle=False), "ordered")
    shuffled = results(tmp_path, year_of_visits(shuffle=True), "shuffled")
    assert ordered == shuffled


def test_ot_commercial_and_next_year_stand_apart(tmp_path: Path) -> None:
    checked = results(tmp_path, year_of_visits(shuffle=False), "y")
    # the first OT visit comes after January's PT visits: the deductible is already met, and
    # OT's threshold amount starts from nothing
    first_ot = checked["ot0"]
    assert first_ot["lines"][0]["patient_owes"] == str(
        (Decimal(first_ot["lines"][0]["allowed"]) * Decimal("0.2")).quantize(Decimal("0.01")))
    # the commercial visit keeps the input's (default) values: no Part B deductible applied
    com = checked["com"]
    assert not any(s["rule"] == "pricing.deductible" for line in com["lines"]
                   for s in line["steps"])
    # 2026 starts a new year: the whole deductible again
    nxt = checked["next"]
    assert any(s["rule"] == "pricing.deductible" for line in nxt["lines"] for s in line["steps"])
    assert not any(f["rule"] == "threshold.kx" for f in nxt["findings"])


def test_a_stated_amount_reseeds_the_year() -> None:
    year = PatientYear(2025, DEDUCTIBLE_2025, frozenset({"medicare"}))
    first = year.prepare({"payer": "medicare", "ytd_threshold_amount": {"pt_slp": "2000"},
                          "deductible_remaining": "0"})
    assert first["ytd_threshold_amount"] == {"pt_slp": "2000", "ot": "0.00"}
    assert first["deductible_remaining"] == "0"
    later = year.prepare({"payer": "medicare"})
    assert later == {"payer": "medicare", "deductible_remaining": "0",
                     "ytd_threshold_amount": {"pt_slp": "2000", "ot": "0.00"}}
    other = {"payer": "commercial-cpt"}
    assert year.prepare(other) is other


def test_discipline_groups() -> None:
    assert [discipline_group(d) for d in ("PT", "SLP", "OT", None)] == \
        ["pt_slp", "pt_slp", "ot", "pt_slp"]
