"""A batch run end to end: every record in a result or the rejects file, the summary adds up,
writing is atomic, and worker processes give the single-process output byte for byte."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from therabill.batch.pipeline import Summary, plan_outputs, run
from therabill.batch.readers import InputError

from .helpers import write_csv

ROOT = Path(__file__).resolve().parents[2]
CLINIC = ROOT / "examples" / "clinic-month.csv"
HEADER = ("visit_id", "patient_id", "date_of_service", "payer", "code", "minutes")


def planted(tmp_path: Path) -> tuple[list[Path], int, int]:
    """A CSV and a JSON Lines file with bad records of every kind a reader meets. Returns the
    paths, the number of records and the number the readers must reject."""
    csv_path = tmp_path / "planted.csv"
    lines = [",".join(HEADER),
             "g1,p1,2025-03-04,medicare,97110,38",
             "g1,p1,2025-03-04,medicare,97140,20",
             "g2,p2,2025-03-05,medicare,97110,abc",          # bad minutes: an input finding
             "g3,p3,2025-02-30,medicare,97110,20",          # bad date: an input finding
             "g4,p4,2025-03-06,medicare,99999,20",          # unknown code: an input finding
             "g5,p5,2025-03-06,nobody,97110,20",            # unknown payer: an input finding
             "g6,p1,2025-03-04,medicare,97530,15",          # p1 again that day: merged
             "b1,p6,2025-03-06,medicare,97110",             # short row: rejected
             "b2,p6,2025-03-06,medicare,97110,20,extra",    # long row: rejected
             ",,2025-03-06,medicare,97110,20",              # nothing to group by: rejected
             "b3,p7,2025-03-06,medicare,97110,20",          # rows disagree: both rejected
             "b3,p7,2025-03-07,medicare,97140,20",
             '"b4,p8,2025-03-06,medicare,97110,20',         # unclosed quote: swallows the rest
             ]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    jsonl = tmp_path / "planted.jsonl"
    jsonl.write_text(
        '{"visit_id": "j1", "patient_id": "p9", "date_of_service": "2025-03-04", '
        '"lines": [{"code": "97110", "minutes": 30}]}\n'
        '{"visit_id": "j2", "date_of_service": "2025-03-04", "lines": [{"code": "97110"}]}\n'
        '{"visit_id": "j3", "lines": "none"}\n'               # malformed visit: a finding
        '{"visit_id": \n'                                     # malformed JSON: rejected
        '"just text"\n',                                      # not an object: rejected
        encoding="utf-8")
    # 13 CSV records (the unclosed quote makes its row the last one) and 5 JSON records
    return [csv_path, jsonl], 13 + 5, 6 + 2


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_in_equals_out_plus_rejects(tmp_path: Path) -> None:
    inputs, records, rejected = planted(tmp_path)
    outputs = plan_outputs(tmp_path / "out", "csv")
    summary = run(inputs, outputs, workers=1)
    assert (summary.records, summary.rejected_records) == (records, rejected)
    assert summary.adds_up
    rejects = _csv(tmp_path / "out" / "rejects.csv")
    assert len(rejects) == summary.rejects == 7  # the disagreeing visit is one entry, two rows
    assert {r["position"] for r in rejects} == {
        "planted.csv line 9", "planted.csv line 10", "planted.csv line 11",
        "planted.csv lines 12-13", "planted.csv line 14", "planted.jsonl line 4",
        "planted.jsonl line 5"}
    results = [orjson.loads(line) for line in
               (tmp_path / "out" / "results.jsonl").read_bytes().splitlines()]
    ids = [r["visit_id"] for r in results]
    assert sorted(ids) == ["g1", "g2", "g3", "g4", "g5", "j1", "j2", "j3"]
    assert summary.visits_read == 9 and summary.merged == 1 and summary.visits == len(results)
    merged = next(r for r in results if r["visit_id"] == "g1")
    assert any(f["rule"] == "input" and "g6" in f["message"] and "one day" in f["message"]
               for f in merged["findings"])
    assert {line["code"] for line in merged["lines"]} == {"97110", "97140", "97530"}
    for bad in ("g2", "g3", "g4", "g5", "j3"):
        result = next(r for r in results if r["visit_id"] == bad)
        assert any(f["rule"] == "input" and f["severity"] == "error"
                   for f in result["findings"]), bad
    lines = _csv(tmp_path / "out" / "lines.csv")
    findings = _csv(tmp_path / "out" / "findings.csv")
    assert len(lines) == summary.lines == sum(len(r["lines"]) for r in results)
    assert len(findings) == summary.findings == sum(len(r["findings"]) for r in results)
    assert sum(summary.status.values()) == summary.lines
    assert summary.status == {s: sum(1 for line in lines if line["status"] == s)
                              for s in {line["status"] for line in lines}}


def test_summary_totals_are_the_lines_totals(tmp_path: Path) -> None:
    summary = run([CLINIC], plan_outputs(tmp_path / "out"), workers=1)
    lines = pl.read_parquet(tmp_path / "out" / "lines.parquet")
    assert summary.records == len(CLINIC.read_text().splitlines()) - 1
    assert summary.allowed == lines["allowed"].sum()
    assert summary.payer_paid == lines["payer_paid"].sum()
    assert summary.patient_owes == lines["patient_owes"].sum()
    assert summary.reductions == lines["reductions"].sum() > 0
    assert summary.adds_up  # allowed = payer + patient + reductions, to the cent
    assert summary.visits == lines["visit_id"].n_unique() == 400
    text = "\n".join(summary.text())
    assert "400 visits = 400 checked + 0 merged" in text


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_workers_write_the_same_bytes(tmp_path: Path, fmt: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from therabill.batch import writers

    monkeypatch.setattr(writers, "_ROW_GROUP", 150)  # several row groups, cut across slices
    outs = {}
    for workers in (1, 2):
        outputs = plan_outputs(tmp_path / f"w{workers}", fmt)
        summary = run([CLINIC], outputs, workers=workers, slice_visits=40)
        outs[workers] = {p.name: p.read_bytes() for p in sorted((tmp_path / f"w{workers}")
                                                                .iterdir())}
        assert summary.workers == workers
    assert set(outs[1]) == {f"lines.{fmt}", f"findings.{fmt}", "results.jsonl", "rejects.csv"}
    for name, data in outs[1].items():
        assert outs[2][name] == data, name
    if fmt == "parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(tmp_path / "w2" / "lines.parquet").metadata
        assert meta.num_row_groups > 3
        assert {meta.row_group(i).num_rows for i in range(meta.num_row_groups - 1)} == {150}


class Boom(Exception):
    pass


def test_an_interrupted_run_leaves_no_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    calls = []

    def sink(_: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise Boom

    with pytest.raises(Boom):
        run([CLINIC], plan_outputs(out), workers=1, sink=sink, slice_visits=50)
    assert list(out.iterdir()) == []


def test_a_later_unreadable_input_leaves_no_output(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ("visit_id", "colour"), [("v", "red")])
    with pytest.raises(InputError, match="colour"):
        run([CLINIC, bad], plan_outputs(tmp_path / "out"), workers=1)
    assert list((tmp_path / "out").iterdir()) == []


def test_file_outputs_and_compact_detail(tmp_path: Path) -> None:
    outputs = plan_outputs(tmp_path / "claims.parquet", detail="compact")
    assert outputs.results is None
    run([CLINIC], outputs, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "claims.findings.parquet", "claims.parquet", "claims.rejects.csv"]
    only = plan_outputs(tmp_path / "r.jsonl")
    assert (only.lines, only.results) == (None, tmp_path / "r.jsonl")


@pytest.mark.parametrize(("name", "to", "message"), [
    ("x.parquet", "csv", "the name says parquet"),
    ("x.txt", None, "name a directory"),
    ("afile/x.csv", None, "is not a folder"),
    ("d", "xlsx", "--to must be"),
])
def test_bad_output_names(tmp_path: Path, name: str, to: str | None, message: str) -> None:
    (tmp_path / "afile").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match=message):
        plan_outputs(tmp_path / name, to)


def test_summary_json_adds_up() -> None:
    summary = Summary(records=10, rejected_records=2, rejects=1, visits_read=5, merged=1,
                      visits=4, lines=3, status={"payable": 2, "denied": 1})
    assert summary.as_dict()["adds_up"] is True
    summary.visits = 5
    assert summary.as_dict()["adds_up"] is False
    summary.visits, summary.allowed = 4, Decimal("0.01")
    assert summary.as_dict()["adds_up"] is False


def test_a_visit_the_engine_fails_on_goes_to_the_rejects(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from therabill.batch import pipeline
    from therabill.engine import Engine

    class Faulty:  # wraps an engine (the compiled build's Engine cannot be subclassed)
        def __init__(self) -> None:
            self.engine = Engine()
            self.policies, self.reference = self.engine.policies, self.engine.reference

        def check(self, visit: Any) -> Any:
            if visit["visit_id"] == "V0000007":
                raise ZeroDivisionError("planted")
            return self.engine.check(visit)

    monkeypatch.setattr(pipeline, "_engine", Faulty)
    summary = run([CLINIC], plan_outputs(tmp_path / "out"), workers=1)
    assert (summary.failed, summary.rejects, summary.visits) == (1, 1, 399)
    assert summary.adds_up
    rejects = _csv(tmp_path / "out" / "rejects.csv")
    assert rejects == [{"position": "clinic-month.csv lines 18-19",
                        "reason": "the engine failed on this visit (ZeroDivisionError: planted)"}]


def test_same_day_records_merge_only_for_one_payer_and_place(tmp_path: Path) -> None:
    from therabill.batch.pipeline import build_groups
    from therabill.batch.records import VisitRecord

    def rec(vid: str, **fields: Any) -> VisitRecord:
        visit = {"visit_id": vid, "patient_id": "p", "date_of_service": "2025-03-04",
                 "lines": [{"code": "97110", "minutes": 20}], **fields}
        return VisitRecord(visit, vid)

    groups, merged = build_groups([
        rec("a"), rec("b", payer="commercial-cpt"), rec("c", locality="10112-00"),
        rec("d", discipline="OT"), rec("e", date_of_service="2025-03-05"),
        rec("f", payer="commercial-cpt"), rec("g", date_of_service="bad")])
    assert merged == 2
    visits = [item.visit for group in groups for item in group]
    assert [v["visit_id"] for v in visits] == ["a", "b", "c", "e", "g"]  # g: no year, alone
    # the OT visit's line keeps OT inside the PT visit it joined
    assert visits[0]["lines"] == [{"code": "97110", "minutes": 20, "discipline": "PT"},
                                  {"code": "97110", "minutes": 20, "discipline": "OT"}]
    assert visits[1]["lines"] == [{"code": "97110", "minutes": 20}] * 2
    merged_b = next(item for group in groups for item in group if item.visit["visit_id"] == "b")
    assert merged_b.position == "b; f" and "visit f (f)" in merged_b.notes[0]


def test_parquet_and_json_lines_inputs_give_the_csv_results(tmp_path: Path) -> None:
    frame = pl.read_csv(CLINIC, try_parse_dates=True)  # typed: dates, integers, decimals
    frame = frame.with_columns(pl.col("charge").cast(pl.Decimal(10, 2)))
    frame.write_parquet(tmp_path / "clinic.parquet")
    run([CLINIC], plan_outputs(tmp_path / "from-csv"), workers=1)
    run([tmp_path / "clinic.parquet"], plan_outputs(tmp_path / "from-parquet"), workers=1)
    results = (tmp_path / "from-csv" / "results.jsonl").read_bytes()
    assert (tmp_path / "from-parquet" / "results.jsonl").read_bytes() == results
    for name in ("lines.parquet", "findings.parquet"):
        assert (tmp_path / "from-parquet" / name).read_bytes() == \
            (tmp_path / "from-csv" / name).read_bytes()
    # the results fed back as JSON Lines visits (their ids, dates, payers and lines) check alike
    visits = []
    source = pl.read_csv(CLINIC, infer_schema=False)
    for (visit_id,), rows in source.group_by(["visit_id"], maintain_order=True):
        first = rows.row(0, named=True)
        visits.append({
            "visit_id": visit_id, "patient_id": first["patient_id"],
            "date_of_service": first["date_of_service"], "payer": first["payer"],
            "locality": first["locality"], "discipline": first["discipline"],
            **({"ytd_threshold_amount": {"pt_slp": first["ytd_threshold_pt_slp"]}}
               if first["ytd_threshold_pt_slp"] else {}),
            "lines": [{key: value for key, value in (
                ("code", row["code"]),
                ("minutes", int(row["minutes"]) if row["minutes"] else None),
                ("assistant_minutes", int(row["assistant_minutes"])
                 if row["assistant_minutes"] else None),
                ("modifiers", row["modifiers"].split() if row["modifiers"] else None),
                ("charge", row["charge"])) if value is not None}
                for row in rows.iter_rows(named=True)]})
    (tmp_path / "clinic.jsonl").write_bytes(b"\n".join(orjson.dumps(v) for v in visits))
    run([tmp_path / "clinic.jsonl"], plan_outputs(tmp_path / "from-json"), workers=1)
    assert (tmp_path / "from-json" / "results.jsonl").read_bytes() == results


def test_automatic_workers_leave_small_files_in_process(tmp_path: Path) -> None:
    from therabill.batch.pipeline import AUTO_WORKERS_FROM, default_workers

    summary = run([CLINIC], plan_outputs(tmp_path / "out"), workers=0)
    assert summary.visits < AUTO_WORKERS_FROM and summary.workers == 1
    assert default_workers() >= 1


def test_a_run_into_a_used_folder_leaves_only_its_own_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([CLINIC], plan_outputs(out), workers=1)
    run([CLINIC], plan_outputs(out, "csv", "compact"), workers=1)
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "lines.csv",
                                                      "rejects.csv"]


def test_an_input_is_never_an_output(tmp_path: Path) -> None:
    copy = tmp_path / "claims.csv"
    copy.write_bytes(CLINIC.read_bytes())
    with pytest.raises(InputError, match="also an output"):
        run([copy], plan_outputs(copy), workers=1)
    assert copy.read_bytes() == CLINIC.read_bytes()
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(InputError, match="not a file"):
        run([folder], plan_outputs(tmp_path / "out"), workers=1)
