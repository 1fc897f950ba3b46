"""Readers: tabular rows grouped into visits, JSON records, and every record accounted for."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from therabill.batch.readers import InputError, open_source, parse_mapping
from therabill.batch.records import Reject, VisitRecord

from .helpers import write_csv

HEADER = ("visit_id", "patient_id", "date_of_service", "payer", "code", "minutes", "modifiers",
          "ytd_threshold_pt_slp", "qualifying_apm")


def read(path: Path, mapping: dict[str, str] | None = None
         ) -> tuple[list[VisitRecord], list[Reject], int, int]:
    source = open_source(path, mapping)
    records = list(source.records)
    visits = [r for r in records if isinstance(r, VisitRecord)]
    rejects = [r for r in records if isinstance(r, Reject)]
    return visits, rejects, source.counts.records, source.counts.rejected


def test_rows_grouped_by_visit_id_wherever_they_are(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", HEADER, [
        ("v1", "p1", "2025-03-04", "medicare", "97110", "38", "", "1200.50", "no"),
        ("v2", "p2", "2025-03-04", "", "97140", "20", "59, GP", "", ""),
        ("v1", "p1", "2025-03-04", "medicare", "97530", "15", "", "1200.50", ""),
    ])
    visits, rejects, records, rejected = read(path)
    assert (records, rejected, rejects) == (3, 0, [])
    first = visits[0]
    assert first.position == "c.csv lines 2, 4"
    assert first.visit == {
        "visit_id": "v1", "patient_id": "p1", "date_of_service": "2025-03-04",
        "payer": "medicare", "qualifying_apm": False,
        "ytd_threshold_amount": {"pt_slp": "1200.50"},
        "lines": [{"code": "97110", "minutes": "38"}, {"code": "97530", "minutes": "15"}]}
    assert visits[1].visit["lines"] == [{"code": "97140", "minutes": "20",
                                         "modifiers": ["59", "GP"]}]
    assert "payer" not in visits[1].visit  # empty cell: the default applies


def test_without_visit_id_rows_group_by_patient_and_date(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.tsv", ("patient_id", "date_of_service", "code", "minutes"), [
        ("p1", "2025-03-04", "97110", "20"), ("p1", "2025-03-05", "97110", "20"),
        ("p1", "2025-03-04", "97140", "10"), ("", "2025-03-04", "97140", "10"),
    ], delimiter="\t")
    visits, rejects, records, rejected = read(path)
    assert [v.visit["visit_id"] for v in visits] == ["p1/2025-03-04", "p1/2025-03-05"]
    assert [len(v.visit["lines"]) for v in visits] == [2, 1]
    assert (records, rejected) == (4, 1)
    assert rejects[0].position == "c.tsv line 5" and "no visit_id" in rejects[0].reason


def test_disagreeing_visit_rows_reject_the_visit_with_every_row_counted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", HEADER, [
        ("v1", "p1", "2025-03-04", "medicare", "97110", "38", "", "", ""),
        ("v1", "p1", "2025-03-05", "medicare", "97140", "20", "", "", ""),
        ("v1", "p1", "2025-03-04", "medicare", "97530", "20", "", "", ""),
    ])
    visits, rejects, records, rejected = read(path)
    assert visits == [] and (records, rejected) == (3, 3)
    assert rejects[0].position == "c.csv lines 2-4"
    assert "date_of_service" in rejects[0].reason and "line 3" in rejects[0].reason


def test_short_and_long_rows_are_rejects(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("visit_id,date_of_service,code\nv1,2025-03-04,97110\nv2,2025-03-04\n"
                    "\n" "v3,2025-03-04,97110,extra\n", encoding="utf-8")
    visits, rejects, records, rejected = read(path)
    assert len(visits) == 1 and (records, rejected) == (3, 2)
    assert [r.position for r in rejects] == ["c.csv line 3", "c.csv line 5"]
    assert "2 fields where the header has 3" in rejects[0].reason


def test_unknown_column_is_an_error_unless_mapped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", ("Visit", "DOS", "code", "note"),
                     [("v1", "2025-03-04", "97110", "free text")])
    with pytest.raises(InputError, match=r"unknown column\(s\) 'Visit', 'DOS', 'note'"):
        read(path)
    visits, *_ = read(path, parse_mapping(["Visit=visit_id", "DOS=date_of_service", "note=-"]))
    assert visits[0].visit == {"visit_id": "v1", "date_of_service": "2025-03-04",
                               "lines": [{"code": "97110"}]}


@pytest.mark.parametrize("bad", ["Visit", "Visit=", "Visit=visitid"])
def test_bad_mapping_is_a_one_line_error(bad: str) -> None:
    with pytest.raises(InputError, match="--map"):
        parse_mapping([bad])


def test_parquet_reads_like_the_same_csv(tmp_path: Path) -> None:
    rows = [("v1", "p1", "2025-03-04", "medicare", "97110", "38", "GP", "", "true"),
            ("v1", "p1", "2025-03-04", "medicare", "97140", "", "", "", "true")]
    csv_path = write_csv(tmp_path / "c.csv", HEADER, rows)
    frame = pl.DataFrame([list(col) for col in zip(*rows, strict=True)], schema=list(HEADER),
                         orient="col")
    frame = frame.with_columns(
        pl.col("date_of_service").str.to_date(),
        pl.col("minutes").replace("", None).cast(pl.Int64),
        pl.col("qualifying_apm") == "true",
        *(pl.col(c).replace("", None) for c in ("modifiers", "ytd_threshold_pt_slp")))
    frame.write_parquet(tmp_path / "c.parquet")
    from_csv, *_ = read(csv_path)
    from_parquet, *_ = read(tmp_path / "c.parquet")
    assert [v.visit for v in from_parquet] == [v.visit for v in from_csv]
    assert from_parquet[0].position == "c.parquet rows 1-2"


def test_json_lines_keep_going_past_bad_records(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text('{"visit_id": "a", "date_of_service": "2025-03-04", "lines": []}\n'
                    '{"visit_id": \n[1, 2]\n\n{"visit_id": "b"}\n', encoding="utf-8")
    visits, rejects, records, rejected = read(path)
    assert [v.visit["visit_id"] for v in visits] == ["a", "b"]
    assert [r.position for r in rejects] == ["v.jsonl line 2", "v.jsonl line 3"]
    assert (records, rejected) == (4, 2)


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text('[{"visit_id": "a"}, 3]', encoding="utf-8")
    visits, rejects, records, rejected = read(path)
    assert len(visits) == 1 and rejects[0].position == "v.json item 1"
    assert (records, rejected) == (2, 1)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("a.xlsx", "x", "cannot tell the format"),
    ("a.csv", "", "empty"),
    ("a.csv", "visit_id,minutes\n", "no 'code' column"),
    ("a.csv", "code,minutes\n", "needs a 'visit_id' column"),
    ("a.json", "[{", "not valid JSON"),
])
def test_unreadable_files_are_one_line_errors(tmp_path: Path, name: str, text: str,
                                              message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as caught:
        read(path)
    assert "\n" not in str(caught.value)


def test_pretty_printed_object_and_a_bad_first_line(tmp_path: Path) -> None:
    pretty = tmp_path / "one.json"
    pretty.write_text('{\n  "visit_id": "a",\n  "lines": []\n}\n', encoding="utf-8")
    visits, rejects, records, rejected = read(pretty)
    assert [v.position for v in visits] == ["one.json"] and (records, rejected) == (1, 0)
    lines = tmp_path / "bad-first.jsonl"
    lines.write_text('\n{"visit_id": \n{"visit_id": "b"}\n', encoding="utf-8")
    visits, rejects, records, rejected = read(lines)
    assert [r.position for r in rejects] == ["bad-first.jsonl line 2"]
    assert [v.position for v in visits] == ["bad-first.jsonl line 3"]
    assert (records, rejected) == (2, 1)
