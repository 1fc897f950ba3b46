"""The columnar path of a batch run gives the engine's tables, byte for byte.

Every file is checked twice, with the columnar path and with ``--engine-only``, and the lines,
findings and rejects files and the summary must be the same. Hypothesis writes small files mixing
visits the path takes with every kind it must leave to the engine (other payers, modifiers,
assistants, unknown codes and places, ties, duplicate codes, two visits a day, KX crossings,
unreadable cells, rows of one visit that disagree); generated claims files check it at scale.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from therabill.batch.pipeline import SLICE_VISITS, Summary, plan_outputs, run

from .helpers import write_csv

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import claims_gen  # noqa: E402

HEADER = ("visit_id", "patient_id", "date_of_service", "payer", "locality", "discipline",
          "ytd_threshold_pt_slp", "code", "minutes", "assistant_minutes", "modifiers", "charge")
CELLS: dict[str, list[str]] = {
    "visit_id": ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", ""],
    "patient_id": ["P1", "P2", "P3", "P1", ""],
    "date_of_service": ["2024-01-05", "2024-06-30", "2025-03-03", "2025-03-10", "2025-12-31",
                        "2017-05-01", "2027-02-01", "2025-02-30"],
    "payer": ["", "medicare", "medicare", "commercial-cpt", "commercial-mppr"],
    "locality": ["", "national", "01182-18", "05441-99", "99999-99"],
    "discipline": ["", "PT", "OT", "SLP"],
    "ytd_threshold_pt_slp": ["", "", "", "1800.00", "2405.00", "abc"],
    "code": ["97110", "97112", "97140", "97530", "97161", "97165", "92507", "97150", "G0283",
             "97012", "97124", "97129", "99999", " 97116"],
    "minutes": ["", "0", "7", "8", "9", "12", "15", "22", "23", "38", "60", "abc"],
    "assistant_minutes": ["", "", "", "0", "5", "9", "30"],
    "modifiers": ["", "", "", "59", "XU", "GP"],
    "charge": ["", "", "10.00", "52.00", "52.5", "200.00"],
}

row = st.fixed_dictionaries({name: st.sampled_from(values) for name, values in CELLS.items()})


def _run_both(tmp_path: Path, source: Path, fmt: str = "parquet", workers: int = 1,
              slice_visits: int = SLICE_VISITS) -> tuple[Summary, Summary]:
    summaries = []
    for name, columnar in (("columnar", True), ("engine", False)):
        outputs = plan_outputs(tmp_path / name, fmt, "compact")
        summaries.append(run([source], outputs, workers=workers, columnar=columnar,
                             slice_visits=slice_visits))
        for path in (outputs.lines, outputs.findings, outputs.rejects):
            assert path is not None and path.exists()
    for table in (f"lines.{fmt}", f"findings.{fmt}", "rejects.csv"):
        assert (tmp_path / "columnar" / table).read_bytes() == \
            (tmp_path / "engine" / table).read_bytes(), table
    return summaries[0], summaries[1]


def _comparable(summary: Summary) -> dict[str, Any]:
    shown = summary.as_dict()
    for name in ("seconds", "columnar", "engine", "outputs", "workers"):
        shown.pop(name)
    return shown


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=24))
def test_any_file_gives_the_engine_tables(tmp_path_factory: pytest.TempPathFactory,
                                          rows: list[dict[str, str]]) -> None:
    folder = tmp_path_factory.mktemp("mixed")
    source = write_csv(folder / "visits.csv", HEADER, [[r[name] for name in HEADER]
                                                      for r in rows])
    columnar, engine = _run_both(folder, source)
    assert _comparable(columnar) == _comparable(engine)
    assert columnar.adds_up
    assert columnar.columnar + (columnar.visits - columnar.columnar) == engine.visits


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_generated_claims_give_the_engine_tables(tmp_path: Path, fmt: str) -> None:
    source = tmp_path / "plain.csv"
    claims_gen.write(source, 1_500, seed=5, plain=True)
    columnar, engine = _run_both(tmp_path, source, fmt)
    assert _comparable(columnar) == _comparable(engine)
    # the path takes a good share of the common visits (a path taking none would pass above)
    assert columnar.columnar > 300
    assert engine.columnar == 0


def test_patients_in_parts_give_the_same_tables(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # a big file is worked on a few patients at a time, the parts written in rank order
    from therabill.batch.columnar import check

    monkeypatch.setattr(check, "CHUNK_ROWS", 500)
    source = tmp_path / "plain.csv"
    claims_gen.write(source, 2_000, seed=9, plain=True)
    columnar, engine = _run_both(tmp_path, source)
    assert _comparable(columnar) == _comparable(engine) and columnar.columnar > 500


def _with_engine_visits(source: Path, visits: int, seed: int) -> Path:
    """A generated claims file in which every ninth row carries a modifier the path leaves
    to the engine (GA), so that both paths take part of each patient's year."""
    claims_gen.write(source, visits, seed=seed)
    head, *rows = source.read_text(encoding="utf-8").splitlines()
    at = head.split(",").index("modifiers")
    for number in range(0, len(rows), 9):
        cells = rows[number].split(",")
        cells[at] = "GA"
        rows[number] = ",".join(cells)
    source.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return source


@pytest.mark.parametrize("workers", [1, 2])  # two: parts worked two at a time
def test_small_parts_runs_and_row_groups_give_the_same_tables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    # memory is bounded by working in pieces: the file read a piece at a time, its visits in
    # parts of whole patient-years (the engine's among them), written a part after the other
    from therabill.batch.columnar import check, read

    monkeypatch.setattr(read, "_PIECE_BYTES", 20_000)
    monkeypatch.setattr(check, "CHUNK_ROWS", 700)
    source = _with_engine_visits(tmp_path / "mixed.csv", 3_000, seed=11)
    columnar, engine = _run_both(tmp_path, source, workers=workers)
    assert _comparable(columnar) == _comparable(engine)
    assert 0 < columnar.columnar < columnar.visits


def test_a_patient_past_the_kx_threshold_stays_on_the_path(tmp_path: Path) -> None:
    # 2,350.00 already spent this year: the third visit's lines pass the 2025 KX amount
    rows = [["V1", "P1", "2025-03-03", "medicare", "01182-18", "PT", "2350.00", "97110", "23",
             "", "", ""]]
    for number, day in enumerate(("2025-03-05", "2025-03-07", "2025-03-10"), start=2):
        rows += [[f"V{number}", "P1", day, "", "01182-18", "PT", "", "97110", "38", "", "", ""],
                 [f"V{number}", "P1", day, "", "01182-18", "PT", "", "97530", "24", "", "", ""]]
    source = write_csv(tmp_path / "kx.csv", HEADER, rows)
    columnar, engine = _run_both(tmp_path, source)
    assert _comparable(columnar) == _comparable(engine)
    assert columnar.columnar == 4 and columnar.status.get("denied", 0) >= 2
    import polars as pl

    findings = pl.read_parquet(tmp_path / "columnar" / "findings.parquet")
    assert "threshold.kx" in findings.get_column("rule").to_list()


def test_a_parquet_file_with_typed_columns_gives_the_engine_tables(tmp_path: Path) -> None:
    # whole numbers and dates as an export types them, an empty row, cells with blanks
    import polars as pl

    source = tmp_path / "mixed.csv"
    claims_gen.write(source, 1_500, seed=11)
    frame = pl.read_csv(source, infer_schema=False).with_columns(
        pl.col("minutes").cast(pl.Int64), pl.col("date_of_service").str.to_date())
    odd = frame.head(2).with_columns(pl.col("visit_id").str.replace(r"$", " "),
                                     pl.col("payer").str.replace("^", " "))
    blank = frame.head(1).select(pl.all().cast(pl.String)).clear(1)
    frame = pl.concat([frame.select(pl.all().cast(pl.String)), odd.select(
        pl.all().cast(pl.String)), blank]).with_columns(
        pl.col("minutes").cast(pl.Int64), pl.col("date_of_service").str.to_date())
    parquet = tmp_path / "mixed.parquet"
    frame.write_parquet(parquet)
    columnar, engine = _run_both(tmp_path, parquet)
    assert _comparable(columnar) == _comparable(engine) and columnar.columnar > 300


def test_mixed_claims_on_two_workers(tmp_path: Path) -> None:
    # slices of 40 visits: a part's engine visits go to the worker processes, several slices
    # in flight at once
    source = _with_engine_visits(tmp_path / "mixed.csv", 6_000, seed=8)
    columnar, engine = _run_both(tmp_path, source, workers=2, slice_visits=40)
    assert _comparable(columnar) == _comparable(engine)
    assert 0 < columnar.columnar < columnar.visits and columnar.workers == 2


def test_the_clinic_example_says_which_path_its_visits_took(tmp_path: Path) -> None:
    columnar, _ = _run_both(tmp_path, ROOT / "examples" / "clinic-month.csv")
    assert 0 < columnar.columnar <= columnar.visits
    said = (f"{columnar.columnar:,} by the columnar path, "
            f"{columnar.visits - columnar.columnar:,} by the engine")
    assert said in columnar.text()[-1]
    assert said in (ROOT / "README.md").read_text(encoding="utf-8")  # the README's figures


# Found by the property test: a patient-year whose first visit the path covers and whose
# later visits (first among the engine's) come after another patient-year's.
INTERLEAVED = [line.split(",") for line in """\
V3,P2,2025-03-10,medicare,99999-99,SLP,2405.00,G0283,22,,,10.00
,P2,2025-02-30,medicare,99999-99,,2405.00,97165,12,,,10.00
V6,P2,2027-02-01,,05441-99,OT,,97129,12,0,59,
V1,P2,2025-12-31,medicare,05441-99,PT,,97012,0,,59,52.00
V1,P2,2025-03-03,medicare,national,OT,2405.00,97140,0,5,,200.00
V8,P1,2024-01-05,commercial-cpt,01182-18,PT,,97150,,,,52.5
V6,P1,2025-03-03,medicare,01182-18,PT,,97129,7,,,10.00
,P1,2025-03-03,medicare,,SLP,,97124,8,,,52.00
V6,P2,2025-03-10,medicare,,SLP,1800.00,97140,8,,,10.00
V6,P3,2025-03-03,commercial-cpt,national,PT,2405.00,99999,60,0,,52.00
,P3,2024-01-05,commercial-cpt,01182-18,,,97012,8,,,52.00
,P1,2025-02-30,medicare,01182-18,SLP,abc,97112,60,,59,52.00
V5,P1,2025-03-10,commercial-cpt,01182-18,,2405.00,97129,9,5,,200.00
""".splitlines()]


@pytest.mark.parametrize("pieces", [False, True])
def test_engine_patient_years_keep_the_file_order(tmp_path: Path, pieces: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if pieces:  # a line read at a time, and a part for about each patient-year
        from therabill.batch.columnar import check, read

        monkeypatch.setattr(read, "_PIECE_BYTES", 1)
        monkeypatch.setattr(check, "CHUNK_ROWS", 1)
    source = write_csv(tmp_path / "interleaved.csv", HEADER, INTERLEAVED)
    columnar, engine = _run_both(tmp_path, source)
    assert columnar.columnar >= 2 and _comparable(columnar) == _comparable(engine)


@pytest.mark.parametrize("body", [
    'V1,P1,2025-03-03,medicare,,PT,,97110,23,,,"52.00"\n',  # a quoted cell
    "V1,P1,2025-03-03,medicare,,PT,,97110,23,,,52.00\nV2,P1,2025-03-05,medicare\n",  # short
    "V1,P1,2025-03-03,medicare,,PT,,97110,23,,,52.00\n\nV2,P1,2025-03-05,,,,,97110,9,,,\n",
    # a row wider than the header, beside one as much narrower (the delimiters add up)
    "V1,P1,2025-03-03,medicare,,PT,,97110,23,,,52.00,\nV2,P1,2025-03-05,,,,,97110,9,,\n",
])
def test_files_the_path_does_not_read_go_to_the_engine(tmp_path: Path, body: str) -> None:
    # the plain reader steps aside, and the engine's reader takes the whole file
    source = tmp_path / "odd.csv"
    source.write_text(",".join(HEADER) + "\n" + body, encoding="utf-8")
    columnar, engine = _run_both(tmp_path, source)
    assert columnar.columnar == 0 and _comparable(columnar) == _comparable(engine)


@pytest.mark.parametrize("end", ["", "\n", "\n\n\n"])
def test_a_plain_file_may_end_with_or_without_empty_lines(tmp_path: Path, end: str) -> None:
    source = tmp_path / "ends.csv"
    source.write_text(",".join(HEADER) + "\n" + "V1,P1,2025-03-03,medicare,,PT,,97110,23,,,52.00\n"
                      "V2,P1,2025-03-05,,,,,97110,9,,," + end, encoding="utf-8")
    columnar, engine = _run_both(tmp_path, source)
    assert columnar.columnar == 2 and _comparable(columnar) == _comparable(engine)


# NCCI pairs on the path: 97140 with 97124 (modifier indicator 0: denied even with 59), 97150
# with 97110 (indicator 1: denied without a modifier, bypassed with 59 or XU), 97012 with
# 97140 from both sides, a repeated code whose lines share the modifier, a modifier on the
# column-1 line (which unlocks nothing), and visits of one year so that a denied line adds
# nothing to the KX count or the deductible.
PAIRS = [line.split(",") for line in """\
V1,P1,2024-06-03,medicare,01182-18,PT,,97140,23,,,60.00
V1,P1,2024-06-03,medicare,01182-18,PT,,97124,20,,59,60.00
V2,P1,2024-06-05,medicare,01182-18,PT,,97150,,,,40.00
V2,P1,2024-06-05,medicare,01182-18,PT,,97110,30,,,60.00
V3,P1,2024-06-07,medicare,01182-18,PT,,97150,,,,40.00
V3,P1,2024-06-07,medicare,01182-18,PT,,97110,10,,XU,60.00
V3,P1,2024-06-07,medicare,01182-18,PT,,97110,14,,XU,60.00
V4,P2,2024-06-03,medicare,national,PT,,97012,,,,30.00
V4,P2,2024-06-03,medicare,national,PT,,97140,38,,,90.00
V4,P2,2024-06-03,medicare,national,PT,,97124,9,,,30.00
V5,P2,2024-06-10,commercial-cpt,national,PT,,97150,,,59,40.00
V5,P2,2024-06-10,commercial-cpt,national,PT,,97530,25,,,60.00
""".splitlines()]


def _all_on_the_path(tmp_path: Path, rows: list[list[str]], visits: int) -> tuple[str, str]:
    """The lines and findings tables (CSV text) of a file whose every visit the path takes,
    once they are found equal to the engine's."""
    source = write_csv(tmp_path / "visits.csv", HEADER, rows)
    columnar, engine = _run_both(tmp_path, source, fmt="csv")
    assert columnar.columnar == columnar.visits == visits
    assert _comparable(columnar) == _comparable(engine)
    written = tmp_path / "columnar"
    return ((written / "lines.csv").read_text(encoding="utf-8"),
            (written / "findings.csv").read_text(encoding="utf-8"))


def test_ncci_pairs_are_decided_on_the_path(tmp_path: Path) -> None:
    lines, _ = _all_on_the_path(tmp_path, PAIRS, 5)
    assert lines.count(",denied,ncci.ptp,") == 5 and ",97150/97110," in lines


# CQ/CO on the path: CMS's example (assistant 23 and therapist 13 minutes of 97110: one unit
# with CQ, one without, the charge of 100.01 split to the half cent), CO on an OT line, an
# untimed code over the de minimis share, every unit by the assistant, a share within de
# minimis, a plan that pays CQ/CO less and one without the modifiers, and a split line
# denied by an NCCI pair; with a code the plan's fee table leaves out (no amount, a warning)
# and a fee table's price in a locality the year's GPCIs lack.
HELPED = [line.split(",") for line in """\
V1,P1,2024-03-04,medicare,01182-18,PT,,97110,36,23,,100.01
V1,P1,2024-03-04,medicare,01182-18,PT,,97012,,,,30.00
V2,P2,2024-03-04,medicare,national,OT,,97530,38,30,,100.01
V2,P2,2024-03-04,medicare,national,OT,,97535,10,1,,40.00
V3,P3,2025-05-05,commercial-mppr,national,PT,,97012,12,5,,30.00
V3,P3,2025-05-05,commercial-mppr,national,PT,,97112,25,25,,60.00
V3,P3,2025-05-05,commercial-mppr,national,PT,,97150,,,,40.00
V6,P3,2025-05-09,commercial-mppr,05441-99,PT,,97110,20,,,40.00
V4,P3,2025-05-07,commercial-cpt,05441-99,PT,,97110,40,20,,90.00
V5,P1,2024-03-06,medicare,01182-18,PT,,97140,30,,,60.00
V5,P1,2024-03-06,medicare,01182-18,PT,,97124,24,16,59,60.00
""".splitlines()]


def test_assistant_units_are_split_on_the_path(tmp_path: Path) -> None:
    lines, findings = _all_on_the_path(tmp_path, HELPED, 6)
    assert ",pricing.not_priced,warning,97150," in findings
    assert ",97110,1,GP CQ,payable,,PT,23,23,,50.00," in lines  # half even, as Decimal rounds
    assert ",97110,1,GP,payable,,PT,13,0,,50.01," in lines and ",97530,2,GO CO," in lines
    assert ",97124,1,GP CQ 59,denied,ncci.ptp," in lines


def test_amounts_are_written_as_the_engine_writes_them() -> None:
    from decimal import Decimal

    import polars as pl

    from therabill.batch.columnar.check import _usd
    from therabill.money import usd

    cents = [0, 5, 99, 100, 99_999, 100_000, 123_456_78, 100_000_000, 99_999_999_999,
             100_000_000_000]
    written = pl.DataFrame({"c": cents}).select(_usd(pl.col("c"))).to_series().to_list()
    assert written[:-1] == [usd(Decimal(c).scaleb(-2)) for c in cents[:-1]]
    assert written[-1] is None  # past a billion dollars the rule writes it itself


# A plan's own limits on the path (commercial-cpt: 97530 not paid with 97140, at most four
# timed units a day): a denied pair, a cap that cuts part of a line, one that takes a whole
# line (not billable), and a pair and a cap on one visit.
LIMITS = [line.split(",") for line in """\
V1,P1,2024-04-01,commercial-cpt,national,PT,,97140,25,,,60.00
V1,P1,2024-04-01,commercial-cpt,national,PT,,97530,25,,,60.00
V2,P1,2024-04-03,commercial-cpt,national,PT,,97110,38,,,90.00
V2,P1,2024-04-03,commercial-cpt,national,PT,,97112,38,,,90.00
V3,P2,2024-04-03,commercial-cpt,01182-18,PT,,97112,60,,,120.00
V3,P2,2024-04-03,commercial-cpt,01182-18,PT,,97110,10,,,30.00
V4,P2,2024-04-05,commercial-cpt,01182-18,PT,,97140,40,,,90.00
V4,P2,2024-04-05,commercial-cpt,01182-18,PT,,97530,40,,,90.00
V4,P2,2024-04-05,commercial-cpt,01182-18,PT,,97112,25,,,60.00
""".splitlines()]


def test_a_plans_pairs_and_daily_cap_on_the_path(tmp_path: Path) -> None:
    lines, findings = _all_on_the_path(tmp_path, LIMITS, 4)
    assert lines.count(",denied,payer.pair,") == 2
    assert ",not_billable,payer.unit_cap," in lines
    assert findings.count(",payer.unit_cap,warning,") >= 3


# Found by the property test: a line whose assistant minutes pass its own minutes is refused
# by intake before lines of one code are combined, even when the combined line would fit.
SPLIT_ROWS = [line.split(",") for line in """\
V2,P1,2025-12-31,medicare,01182-18,,2405.00,97140,0,5,,
V2,P1,2025-12-31,medicare,01182-18,,2405.00,97140,7,,,
""".splitlines()]


def test_assistant_minutes_are_checked_line_by_line(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "split.csv", HEADER, SPLIT_ROWS)
    columnar, engine = _run_both(tmp_path, source)
    assert columnar.columnar == 0 and _comparable(columnar) == _comparable(engine)


def test_cents_become_money_exactly() -> None:
    # the integers' bytes read as decimals of scale 2: nulls, and a slice's offset, kept
    import polars as pl

    from therabill.batch.columnar.run import _cents_as_money

    cents = pl.Series("allowed", [0, 5, 1234567, None, 99_999_999_999_999], dtype=pl.Int64)
    money = _cents_as_money(cents.slice(1, 4))
    assert money.dtype == pl.Decimal(14, 2) and money.name == "allowed"
    assert money.to_list() == [Decimal("0.05"), Decimal("12345.67"), None,
                               Decimal("999999999999.99")]
