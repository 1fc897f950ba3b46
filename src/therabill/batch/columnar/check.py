"""The common visit, checked as columns: which visits are covered, and their lines and findings.

1. Rows become visits (by ``visit_id``, or patient and date) in order of their first row, as
   the streaming reader groups them (``scan``). A visit is a candidate when every cell is one
   the engine reads one way only (plain text, whole minutes, whole-cent amounts), its payer's
   policy is one the path reproduces (``facts.policy_fits``), its codes are countable and
   covered for a therapist, its lines carry no modifier but an NCCI one (59, XE, XP, XS,
   XU), it is priced on its date and place (or plainly not, for a locality the year's GPCIs
   lack), and its units stay within the MUEs (``candidate_lines``). Lines of one timed
   code are combined, as intake does. The NCCI pairs in force between its billed codes
   deny or let through their column-2 lines by the rule's own decisions (``_ncci``), and a
   line with assistant minutes is split into its units with and without CQ/CO by the rule's
   own split (``_assistants``); a payer's own pairs deny their column-2 lines
   (``_payer_pairs``) and its daily cap cuts the lowest-valued units (``_payer_limits``).
2. Visits group into patient-years (first appearance, then date), as the batch orders them
   (``Plan``). In rounds, the path covers a patient-year's visits from where the year stands
   up to the first one it cannot take: one that is not a candidate or shares its date with
   another (``Plan.covered``); the engine checks the visits from there to the next one the
   path can take, from the figures the path left, and hands back its own (``Plan.handover``;
   ``run``). When no visit the path can take is left, the engine has the rest of the year.
3. Covered lines get their money in whole cents (``_money``): units by the payer's method
   (total time with its tie rule, or per code), MPPR (one unit of the highest PE at full
   price), the allowed amount, the KX rule through the patient's year (a line that takes a
   visit's spending over the threshold is denied), the deductible accrued through the year,
   coinsurance, the CQ/CO reduction and sequestration; each visit gets its findings in the
   engine's words.

Patient-years are worked a part at a time (runs of them with about ``CHUNK_ROWS`` rows, a row
the engine will likely check weighing ``ENGINE_ROW``; ``run`` works one part per core asked
for at once), which bounds memory: every figure stays within one patient-year.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from itertools import islice
from typing import Any

import polars as pl

from therabill import sources
from therabill.batch.accrual import visit_year
from therabill.batch.columnar.facts import MAX_PAIRS, MEDICARE, RATE_SCALE, Facts
from therabill.batch.columnar.read import ROW, TEXT, Cells
from therabill.batch.readers import VISIT_COLUMNS
from therabill.decision import Decision
from therabill.engine import Engine, assumptions
from therabill.memo import BoundedMemo
from therabill.money import usd
from therabill.payers.policy import DeniedPair
from therabill.rules.assistant import split_timed_units, split_untimed
from therabill.rules.assistant_step import assistant_units
from therabill.rules.modifiers import discipline_added
from therabill.rules.ncci import edit_decisions
from therabill.rules.payer_edits import pair_denial
from therabill.rules.payer_limits import cap_cut
from therabill.rules.thresholds import kx_denial
from therabill.rules.units_step import units_summary
from therabill.vocabulary import (
    ASSISTANT_MODIFIER,
    DISCIPLINE_MODIFIER,
    NCCI_MODIFIERS,
    THRESHOLD_GROUP,
)

# Cells a covered visit may fill, and what each must look like (anything else: the engine).
_AMOUNT = r"^(0|[1-9][0-9]{0,7})\.[0-9]{2}$"  # as the engine echoes it: 52.00
_WHOLE = r"^(0|[1-9][0-9]{0,3})$"
_TEXT = r"^[!-~]([ -~]{0,198}[!-~])?$"  # printable ASCII, no blank at either end
_ALLOWED_EMPTY = ("claim_type", "provider_type", "qualifying_apm", "deductible_remaining",
                  "ytd_threshold_ot", "line_discipline", "performed_by")
_NCCI_MODIFIERS = sorted(NCCI_MODIFIERS)  # the one modifier a covered line may carry
_DISCIPLINES = ("PT", "OT", "SLP")


def _raw(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)


def _cell(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A cell as the streaming reader takes it: trimmed, and null when empty."""
    trimmed = _raw(frame, name).str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def _plain(expr: pl.Expr) -> pl.Expr:
    return expr.is_null() | expr.str.contains(_TEXT)


def _codes(facts: Facts) -> pl.DataFrame:
    """Each payer's codes, with how they are counted and their bit."""
    known = [(payer, f) for payer, codes in facts.codes.items() for f in codes.values()]
    return pl.DataFrame(
        [(payer, f.code, 1 << f.bit, f.timed, f.evaluation, ",".join(f.disciplines),
          f.therapy_word) for payer, f in known],
        schema={"payer": pl.String, "code": pl.String, "bit": pl.Int64, "timed": pl.Boolean,
                "evaluation": pl.Boolean, "eval_disciplines": pl.String,
                "therapy_word": pl.String}, orient="row")


def _payers(facts: Facts) -> pl.DataFrame:
    """How each payer's visits are checked: units method, the patient's year, deductible,
    daily cap."""
    return pl.DataFrame(
        [(p.name, p.cms_units, p.kx, p.deductible, p.unit_cap, p.assistant_modifiers)
         for p in facts.payers.values()],
        schema={"payer": pl.String, "cms": pl.Boolean, "kx_payer": pl.Boolean,
                "deductible_payer": pl.Boolean, "unit_cap": pl.Int64,
                "assistant_modifiers": pl.Boolean}, orient="row")


_T = pl.col(TEXT)  # one distinct cell of a column (null: empty, or a column the file lacks)


def _trimmed(expr: pl.Expr) -> pl.Expr:
    """A cell as the streaming reader takes it: trimmed, and null when empty."""
    trimmed = expr.str.strip_chars()
    return pl.when(trimmed == "").then(None).otherwise(trimmed)


def _cell_checks(facts: Facts) -> dict[str, pl.Expr]:
    """What a candidate's row asks of each of its cells, column by column (``_T``)."""
    checks = {name: _plain(_T) for name in (
        *VISIT_COLUMNS, "code", "minutes", "assistant_minutes", "charge", "line_discipline",
        "modifiers", "performed_by")}
    also = [(name, _T.is_null()) for name in _ALLOWED_EMPTY] + [
        ("payer", _T.fill_null(MEDICARE).is_in(list(facts.payers))),
        ("discipline", _T.is_null() | _T.is_in(_DISCIPLINES)),
        ("modifiers", _T.is_null() | _T.is_in(_NCCI_MODIFIERS)),
        ("patient_id", _T.is_not_null()),
        ("date_of_service", _T.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")),
        ("minutes", _T.is_null() | _T.str.contains(_WHOLE)),
        ("assistant_minutes", _T.is_null() | _T.str.contains(_WHOLE)),
        ("charge", _T.is_null() | _T.str.contains(_AMOUNT)),
        ("ytd_threshold_pt_slp", _T.is_null() | _T.str.contains(_AMOUNT))]
    for name, expr in also:
        checks[name] = checks[name] & expr
    # a null (a check of a cell that is not there) fails the row, as any false check does
    return {name: expr.fill_null(False) for name, expr in checks.items()}


def _row_keys(cells: Cells) -> pl.DataFrame:
    """Each row's visit, as the streaming reader keys it: its visit_id (``vid``), or when it
    has none its patient and date together (``day``), each as a number (null: neither);
    and its raw patient and date cells (codes)."""
    vid = cells.per_text("visit_id", _trimmed(_T).rank("dense"))
    keys = pl.DataFrame([cells.row_numbers(), vid.alias("vid"),
                         cells.code("patient_id").alias("pid"),
                         cells.code("date_of_service").alias("dosc")])
    # the reader's key joins the two texts: worked out once per pair of cells
    pairs = keys.filter(pl.col("vid").is_null()).select("pid", "dosc").unique()
    pairs = pairs.with_columns(
        (cells.per_text("patient_id", _trimmed(_T), pairs.get_column("pid")) + "\x1f"
         + cells.per_text("date_of_service", _trimmed(_T), pairs.get_column("dosc")))
        .rank("dense").alias("day"))
    return keys.join(pairs, on=["pid", "dosc"], how="left", maintain_order="left") \
        .with_columns(pl.when(pl.col("vid").is_null()).then(pl.col("day")).alias("day"))


def _row_codes(cells: Cells, facts: Facts) -> pl.DataFrame:
    """Each row's payer (Medicare when empty) and code with how the payer counts the code
    (``bit``, ``timed``, ``evaluation``: null for a code the path does not count); worked
    out once per pair of cells."""
    rows = pl.DataFrame([cells.code("payer").alias("payer_c"),
                         cells.code("code").alias("code_c")])
    pairs = rows.unique()
    pairs = pairs.with_columns(
        cells.per_text("payer", _T.fill_null(MEDICARE), pairs.get_column("payer_c"))
        .alias("payer"),
        cells.per_text("code", _T, pairs.get_column("code_c")).alias("code"),
    ).join(_codes(facts).select("payer", "code", "bit", "timed", "evaluation"),
           on=["payer", "code"], how="left")
    return rows.join(pairs.drop("payer", "code"), on=["payer_c", "code_c"], how="left",
                     maintain_order="left").drop("payer_c", "code_c")


def scan(cells: Cells, facts: Facts) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every visit (``seq``: its place in the file; its patient, date, whether the reader
    rejects it, whether its rows make it a candidate: ``visit_ok``, see the module's text),
    the candidates' rows (row number, ``seq``, code mask) and each row's visit. A check of a
    cell is worked out once per distinct text of its column."""
    row_ok = pl.repeat(True, cells.height, dtype=pl.Boolean, eager=True)
    for name, check in _cell_checks(facts).items():
        row_ok = row_ok & cells.per_text(name, check)
    # a year-to-date PT/SLP amount on an OT visit restarts a count the visit is not in
    row_ok = row_ok & (cells.per_text("ytd_threshold_pt_slp", _T.is_null())
                       | cells.per_text("discipline", _T.fill_null("PT") != "OT"))
    # intake refuses a line whose assistant minutes pass its own, before combining any
    helped = cells.per_text("assistant_minutes", _T.cast(pl.Int64, strict=False))
    row_ok = row_ok & (helped.is_null()
                       | (helped <= cells.per_text("minutes", _T.cast(pl.Int64, strict=False)))
                       ).fill_null(False)
    visit_cells = [name for name in VISIT_COLUMNS if name in cells.columns]
    rows = pl.concat([
        _row_keys(cells), _row_codes(cells, facts),
        pl.DataFrame([
            cells.per_text("minutes", _T.cast(pl.Int64, strict=False)).alias("minutes"),
            row_ok.alias("row_ok"),
            # rows of one visit alike in every visit cell (the rest are looked at in
            # _conflicts); equal texts have equal codes
            cells.codes.select(pl.struct(visit_cells).hash()).to_series().alias("cells")
            if visit_cells else pl.zeros(cells.height, dtype=pl.UInt64, eager=True)
            .alias("cells")])], how="horizontal").lazy()
    rows = rows.filter(pl.col("vid").is_not_null() | pl.col("day").is_not_null()) \
        .with_columns(
        (pl.col(ROW).min().over("vid", "day").rank("dense") - 1).cast(pl.Int64).alias("seq"),
    ).drop("vid", "day").with_columns(
        (pl.col("row_ok") & pl.col("bit").is_not_null()
         & (~pl.col("timed").fill_null(False) | pl.col("minutes").is_not_null())
         & (pl.col("minutes").fill_null(0) <= 24 * 60)).alias("row_ok"))
    untimed = pl.col("bit").filter(~pl.col("timed").fill_null(True))
    per_visit = rows.group_by("seq").agg(
        pl.col("row_ok").all().alias("rows_ok"),
        (pl.col("cells").min() == pl.col("cells").max()).alias("alike"),
        # an untimed code twice is two services (the engine's edits decide): not here
        (untimed.sum().fill_null(0) == untimed.bitwise_or().fill_null(0)).alias("once"),
        pl.col("evaluation").fill_null(False).sum().alias("evaluations"),
        pl.col("bit").bitwise_or().fill_null(0).alias("mask"),
    ).with_columns(pl.all_horizontal(
        "rows_ok", "alike", "once", pl.col("evaluations") <= 1).alias("visit_ok"))
    found = rows.select(ROW, "seq", "pid", "dosc").join(
        per_visit.select("seq", "visit_ok", "mask", "alike"), on="seq", how="left") \
        .collect(engine="streaming")
    visits = _conflicts(found, cells)
    chosen = found.filter(pl.col("visit_ok")).select(ROW, "seq", "mask")
    return visits, chosen, found.select(ROW, "seq")


# The cells a candidate's lines are worked out from.
_LINE_CELLS = ["visit_id", "patient_id", "date_of_service", "payer", "locality", "discipline",
               "ytd_threshold_pt_slp", "code", "minutes", "charge", "modifiers",
               "assistant_minutes"]


def candidate_lines(cells: Cells, facts: Facts, chosen: pl.DataFrame) -> pl.DataFrame:
    """The lines of the ``chosen`` rows, with what their money needs
    and whether their visit stays a candidate on its day (``visit_ok``). The rows of a
    candidate are alike and plain, so each row's cells are its visit's."""
    picked = cells.picked(chosen.get_column(ROW), _LINE_CELLS)

    def each(name: str, expr: pl.Expr = _T) -> pl.Series:  # worked out once per text
        return cells.per_text(name, expr, picked[name])

    # (a candidate's cells are plain: trimmed already, and null when empty)
    details = pl.DataFrame([
        each("visit_id").alias("visit_id_cell"), each("patient_id").alias("patient_id"),
        each("date_of_service").alias("dos"),
        each("payer", _T.fill_null(MEDICARE)).alias("payer"),
        each("locality", _T.fill_null("national")).alias("locality"),
        each("discipline", _T.fill_null("PT")).alias("discipline"),
        each("ytd_threshold_pt_slp").alias("ytd_given"), each("code").alias("code"),
        each("minutes", _T.cast(pl.Int64, strict=False)).alias("minutes"),
        each("modifiers").alias("modifier"),
        each("assistant_minutes", _T.cast(pl.Int64, strict=False).fill_null(0))
        .alias("assistant_minutes"),
        # whole cents: a candidate's charge is written 52.00
        each("charge", _T.str.replace(".", "", literal=True).cast(pl.Int64, strict=False))
        .alias("charge_cents"),
        each("date_of_service", _T.str.to_date("%Y-%m-%d", strict=False)).alias("date")])
    details = pl.concat([details, chosen], how="horizontal").join(
        _codes(facts), on=["payer", "code"], how="left", maintain_order="left").with_columns(
        pl.lit(True).alias("visit_ok"),
        pl.when(pl.col("evaluation") & (pl.col("eval_disciplines") != ""))
        .then(pl.col("eval_disciplines").str.split(",").list.contains(pl.col("discipline")))
        .otherwise(True).alias("fits"))
    return _with_days(_combined(details), facts)


def _conflicts(found: pl.DataFrame, file: Cells) -> pl.DataFrame:
    """Every visit: its patient, date and day, whether the reader rejects it (rows that
    disagree on a visit cell, blanks aside) and whether it is a candidate. A visit whose rows
    are alike conflicts with nothing and any row says its patient and date; for the others
    the first given is taken, as the reader takes it."""
    visits = found.unique("seq", keep="first")
    visits = visits.select(
        "seq", file.per_text("patient_id", _trimmed(_T), visits.get_column("pid"))
        .alias("patient_id"),
        file.per_text("date_of_service", _trimmed(_T), visits.get_column("dosc")).alias("dos"),
        "visit_ok", "alike")
    odd = found.filter(~pl.col("alike")).select("seq", ROW)
    if odd.height:
        picked = file.rows(odd.get_column(ROW), list(VISIT_COLUMNS))
        cells = picked.select(
            ROW, *(_cell(picked, name).alias(name) for name in VISIT_COLUMNS)) \
            .with_columns(odd.get_column("seq"))
        seen = cells.group_by("seq").agg(
            pl.any_horizontal(*(pl.col(name).drop_nulls().n_unique() > 1
                                for name in VISIT_COLUMNS)).alias("conflict"),
            pl.col("patient_id").sort_by(ROW).drop_nulls().first().alias("first_patient"),
            pl.col("date_of_service").sort_by(ROW).drop_nulls().first().alias("first_dos"))
        visits = visits.join(seen, on="seq", how="left").with_columns(
            pl.coalesce("first_patient", "patient_id").alias("patient_id"),
            pl.coalesce("first_dos", "dos").alias("dos")).drop("first_patient", "first_dos")
    else:
        visits = visits.with_columns(pl.lit(None, dtype=pl.Boolean).alias("conflict"))
    return visits.with_columns(
        pl.col("conflict").fill_null(False),
        pl.col("dos").str.to_date("%Y-%m-%d", strict=False).alias("date")).drop("alike")


def _combined(lines: pl.DataFrame) -> pl.DataFrame:
    """Lines of one timed code combined into one claim line, as intake combines them: the
    first line's place, the minutes and charges added up; each line numbered by its place.
    Returns them by visit, in the file's order within each."""
    lines = lines.with_columns(pl.lit(True).alias("modifier_ok"))
    repeated = lines.select(pl.struct("seq", "code").is_duplicated()).to_series()
    if repeated.any():  # only the few repeated lines are worked on
        group = ["seq", "code"]
        charged = pl.col("charge_cents").count() > 0
        merged = lines.filter(repeated).group_by(group).agg(
            pl.all().exclude(*group, "minutes", "assistant_minutes", "charge_cents",
                             "modifier", "modifier_ok").first(),
            pl.col("minutes").sum(), pl.col("assistant_minutes").sum(),
            pl.when(charged).then(pl.col("charge_cents").sum()).alias("charge_cents"),
            # the combined line carries the modifiers of all (one kind here, else the engine's)
            pl.col("modifier").max(),
            (pl.col("modifier").drop_nulls().n_unique() <= 1).alias("modifier_ok"))
        lines = pl.concat([lines.filter(~repeated), merged.select(lines.columns)])
    # each line's place in its visit, its rows together in the file's order
    lines = lines.sort("seq", ROW)
    start = pl.col("seq") != pl.col("seq").shift(1)
    first = pl.when(start.fill_null(True)).then(pl.int_range(pl.len())).forward_fill()
    return lines.with_columns((pl.int_range(pl.len()) - first).alias("line"))


_DAY_COLUMNS = {
    "date": pl.Date, "locality": pl.String, "payer": pl.String, "price_key": pl.Int64,
    "kx": pl.Int64, "share": pl.Int64, "seq_rate": pl.Int64, "mppr": pl.Boolean,
    "edits": pl.Int64, "unpriced": pl.String, "kx_source": pl.String,
    "assistant_rate": pl.Int64, "de_minimis": pl.String, "assistant_source": pl.String,
    "release_key": pl.Int64}


def _days(facts: Facts, places: pl.DataFrame) -> pl.DataFrame:
    """The figures of every (date, locality, payer) worked out so far that the path can
    settle, ``places`` among them, as a frame (made again only when a place is new)."""
    with facts.lock:  # parts are worked at once
        seen = facts.tables.get("places")
        rows = facts.tables.setdefault("day rows", [])
        new = places if seen is None else places.join(seen, on=places.columns, how="anti")
        if new.height:
            facts.tables["places"] = new if seen is None else pl.concat([seen, new])
        for day, locality, payer in new.iter_rows():
            found = facts.day(day, locality, payer)
            if found is not None:
                rows.append((day, locality, payer, found.price_key, found.kx_cents,
                             found.payer_share_ppm, found.sequestration_ppm, found.mppr,
                             found.edits_key, found.unpriced, found.kx_source,
                             found.assistant_ppm, found.de_minimis, found.assistant_source,
                             found.release_key))
        return _grown(facts, "days", rows, _DAY_COLUMNS)


def _table(facts: Facts, figures: dict[Any, Any], row: Callable[[Any, Any], tuple[Any, ...]],
           schema: dict[str, Any]) -> pl.DataFrame:
    """One of the facts' tables of figures as a frame, kept up to date."""
    with facts.lock:
        name = ",".join(schema)
        made = facts.tables.get(name)
        rows = facts.tables.setdefault(f"{name} rows", [])
        if made is None or made[0] != len(figures):
            rows.extend(row(key, value)
                        for key, value in islice(figures.items(), len(rows), None))
        return _grown(facts, name, rows, schema)


def _grown(facts: Facts, name: str, rows: list[tuple[Any, ...]], schema: dict[str, Any]
           ) -> pl.DataFrame:
    """The frame ``name`` of ``rows``, which only ever grow (a key is added once, and its
    figures never change): only the rows added since it was last made are turned into a
    frame."""
    made = facts.tables.get(name)
    if made is not None and made[0] == len(rows):
        return made[1]
    new = pl.DataFrame(rows[made[0] if made is not None else 0:], schema=schema, orient="row")
    frame = new if made is None else pl.concat([made[1], new], rechunk=True)
    facts.tables[name] = (len(rows), frame)
    return frame


def _with_days(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """Join each candidate line's day (prices, rates, edits) and work out its units."""
    places = lines.filter(pl.col("visit_ok") & pl.col("date").is_not_null()) \
        .select("date", "locality", "payer").unique()
    days = _days(facts, places)
    # (each code by its bit: a number joins faster than a text)
    bits = facts.bits
    prices = _table(facts, facts.prices, lambda key, p: (key[0], bits[key[1]], p.full_cents,
                                                         p.reduced_cents, p.pe, p.mppr),
                    {"price_key": pl.Int64, "bit": pl.Int64, "full": pl.Int64,
                     "reduced": pl.Int64, "pe": pl.Int64, "mppr_code": pl.Boolean})
    values = _table(facts, facts.values, lambda key, value: (key[0], bits[key[1]], value),
                    {"release_key": pl.Int64, "bit": pl.Int64, "value": pl.Int64})
    unlisted = _table(facts, facts.unlisted, lambda key, said: (key[0], bits[key[1]], *said),
                      {"price_key": pl.Int64, "bit": pl.Int64, "not_priced": pl.String,
                       "not_priced_source": pl.String})
    edits = _table(facts, facts.column_2, lambda key, mask: (key[0], bits[key[1]], mask),
                   {"edits": pl.Int64, "bit": pl.Int64, "column_1": pl.Int64})
    mues = _table(facts, facts.mue, lambda key, mue: (key[0], bits[key[1]], mue),
                  {"edits": pl.Int64, "bit": pl.Int64, "mue": pl.Int64})
    # Lazily, so that the steps share one plan and only the columns used are carried.
    lazy = lines.lazy().join(days.lazy(), on=["date", "locality", "payer"], how="left") \
        .join(_payers(facts).lazy(), on="payer", how="left") \
        .join(prices.lazy(), on=["price_key", "bit"], how="left") \
        .join(values.lazy(), on=["release_key", "bit"], how="left") \
        .join(unlisted.lazy(), on=["price_key", "bit"], how="left") \
        .join(edits.lazy(), on=["edits", "bit"], how="left") \
        .join(mues.lazy(), on=["edits", "bit"], how="left")
    timed_minutes = pl.when(pl.col("timed")).then(pl.col("minutes")).otherwise(0)
    rest = pl.when(pl.col("timed")).then(pl.col("minutes") % 15).otherwise(0)
    lazy = lazy.with_columns(
        timed_minutes.alias("timed_minutes"), rest.alias("rest"),
        (timed_minutes // 15).alias("full_units"))
    # The remaining units go to the most minutes left, a tie to the higher total RVUs, then
    # the code (rules.units.cms_total_time; the bits follow the codes' order): each
    # leftover's place in that order, from 1.
    lazy = lazy.sort(["seq", "rest", "value", "bit"], descending=[False, True, True, False])
    # (a visit's lines are together now: a line's place is its row less its visit's first)
    row = pl.int_range(pl.len())
    first = pl.when((pl.col("seq") != pl.col("seq").shift(1)).fill_null(True)).then(row) \
        .forward_fill()
    lazy = lazy.with_columns(
        ((pl.col("timed_minutes").sum().over("seq") + 7) // 15
         - pl.col("full_units").sum().over("seq")).alias("remaining"),
        pl.when(pl.col("rest") > 0).then(row - first + 1).alias("place"))
    remaining = pl.col("remaining")
    # the leftovers on either side of the cut (the last to get a unit, the first without)
    last_in = lazy.filter(pl.col("place") == remaining).select("seq", boundary="rest")
    first_out = lazy.filter(pl.col("place") == remaining + 1).select("seq", after="rest")
    lazy = lazy.join(last_in, on="seq", how="left").join(first_out, on="seq", how="left")
    lazy = lazy.with_columns(
        (pl.col("place").fill_null(1 << 30) <= remaining).alias("extra"),
        # equal leftovers on both sides of the cut: the other split is as compliant
        (pl.col("boundary") == pl.col("after")).fill_null(False).alias("tie"))
    # per code (CPT): a unit at every 15 minutes and one more past the midpoint of the rest
    per_code = pl.col("full_units") + (2 * pl.col("rest") > 15).cast(pl.Int64)
    lazy = lazy.with_columns(
        pl.when(~pl.col("timed")).then(1)
        .when(pl.col("cms")).then(pl.col("full_units") + pl.col("extra").cast(pl.Int64))
        .otherwise(per_code).alias("units"),
        pl.col("tie") & pl.col("cms"))
    lazy = lazy.with_columns(
        (pl.col("units") - (pl.col("tie") & (pl.col("place") == remaining)).fill_null(False)
         .cast(pl.Int64)
         + (pl.col("tie") & (pl.col("place") == remaining + 1)).fill_null(False)
         .cast(pl.Int64)).alias("alternative"))
    # A timed line that earns no unit is off the claim (not billable): no NCCI pair with it.
    billed = pl.col("units") > 0
    lazy = lazy.with_columns(
        pl.when(billed).then(pl.col("bit")).otherwise(0).sum().over("seq").alias("mask"),
        pl.when(pl.col("timed")).then(pl.col("units")).otherwise(0).sum().over("seq")
        .alias("timed_units"))
    # the column-1 codes billed with this one whose NCCI edit is in force (rules.ncci)
    lazy = lazy.with_columns(pl.when(billed).then(pl.col("column_1").fill_null(0)
                                                  & pl.col("mask")).otherwise(0)
                             .alias("partners"))
    unpriced = pl.col("unpriced").is_not_null()
    line_ok = (pl.col("fits") & pl.col("price_key").is_not_null()
               & (pl.col("full").is_not_null() | unpriced
                  | pl.col("not_priced").is_not_null())
               # a tie goes by the codes' values
               & ~(pl.col("tie") & pl.col("value").is_null().any().over("seq"))
               & pl.col("modifier_ok")
               # assistant minutes the split takes (rules.assistant_step); the rest (more than
               # the service's, on an evaluation, SLP's, before CQ/CO) are the engine's
               & ((pl.col("assistant_minutes") == 0)
                  | ((pl.col("assistant_minutes") <= pl.col("minutes")) & ~pl.col("evaluation")
                     & (pl.col("discipline") != "SLP") & pl.col("de_minimis").is_not_null()))
               & (pl.col("units") <= pl.col("mue").fill_null(1 << 30)))
    # A payer's daily cap on timed units cuts the lowest-valued units (``_payer_limits``):
    # a visit whose cap bites goes to the engine when a timed line has no value to rank it
    # by or has assistant minutes (CQ/CO lines rank apart).
    unranked = (pl.col("timed") & billed
                & (pl.col("value").is_null()
                   | ((pl.col("assistant_minutes") > 0) & pl.col("assistant_modifiers"))))
    lazy = lazy.with_columns(unranked.any().over("seq").alias("unranked"))
    limits_ok = (pl.col("timed_units") <= pl.col("unit_cap").fill_null(1 << 30)) \
        | ~pl.col("unranked")
    # (each window on a plain column: a window inside a window runs group by group)
    lazy = lazy.with_columns((line_ok & limits_ok).fill_null(False).alias("line_ok"))
    lazy = lazy.with_columns(
        (pl.col("visit_ok") & pl.col("line_ok").all().over("seq")).alias("visit_ok"))
    lines = _ncci(lazy.select(_KEPT).collect(engine="in-memory"), facts)
    return _payer_limits(_payer_pairs(_assistants(lines, facts), facts), facts)


def _ncci(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """What the NCCI pairs in force do to each line of a candidate: the rule's own decisions
    (``rules.ncci.edit_decisions``), worked out once for each code, set of column-1 codes
    billed with it, modifier and date's tables (kept with the facts, for every part). Adds
    ``ncci_denied``, ``ncci_unlocked`` (the pair a modifier bypassed) and ``ncci`` (the
    outcome's number in ``_ncci_findings``); only the lines with a pair in force are
    looked at."""
    keys = ["edits", "code", "partners", "modifier"]
    where = lines.select(pl.col("visit_ok") & (pl.col("partners") != 0)).to_series() \
        .arg_true()
    none = [pl.lit(False).alias("ncci_denied"), pl.lit(None, dtype=pl.String)
            .alias("ncci_unlocked"), pl.lit(None, dtype=pl.Int64).alias("ncci"),
            pl.lit(None, dtype=pl.String).alias("edit_rule")]
    if where.len() == 0:
        return lines.with_columns(none)
    paired = lines[where].select(keys)
    codes = {1 << bit.bit_length() - 1: code for code, bit in facts.bits.items()}
    with facts.lock:  # the outcomes are numbered for the whole file
        outcomes = facts.tables.setdefault("ncci", {})
        for edits, code, partners, modifier in paired.unique().iter_rows():
            if (edits, code, partners, modifier) not in outcomes:
                outcomes[(edits, code, partners, modifier)] = (len(outcomes), *_ncci_outcome(
                    facts, codes, edits, code, partners, modifier))
        table = _table(facts, outcomes, lambda key, found: (*key, *found[:3]), {
            "edits": pl.Int64, "code": pl.String, "partners": pl.Int64,
            "modifier": pl.String, "ncci": pl.Int64, "ncci_denied": pl.Boolean,
            "ncci_unlocked": pl.String})
    found = paired.join(table, on=keys, how="left", nulls_equal=True, maintain_order="left")
    lines = lines.with_columns(
        _scattered(lines, name, where, found.get_column(name))
        for name in ("ncci_denied", "ncci_unlocked", "ncci"))
    return lines.with_columns(pl.col("ncci_denied").fill_null(False)).with_columns(
        pl.when(pl.col("ncci_denied")).then(pl.lit("ncci.ptp")).alias("edit_rule"))


def _ncci_outcome(facts: Facts, codes: dict[int, str], edits: int, code: str, partners: int,
                  modifier: str | None) -> tuple[bool, str | None, list[dict[str, Any]]]:
    """One code's NCCI outcome: denied, the pair a modifier bypassed, and the findings, each
    with its place among the visit's (the engine goes through the codes in order, column 1
    then column 2)."""
    memo: BoundedMemo[tuple[Decision, Decision | None]] = BoundedMemo(64)
    present = (modifier,) if modifier else ()
    where = facts.ptp_source[edits]
    denied, unlocked, found = False, None, []
    for bit, first in sorted(codes.items()):
        if not partners & bit:
            continue
        step, finding = edit_decisions(facts.ptp[(edits, first, code)], code, present, where,
                                       memo)
        if finding is None:  # bypassed: the line names the pair (batch.tables)
            if step.rule == "modifier.ncci" and unlocked is None:
                unlocked = f"{first}/{code}"
        else:
            denied = True
            found.append({"order": (bit.bit_length() - 1) * 64
                          + facts.bits[code].bit_length() - 1, "rule": finding.rule,
                          "severity": finding.severity, "codes": " ".join(finding.codes),
                          "message": finding.message, "source": finding.source,
                          "own": False})
    return denied, unlocked, found


def _ncci_findings(facts: Facts) -> pl.DataFrame:
    """Each NCCI outcome's findings, by its number (``ncci``)."""
    with facts.lock:
        return _table(facts, facts.tables.get("ncci", {}),
                      lambda key, found: (found[0], found[3]),
                      {"ncci": pl.Int64, "edit_findings": pl.List(_EDIT_FINDING)})


# A finding of the edits and limits after the units (NCCI, the payer's pairs and daily cap):
# its place among them, its words, and whether it names its own line (else none).
_EDIT_FINDING = pl.Struct({"order": pl.Int64, "rule": pl.String, "severity": pl.String,
                           "codes": pl.String, "message": pl.String, "source": pl.String,
                           "own": pl.Boolean})
# Their places among the visit's findings (after the modifiers'): NCCI's (by column-1 and
# column-2 code, under 64 × 64), then the payer's pairs (by pair, then line: a visit has
# fewer than 128 lines, a payer at most facts.MAX_PAIRS pairs), then the daily cap's cuts;
# the pricing step's come after them all.
_PAIRS_AT = 1 << 12
_CAP_AT = _PAIRS_AT + 128 * MAX_PAIRS
_PRICING_AT = _CAP_AT + 128


def _denied_pairs(facts: Facts) -> list[tuple[str, int, DeniedPair]]:
    """Every payer's pairs whose codes the path counts: (payer, place in its list, pair)."""
    return [(name, index, pair) for name, policy in facts.policies.items()
            for index, pair in enumerate(policy.denied_pairs)
            if pair.column_1 in facts.bits and pair.column_2 in facts.bits]


def _scattered(lines: pl.DataFrame, name: str, where: pl.Series, values: pl.Series
               ) -> pl.Series:
    """A column of ``lines``' height, null but at the rows ``where``."""
    empty = pl.Series(name, [None], dtype=values.dtype).extend_constant(None, lines.height - 1)
    return empty.scatter(where, values) if where.len() else empty


def _payer_pairs(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """The pairs a payer does not pay together (``rules.payer_edits``), after NCCI: a
    payable column-2 line billed with a payable column-1 code is denied, unless the pair
    lets an NCCI modifier through and the line has one. Adds ``pair`` (the denying pair's
    place in ``_denied_pairs``) and ``edit_denied`` (by NCCI or a pair); a line two pairs
    deny leaves its visit to the engine. Only the lines of payers with pairs are looked at."""
    pairs = _denied_pairs(facts)
    lines = lines.with_columns(pl.col("ncci_denied").alias("edit_denied"))
    payers = sorted({name for name, _, _ in pairs})
    where = lines.select(pl.col("payer").is_in(payers) & pl.col("visit_ok")).to_series() \
        .arg_true()
    if not pairs or where.len() == 0:
        return lines.with_columns(pl.lit(None, dtype=pl.Int64).alias("pair"))
    payable = (pl.col("units") > 0) & ~pl.col("ncci_denied")
    some = lines[where].select("seq", "payer", "code", "modifier", "piece", "bit", payable
                               .alias("payable"))
    # the visit's payable codes (a code's CQ/CO piece has its bit too: counted once)
    some = some.with_columns(
        pl.when(pl.col("payable") & (pl.col("piece") == 0)).then(pl.col("bit")).otherwise(0)
        .sum().over("seq").alias("codes_paid"))
    hits = []
    for number, (payer, _, pair) in enumerate(pairs):
        hit = ((pl.col("payer") == payer) & (pl.col("code") == pair.column_2)
               & pl.col("payable") & ((pl.col("codes_paid") & facts.bits[pair.column_1]) != 0))
        if pair.modifier_unlocks:
            hit = hit & pl.col("modifier").is_null()
        hits.append(pl.when(hit).then(number).otherwise(None))
    found = some.select(pl.concat_list(hits).list.drop_nulls().alias("hits")) \
        .to_series()
    twice = (found.list.len() > 1).arg_true()
    lines = lines.with_columns(_scattered(lines, "pair", where, found.list.first()))
    if twice.len():  # two pairs on a line: the engine's
        odd = lines[where[twice]].get_column("seq").unique()
        lines = lines.with_columns(pl.col("visit_ok") & ~pl.col("seq").is_in(odd.implode()))
    return lines.with_columns(
        (pl.col("ncci_denied") | pl.col("pair").is_not_null()).alias("edit_denied"),
        pl.when(pl.col("pair").is_not_null()).then(pl.lit("payer.pair"))
        .otherwise(pl.col("edit_rule")).alias("edit_rule"))


def _payer_limits(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """A payer's daily cap on timed units (``rules.payer_limits.apply_daily_cap``, the plan's
    ``unit_cap``): the units over it are cut from the lowest-valued payable lines first (by
    total RVUs, then code); a line left with none is not billable. Adds ``cap_cut`` (units
    the cap took), ``cap_place`` (the cut's place among the visit's) and ``capped`` (the line
    lost all its units). Only the lines of payers with a cap are looked at."""
    capped = sorted(name for name, policy in facts.policies.items() if policy.unit_cap)
    where = lines.select(pl.col("payer").is_in(capped) & pl.col("visit_ok")).to_series() \
        .arg_true()
    none = [pl.lit(None, dtype=pl.Int64).alias("cap_cut"),
            pl.lit(None, dtype=pl.Int64).alias("cap_place"), pl.lit(False).alias("capped")]
    if where.len() == 0:
        return lines.with_columns(none)
    eligible = pl.col("timed") & (pl.col("units") > 0) & ~pl.col("edit_denied")
    some = lines[where].select("seq", "code", "value", "units", "unit_cap", eligible
                               .alias("eligible")).with_row_index("__at")
    some = some.with_columns(
        (pl.when(pl.col("eligible")).then(pl.col("units")).otherwise(0).sum().over("seq")
         - pl.col("unit_cap")).alias("excess"))
    cut = some.filter(pl.col("eligible") & (pl.col("excess") > 0))
    if cut.height == 0:
        return lines.with_columns(none)
    cut = cut.sort("seq", "value", "code").with_columns(
        (pl.col("units").cum_sum().over("seq") - pl.col("units")).alias("before"))
    cut = cut.with_columns(
        pl.min_horizontal("units", pl.col("excess") - pl.col("before")).clip(0).alias("cut")
    ).filter(pl.col("cut") > 0).with_columns(
        pl.int_range(pl.len()).over("seq").alias("cut_place"))
    at = where.gather(cut.get_column("__at"))
    lines = lines.with_columns(_scattered(lines, "cap_cut", at, cut.get_column("cut")),
                               _scattered(lines, "cap_place", at, cut.get_column("cut_place")))
    taken = pl.col("cap_cut").fill_null(0)
    return lines.with_columns((pl.col("units") - taken).alias("units"),
                              ((taken > 0) & (pl.col("units") == taken)).alias("capped"))


def _assistants(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """Each billed line with assistant minutes split into its units with and without CQ/CO
    by the rule (``rules.assistant``), worked out once for each distinct set of figures: a
    line becomes one or two claim lines (``piece`` 0 without the modifier, then 1 with it;
    a line all of whose units carry it is one piece with it), numbered again in the visit's
    order. ``code_units`` keeps the code's units before the split, ``cq`` says which piece
    carries the modifier, ``assistant_note`` is the finding's sentence on it. Only the lines
    with assistant minutes, and the visits where a line becomes two, are worked on."""
    lines = lines.with_columns(
        pl.lit(0, dtype=pl.Int64).alias("piece"), pl.lit(False).alias("cq"),
        pl.col("units").alias("code_units"), pl.lit(None, dtype=pl.String)
        .alias("assistant_note"))
    split = (pl.col("visit_ok") & (pl.col("units") > 0) & (pl.col("assistant_minutes") > 0)
             & pl.col("assistant_modifiers"))
    where = lines.select(split).to_series().arg_true()
    if where.len() == 0:
        return lines
    keys = ["timed", "units", "minutes", "assistant_minutes", "de_minimis", "discipline"]
    helped = lines[where].select(keys)
    rows = []
    for timed, units, minutes, minutes_helped, share, discipline in helped.unique().iter_rows():
        divided = (split_timed_units(units, minutes, minutes_helped, 15, Decimal(share))
                  if timed else split_untimed(minutes, minutes_helped, Decimal(share)))
        note = None if not divided.with_modifier else assistant_units(
            ASSISTANT_MODIFIER[discipline], divided.with_modifier, divided.reason)
        rows.append((timed, units, minutes, minutes_helped, share, discipline,
                     divided.with_modifier, divided.without_modifier, note))
    outcomes = pl.DataFrame(rows, schema={
        **{name: lines.schema[name] for name in keys}, "with_cq": pl.Int64,
        "without_cq": pl.Int64, "note": pl.String}, orient="row")
    found = helped.join(outcomes, on=keys, how="left", nulls_equal=True,
                        maintain_order="left")
    with_cq = found.get_column("with_cq")
    without_cq = found.get_column("without_cq")
    # a line all of whose units carry the modifier stays one line, with it
    whole = (with_cq > 0) & (without_cq == 0)
    lines = lines.with_columns(
        lines.get_column("cq").scatter(where.filter(whole), True),
        lines.get_column("assistant_note").scatter(where.filter(whole),
                                                   found.get_column("note").filter(whole)))
    two = (with_cq > 0) & (without_cq > 0)
    if not two.any():
        return lines
    # A line with units both ways becomes two: the therapist's (its own minutes, the rest of
    # the charge) and the CQ/CO line after it (the assistant's minutes, the charge's share
    # by units rounded to the cent half even, as Decimal.quantize rounds).
    at = where.filter(two)
    first = lines[at].with_columns(
        with_cq=with_cq.filter(two), without_cq=without_cq.filter(two),
        note=found.get_column("note").filter(two))
    total = pl.col("with_cq") + pl.col("without_cq")
    product = pl.col("charge_cents") * pl.col("with_cq")
    low = product // total
    rest = product - low * total
    share_cents = low + ((2 * rest > total) | ((2 * rest == total) & (low % 2 == 1))) \
        .cast(pl.Int64)
    first = first.with_columns(share_cents.alias("share_cents"))
    helper_line = first.with_columns(
        pl.lit(1, dtype=pl.Int64).alias("piece"), pl.lit(True).alias("cq"),
        pl.col("with_cq").alias("units"), pl.col("assistant_minutes").alias("minutes"),
        pl.col("share_cents").alias("charge_cents"), pl.col("note").alias("assistant_note"))
    own_line = first.with_columns(
        pl.col("without_cq").alias("units"),
        (pl.col("minutes") - pl.col("assistant_minutes")).alias("minutes"),
        pl.lit(0, dtype=pl.Int64).alias("assistant_minutes"),
        (pl.col("charge_cents") - pl.col("share_cents")).alias("charge_cents"))
    # the visits with a split line, numbered again: each line moves down one place for every
    # split line before it
    columns = lines.columns
    in_split = lines.select(pl.col("seq").is_in(first.get_column("seq").implode())).to_series()
    moved = pl.concat([lines.filter(in_split & ~pl.int_range(pl.len()).is_in(at.implode())),
                       own_line.select(columns), helper_line.select(columns)])
    splits = first.select("seq", pl.col("line").alias("split_at"))
    shift = moved.select("seq", "line", "piece").join(splits, on="seq").group_by(
        "seq", "line", "piece").agg((pl.col("split_at") < pl.col("line")).sum().alias("shift"))
    moved = moved.join(shift, on=["seq", "line", "piece"], how="left").with_columns(
        (pl.col("line") + pl.col("shift").fill_null(0) + pl.col("piece")).alias("line"))
    return pl.concat([lines.filter(~in_split), moved.select(columns)], rechunk=True)


# What the lines carry on from here (money, findings, order).
_KEPT = [ROW, "seq", "line", "payer", "code", "visit_id_cell", "patient_id", "dos", "date",
         "discipline", "ytd_given", "minutes", "charge_cents", "timed", "therapy_word", "units",
         "alternative", "tie", "timed_minutes", "kx", "share", "seq_rate", "mppr", "full",
         "reduced", "pe", "mppr_code", "unpriced", "cms", "kx_payer", "deductible_payer",
         "visit_ok", "kx_source", "edits", "partners", "modifier", "assistant_minutes",
         "assistant_rate", "de_minimis", "assistant_source", "assistant_modifiers",
         "not_priced", "not_priced_source", "bit", "value", "unit_cap"]


CHUNK_ROWS = 90_000  # rows in a part (whole patient-years), a candidate row weighing one
ENGINE_ROW = 4  # what a row the engine checks weighs in a part, against a candidate's
FAR = 1 << 40  # a visit position past every patient-year's last

def _by_part(rows: pl.DataFrame) -> dict[int, pl.DataFrame]:
    """``rows`` (with a ``part``) taken apart by part, each in its order, without ``part``."""
    return {key[0]: frame for key, frame in rows.partition_by(
        "part", as_dict=True, include_key=False, maintain_order=True).items()}


class Plan:
    """A file's visits, ranked and placed as the batch orders them, and the candidates' rows
    in parts of whole patient-years. For each part: the candidate lines (``part_lines``),
    then, in rounds, the visits the path covers from where each patient-year stands
    (``covered``) and where the engine must take over (``handover``)."""

    def __init__(self, cells: Cells, engine: Engine) -> None:
        codes = cells.texts["code"].to_list() if "code" in cells.texts else []
        self.cells = cells
        self.facts = Facts(engine, codes)
        visits, chosen, self.row_visits = scan(cells, self.facts)
        # the patient-year as the batch sees it (a rejected visit is in none)
        years = {text: visit_year({"date_of_service": text})
                 for text in visits.get_column("dos").drop_nulls().unique().to_list()}
        year = pl.col("dos").replace_strict(years, default=None, return_dtype=pl.Int64)
        # (a number: one for each of the file's patients, and the year)
        patients = visits.select(pl.col("patient_id").unique().drop_nulls()).with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("patient"))
        visits = visits.join(patients, on="patient_id", how="left", maintain_order="left") \
            .with_columns(pl.when(~pl.col("conflict")).then(pl.col("patient") * 10_000 + year)
                          .alias("pyear"), year.alias("year")).drop("patient")
        # Patient-years rank by their first visit (a visit without one is its own), visits go
        # by date within them; two visits on one date are the engine's (it merges them).
        visits = visits.sort("dos", "seq").with_columns(
            pl.int_range(pl.len()).over("pyear").alias("visit_pos"),
            pl.when(pl.col("pyear").is_null()).then(pl.col("seq"))
            .otherwise(pl.col("seq").min().over("pyear")).alias("rank"),
            (pl.col("visit_ok") & pl.col("pyear").is_not_null()
             & (pl.len().over("pyear", "date") == 1)).fill_null(False).alias("visit_ok")
        ).sort("seq")
        self.visits = visits.join(self._parts(visits, chosen), on="rank", how="left",
                                  maintain_order="left")
        self.ranks = self.visits.get_column("rank").to_numpy()  # by seq
        self.places = self.visits.get_column("visit_pos").to_numpy()  # by seq
        # each part's rows, candidates' and all, taken apart once
        part_of = self.visits.select("seq", "part")
        self.chosen = _by_part(chosen.join(part_of, on="seq", how="left"))
        self.part_rows = _by_part(self.row_visits.join(part_of, on="seq", how="left"))
        self.none_chosen, self.no_rows = chosen.clear(), self.row_visits.clear()

    def _parts(self, visits: pl.DataFrame, chosen: pl.DataFrame) -> pl.DataFrame:
        """Each patient-year's part (by rank): runs of consecutive ranks of about
        ``CHUNK_ROWS`` rows each, a row the engine is likely to check counting as
        ``ENGINE_ROW`` (its visit is held as a record), so that a part's rows come out
        together (the tables are written in rank order, a part after the other). ``visits``
        are every ``seq`` in order; a rank is a ``seq``."""
        import numpy as np

        count = visits.height
        rows = np.bincount(self.row_visits.get_column("seq").to_numpy(), minlength=count)
        self.rows_per_visit = rows  # by seq
        taken = np.bincount(chosen.get_column("seq").to_numpy(), minlength=count)
        weight = taken + ENGINE_ROW * (rows - taken)
        ranks = visits.get_column("rank").to_numpy()
        per_rank = np.bincount(ranks, weights=weight, minlength=count).astype(np.int64)
        total = int(per_rank.sum())
        self.parts = max(1, total // CHUNK_ROWS)
        before = np.cumsum(per_rank) - per_rank
        return pl.DataFrame({"rank": np.arange(count, dtype=np.int64),
                             "part": before * self.parts // max(1, total)})

    def part_lines(self, part: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """One part's candidate lines, and its patient-years' visits (``visit_ok`` now says
        whether a visit is a candidate on its day too)."""
        rows = self.chosen.get(part, self.none_chosen).sort(ROW)
        lines = candidate_lines(self.cells, self.facts, rows)
        taken = lines.filter(pl.col("visit_ok")).get_column("seq").unique()
        visits = self.visits.filter((pl.col("part") == part) & pl.col("pyear").is_not_null())
        visits = visits.with_columns(pl.col("visit_ok") & pl.col("seq").is_in(taken.implode()))
        return lines.filter(pl.col("visit_ok")), visits

    def loose(self, part: int) -> pl.DataFrame:
        """The part's visits that belong to no patient-year (no patient, or no date), each
        the engine's on its own, as an island of one (``handover``'s columns)."""
        return self.visits.filter((pl.col("part") == part) & pl.col("pyear").is_null()
                                  & ~pl.col("conflict")).select(
            (-1 - pl.col("seq")).alias("pyear"), "year", "seq", "visit_pos",
            pl.lit(0, dtype=pl.Int64).alias("end"), pl.lit(None, dtype=pl.Int64).alias("resume"))

    def refused(self) -> pl.Series:
        """The rows the reader rejects, in the file's order: those without a visit key, and
        those of a visit whose rows disagree."""
        return self.cells.row_numbers().to_frame() \
            .join(self.row_visits, on=ROW, how="left", maintain_order="left") \
            .join(self.visits.select("seq", "conflict"), on="seq", how="left",
                  maintain_order="left") \
            .filter(pl.col("seq").is_null() | pl.col("conflict")).get_column(ROW)

    def rows_of(self, part: int, seqs: pl.Series) -> pl.DataFrame:
        """The rows (``ROW``, ``seq``, in the file's order) of the part's visits ``seqs``."""
        rows = self.part_rows.get(part, self.no_rows)
        return rows.filter(pl.col("seq").is_in(seqs.implode())).sort(ROW)

    def start(self, visits: pl.DataFrame) -> pl.DataFrame:
        """Each patient-year at its first visit: nothing spent, the year's deductible left."""
        years = visits.select("pyear", "year").unique("pyear")
        deductibles = {year: self.facts.deductible_cents(year) or 0
                       for year in years.get_column("year").unique().to_list()}
        return years.select(
            "pyear", pl.lit(0, dtype=pl.Int64).alias("start_pos"),
            pl.lit(0, dtype=pl.Int64).alias("pt_slp"), pl.lit(0, dtype=pl.Int64).alias("ot"),
            pl.col("year").replace_strict(deductibles, return_dtype=pl.Int64).alias("ded"))

    def covered(self, lines: pl.DataFrame, visits: pl.DataFrame, state: pl.DataFrame
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """From where each patient-year stands (``state``), the visits the path covers: those
        before the first it cannot take, with their money. Returns the covered lines (in
        order) and, per patient-year, where the run ended (``end``: the first visit not
        covered) and the year's figures after it."""
        visits = visits.join(state.select("pyear", "start_pos"), on="pyear") \
            .filter(pl.col("visit_pos") >= pl.col("start_pos"))
        cuts = visits.group_by("pyear").agg(
            pl.when(~pl.col("visit_ok")).then(pl.col("visit_pos")).otherwise(FAR).min()
            .alias("cut"), pl.col("visit_pos").max().alias("last"))
        lines = lines.join(visits.select("seq", "pyear", "rank", "visit_pos"), on="seq") \
            .join(cuts.select("pyear", "cut"), on="pyear") \
            .filter(pl.col("visit_pos") < pl.col("cut"))
        lines = _money(lines, state, self.facts)  # in (rank, place, line) order
        ends = cuts.join(_after(lines, state), on="pyear", how="left").select(
            "pyear", pl.min_horizontal("cut", pl.col("last") + 1).alias("end"),
            "pt_slp", "ot", "ded")
        return lines, ends

    def handover(self, visits: pl.DataFrame, ends: pl.DataFrame, last_round: bool
                 ) -> pl.DataFrame:
        """Where the engine takes over each unfinished patient-year: for one stretch of
        visits, up to the next the path can take (``resume``), or for the rest of its year
        (``resume`` null: no visit the path can take is left, or this is the last round).
        As (pyear, year, seq, visit_pos, end, resume)."""
        open_ = visits.join(ends.select("pyear", "end"), on="pyear") \
            .filter(pl.col("visit_pos") >= pl.col("end"))
        resume = open_.filter(pl.col("visit_ok") & (pl.col("visit_pos") > pl.col("end"))) \
            .group_by("pyear").agg(pl.col("visit_pos").min().alias("resume"))
        if last_round:
            resume = resume.clear()
        open_ = open_.join(resume, on="pyear", how="left")
        island = open_.filter(pl.col("resume").is_null()
                              | (pl.col("visit_pos") < pl.col("resume")))
        return island.select("pyear", "year", "seq", "visit_pos", "end", "resume")


def _after(lines: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """Each patient-year's figures after its covered lines (as the state was where none)."""
    spent = lines.filter(pl.col("kx_payer")).group_by("pyear").agg(
        pl.col("spent").filter(pl.col("tgroup") == "pt_slp").last().alias("pt_after"),
        pl.col("spent").filter(pl.col("tgroup") == "ot").last().alias("ot_after"),
        pl.col("kept").sum().alias("kept"))
    return state.join(spent, on="pyear", how="left").select(
        "pyear", pl.coalesce("pt_after", "pt_slp").alias("pt_slp"),
        pl.coalesce("ot_after", "ot").alias("ot"),
        pl.max_horizontal(pl.col("ded") - pl.col("kept").fill_null(0), pl.lit(0)).alias("ded"))


def _money(lines: pl.DataFrame, state: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """Fee, MPPR, allowed, deductible, coinsurance and sequestration of every line, in whole
    cents, from where each patient-year stands (``state``: spent so far and deductible left),
    and the KX rule's denials (``_thresholds``)."""
    # MPPR: one unit, of the highest PE (then full price, then code), paid in full
    in_mppr = (pl.col("mppr") & pl.col("mppr_code") & (pl.col("units") > 0)
               & ~pl.col("edit_denied"))
    owner = lines.filter(in_mppr).sort(
        ["seq", "pe", "full", "cq", "code"], descending=[False, True, True, False, False]) \
        .unique("seq", keep="first", maintain_order=True).select("seq", pl.col("line")
                                                                .alias("owner"))
    # every join first: the running sums below read the lines in order
    lines = lines.join(owner, on="seq", how="left") \
        .join(state.select("pyear", pl.col("pt_slp").alias("base_pt_slp"),
                           pl.col("ot").alias("base_ot"), pl.col("ded").alias("ded_start")),
              on="pyear", how="left") \
        .sort("rank", "visit_pos", "line")
    units = pl.col("units")
    fee = (pl.when(~in_mppr).then(pl.col("full") * units)
           .when(pl.col("line") == pl.col("owner"))
           .then(pl.col("full") + pl.col("reduced") * (units - 1))
           .otherwise(pl.col("reduced") * units))
    lines = lines.with_columns(fee.alias("fee"))
    lines = lines.with_columns(
        (pl.col("full") * units - pl.col("fee")).alias("mppr_reduction"),
        pl.when(pl.col("charge_cents") < pl.col("fee")).then(pl.col("charge_cents"))
        .otherwise(pl.col("fee")).alias("allowed"))  # zero for a line earning no unit
    lines = _thresholds(lines)
    # A line the KX rule or an NCCI edit denies pays nothing (its unit price stays).
    denied = pl.col("denied") | pl.col("edit_denied")
    lines = lines.with_columns(
        pl.when(denied).then(0).otherwise(pl.col(name)).alias(name)
        for name in ("mppr_reduction", "allowed"))
    lines = lines.with_columns(pl.when(denied).then(pl.col("allowed"))
                               .otherwise(pl.col("fee")).alias("fee"))
    # The deductible, taken by the lines in order through the patient's year: a payer that
    # keeps the year (Medicare; batch.accrual). Another payer's visit gives no deductible
    # left, and the engine takes none.
    kept = pl.when(pl.col("kx_payer") & pl.col("allowed").is_not_null()) \
        .then(pl.col("allowed")).otherwise(0)
    lines = lines.with_columns(kept.alias("kept"))
    before = pl.col("kept").cum_sum().over("pyear") - pl.col("kept")
    left = pl.max_horizontal(pl.col("ded_start") - before, pl.lit(0))
    lines = lines.with_columns(
        pl.when(pl.col("kx_payer")).then(pl.min_horizontal(pl.col("allowed"), left))
        .otherwise(0).alias("deductible"))
    base = pl.col("allowed") - pl.col("deductible")
    lines = lines.with_columns(
        ((base * pl.col("share") + RATE_SCALE // 2) // RATE_SCALE).alias("payer_share"))
    # a CQ/CO line is paid the assistant rate of the payer's share (cut rounded half up)
    cut = pl.when(pl.col("cq")).then(
        (pl.col("payer_share") * (RATE_SCALE - pl.col("assistant_rate")) + RATE_SCALE // 2)
        // RATE_SCALE).otherwise(0)
    lines = lines.with_columns((base - pl.col("payer_share")).alias("coinsurance"),
                               cut.alias("assistant_reduction"))
    after = pl.col("payer_share") - pl.col("assistant_reduction")
    lines = lines.with_columns(
        ((after * pl.col("seq_rate") + RATE_SCALE // 2) // RATE_SCALE).alias("sequestration"))
    return lines.with_columns(
        (after - pl.col("sequestration")).alias("payer_paid"),
        (pl.col("deductible") + pl.col("coinsurance")).alias("patient_owes"))


def _thresholds(lines: pl.DataFrame) -> pl.DataFrame:
    """The KX rule (rules.thresholds) for a payer that keeps the patient's year: spending of
    the discipline group through the year (a given year-to-date amount restarts PT and SLP's
    count at its visit), and the lines denied once a visit's spending passes the KX amount.
    Adds ``denied``, ``billed`` (the spending a denied line reached) and ``spent`` (the year's
    count after each line, what the next visit starts from)."""
    group = pl.col("discipline").replace_strict(THRESHOLD_GROUP)
    given = pl.when(pl.col("kx_payer")).then(
        pl.col("ytd_given").str.replace(".", "", literal=True).cast(pl.Int64))
    counted = (pl.col("kx_payer") & pl.col("unpriced").is_null()
               & pl.col("allowed").is_not_null() & (pl.col("units") > 0)
               & ~pl.col("edit_denied"))
    lines = lines.with_columns(group.alias("tgroup"), given.alias("given_cents"),
                               pl.when(counted).then(pl.col("allowed")).otherwise(0)
                               .alias("counted"))
    restart = ((pl.col("line") == 0) & pl.col("given_cents").is_not_null()
               & (pl.col("tgroup") == "pt_slp")).cast(pl.Int64)
    lines = lines.with_columns(restart.cum_sum().over("pyear", "tgroup").alias("segment"))
    # before the first restart, from where the year stood; after one, from the amount given
    stood = pl.when(pl.col("tgroup") == "pt_slp").then(pl.col("base_pt_slp")) \
        .otherwise(pl.col("base_ot"))
    lines = lines.with_columns(
        pl.when(pl.col("segment") == 0).then(stood)
        .otherwise(pl.col("given_cents").fill_null(0).max().over("pyear", "tgroup", "segment"))
        .alias("start"))
    lines = lines.with_columns(
        (pl.col("start") + pl.col("counted").cum_sum().over("pyear", "tgroup", "segment"))
        .alias("spent"), pl.lit(False).alias("denied"),
        pl.lit(None, dtype=pl.Int64).alias("billed"))
    over = lines.filter(pl.col("counted").gt(0) & (pl.col("spent") > pl.col("kx")))
    if over.height == 0:
        return lines
    # A patient-year that passes the threshold: line by line, as the rule runs (a denied
    # line adds to the visit's spending but not to the year's); the rest keep their figures.
    passing = lines.get_column("pyear").is_in(over.get_column("pyear").unique().implode())
    where = passing.arg_true()
    worked = _denials(lines.filter(passing))
    return lines.with_columns(lines.get_column(name).scatter(where, worked.get_column(name))
                              for name in ("denied", "billed", "spent"))


def _denials(lines: pl.DataFrame) -> pl.DataFrame:
    """The KX rule over the lines of the patient-years that pass the threshold, in order:
    each visit's spending starts from the year's count; a line that takes it over the KX
    amount is denied and adds nothing to the year."""
    rows = lines.select("pyear", "seq", "tgroup", "counted", "kx", "start", "segment"
                        ).iter_rows()
    denied: list[bool] = []
    billed_at: list[int | None] = []
    spent_after: list[int] = []
    year: dict[tuple[str, str], int] = {}  # the year's count, by patient-year and group
    segments: dict[tuple[str, str], int] = {}
    spending, visit = 0, None
    for pyear, seq, group, counted, kx, start, segment in rows:
        key = (pyear, group)
        if segments.get(key) != segment:  # the first line of the group, or a given amount
            segments[key] = segment
            year[key] = start
        if seq != visit:
            visit, spending = seq, year[key]
        if counted:
            spending += counted
            if spending > kx:
                denied.append(True)
                billed_at.append(spending)
                spent_after.append(year[key])
                continue
            year[key] += counted
        denied.append(False)
        billed_at.append(None)
        spent_after.append(year[key])
    return lines.with_columns(
        pl.Series("denied", denied, dtype=pl.Boolean),
        pl.Series("billed", billed_at, dtype=pl.Int64),
        pl.Series("spent", spent_after, dtype=pl.Int64))


_MONEY = ("charge", "fee_schedule_amount", "mppr_reduction", "charge_reduction", "allowed",
          "deductible", "coinsurance", "assistant_reduction", "sequestration", "payer_paid",
          "patient_owes", "reductions", "threshold_amount")


def _line_table(lines: pl.DataFrame) -> pl.DataFrame:
    modifier = pl.col("discipline").replace_strict(DISCIPLINE_MODIFIER)
    billed = pl.col("units") > 0
    table = lines.select(
        visit_id=pl.coalesce("visit_id_cell", pl.col("patient_id") + "/" + pl.col("dos")),
        patient_id="patient_id", date_of_service="dos", payer="payer", line="line",
        code="code", units="units",
        modifiers=pl.when(pl.col("code_units") > 0).then(pl.concat_str(
            modifier, pl.when(pl.col("cq")).then(_ASSISTANT), "modifier", separator=" ",
            ignore_nulls=True))
        .otherwise(pl.col("modifier").fill_null("")),
        status=pl.when(~billed).then(pl.lit("not_billable"))
        .when(pl.col("denied") | pl.col("edit_denied")).then(pl.lit("denied"))
        .otherwise(pl.lit("payable")),
        status_rule=pl.when(pl.col("capped")).then(pl.lit("payer.unit_cap"))
        .when(~billed).then(_UNITS_RULE)
        .when(pl.col("edit_denied")).then(pl.col("edit_rule"))
        .when(pl.col("denied")).then(pl.lit("threshold.kx"))
        .otherwise(pl.lit(None, dtype=pl.String)), discipline="discipline",
        minutes="minutes", assistant_minutes="assistant_minutes",
        ncci_unlocked="ncci_unlocked",
        charge="charge_cents",
        fee_schedule_amount=pl.when(billed).then(pl.col("full")),
        mppr_reduction="mppr_reduction",
        charge_reduction=pl.col("fee") - pl.col("allowed"), allowed="allowed",
        deductible="deductible", coinsurance="coinsurance",
        assistant_reduction="assistant_reduction", sequestration="sequestration",
        payer_paid="payer_paid", patient_owes="patient_owes",
        reductions=pl.col("assistant_reduction") + pl.col("sequestration"),
        threshold_amount=pl.when(billed & pl.col("kx_payer") & ~pl.col("edit_denied"))
        .then(pl.col("allowed")),
        __rank="rank", __pos="visit_pos", __sub="line",
        __unpriced=pl.col("unpriced").is_not_null()
        | (pl.col("not_priced").is_not_null() & billed & ~pl.col("edit_denied")))
    # a visit without prices has no amounts at all (pricing stops before any), nor has a
    # payable line its plan's fee table leaves out
    computed = [name for name in _MONEY if name != "charge"]
    return table.with_columns(
        pl.when(~pl.col("__unpriced")).then(pl.col(name)).alias(name) for name in computed
    ).drop("__unpriced")


_ASSISTANT = pl.col("discipline").replace_strict(ASSISTANT_MODIFIER, default=None)
_UNITS_RULE = pl.when(pl.col("cms")).then(pl.lit("units.cms_total_time")) \
    .otherwise(pl.lit("units.cpt_per_code"))
# A payer without the patient's year that applies a deductible: none is taken (engine's words).
_ASSUMED = assumptions(True, False)


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


# The rules' own sentences, from each finding's figures (a struct of the ``keys`` below).
def _denial(figures: dict[str, Any]) -> str:
    return kx_denial(figures["code"], figures["tgroup"], _cents(figures["billed"]),
                     int(figures["dos"][:4]), _cents(figures["kx"]))


def _added(figures: dict[str, Any]) -> str:
    return discipline_added(DISCIPLINE_MODIFIER[figures["discipline"]], figures["code"],
                            figures["therapy_word"], figures["discipline"])


# An amount no denial reaches, to find where the rule's sentence puts the spending.
_MARK = Decimal("999999999.99")


def _usd(cents: pl.Expr) -> pl.Expr:
    """Whole cents as ``money.usd`` writes them ($1,234.50), up to a billion dollars (null
    past that)."""
    dollars = cents // 100

    def group(part: pl.Expr) -> pl.Expr:
        return part.cast(pl.String).str.zfill(3)

    whole = (pl.when(dollars < 1000).then(dollars.cast(pl.String))
             .when(dollars < 1_000_000).then(
                 (dollars // 1000).cast(pl.String) + "," + group(dollars % 1000))
             .when(dollars < 1_000_000_000).then(
                 (dollars // 1_000_000).cast(pl.String) + "," + group(dollars // 1000 % 1000)
                 + "," + group(dollars % 1000)))
    return "$" + whole + "." + (cents % 100).cast(pl.String).str.zfill(2)


def _denial_words(denials: pl.DataFrame) -> pl.DataFrame:
    """The KX denial's sentence for each denied line: the rule writes it once for each code,
    group, year and threshold (with a mark where the spending goes), and each line's spending
    is written into it; a line the mark cannot take is worded by the rule itself."""
    keys = ["code", "tgroup", "dos", "kx"]
    shapes = denials.select(keys).unique()
    mark = usd(_MARK)
    rows = []
    for code, tgroup, dos, kx in shapes.iter_rows():
        text = _denial({"code": code, "tgroup": tgroup, "billed": int(_MARK * 100),
                        "dos": dos, "kx": kx})
        before, found, after = text.partition(mark)
        rows.append((code, tgroup, dos, kx, before if found and mark not in after else None,
                     after))
    shapes = pl.DataFrame(rows, schema={**{k: denials.schema[k] for k in keys},
                                        "before": pl.String, "after": pl.String}, orient="row")
    worded = denials.join(shapes, on=keys, how="left", nulls_equal=True).with_columns(
        (pl.col("before") + _usd(pl.col("billed")) + pl.col("after"))
        .alias("message")).drop("before", "after")
    odd = worded.get_column("message").is_null()
    if odd.any():
        redone = _worded(worded.filter(odd).drop("message"), "message", _denial,
                         ["code", "tgroup", "billed", "dos", "kx"])
        worded = pl.concat([worded.filter(~odd), redone.select(worded.columns)])
    return worded


def _summed(figures: dict[str, Any]) -> str:
    alternative = dict(zip(figures["alt_codes"], figures["alt_units"], strict=True)) \
        if figures["tie"] else None
    return units_summary("cms_total_time" if figures["cms"] else "cpt_per_code",
                         figures["discipline"], figures["total"], figures["total_units"],
                         alternative)


def _worded(frame: pl.DataFrame, name: str, words: Callable[[dict[str, Any]], str],
            keys: list[str]) -> pl.DataFrame:
    """``frame`` with the sentence ``words`` gives for its ``keys`` as column ``name``,
    written once for each distinct set of figures (findings repeat a few hundred sentences
    over a file's lines) and joined on."""
    distinct = frame.select(keys).unique()
    distinct = distinct.with_columns(pl.struct(keys).map_elements(
        words, return_dtype=pl.String).alias(name))
    return frame.join(distinct, on=keys, how="left", nulls_equal=True)


def _summaries(timed: pl.DataFrame) -> pl.DataFrame:
    """One row per visit with timed lines (its first line's cells, its timed minutes, units and
    codes) and the units summary's sentence as ``message``. A visit's lines are together, so
    the sums are taken over each stretch of rows; the sentence is written once per distinct
    figures (a tie's names the other allocation too)."""
    import numpy as np

    new = (pl.col("seq") != pl.col("seq").shift(1)).fill_null(True)
    starts = timed.select(new.arg_true()).to_series().to_numpy()
    if len(starts) == 0:
        return timed.head(0).with_columns(
            pl.lit(0).alias("total"), pl.lit(0).alias("total_units"),
            pl.lit("").alias("codes"), pl.lit("").alias("message"))

    def summed(name: str) -> pl.Series:
        values = timed.get_column(name).fill_null(0).to_numpy()
        return pl.Series(name, np.add.reduceat(values, starts))

    visits = timed[starts].with_columns(
        summed("timed_minutes").alias("total"), summed("code_units").alias("total_units"),
        summed("bit").alias("timed_mask"))
    # a visit's codes in order: the bits follow the codes' order (facts.countable_codes)
    masks = visits.get_column("timed_mask").unique().to_list()
    names = dict(timed.select("bit", "code").unique().iter_rows())
    visits = visits.with_columns(pl.col("timed_mask").replace_strict(
        {mask: " ".join(names[bit] for bit in sorted(names) if mask & bit) for mask in masks},
        return_dtype=pl.String).alias("codes"))
    plain = _worded(visits.filter(~pl.col("tie")), "message", _summed,
                    ["cms", "total", "discipline", "total_units", "tie"])
    ties = visits.filter(pl.col("tie"))
    if ties.height:
        other = timed.filter(pl.col("tie")).group_by("seq").agg(
            pl.col("code").alias("alt_codes"), pl.col("alternative").alias("alt_units"))
        ties = _worded(ties.join(other, on="seq", how="left"), "message", _summed,
                       ["cms", "total", "discipline", "total_units", "tie", "alt_codes",
                        "alt_units"]).drop("alt_codes", "alt_units")
    else:
        ties = ties.with_columns(pl.lit("").alias("message"))
    return pl.concat([plain, ties])  # (the findings are put in order together)


def _limit_findings(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """The findings of a payer's pairs and daily cap, as ``_EDIT_FINDING`` fields beside the
    line's own columns (the rules' sentences, worked out once each)."""
    pairs = _denied_pairs(facts)
    denied = lines.filter(pl.col("pair").is_not_null())
    said = pl.DataFrame(
        [(number, _PAIRS_AT + index * 128, f"{pair.column_1} {pair.column_2}",
          pair_denial(facts.policies[payer].name, pair.column_2, pair.column_1,
                      pair.modifier_unlocks), pair.source)
         for number, (payer, index, pair) in enumerate(pairs)],
        schema={"pair": pl.Int64, "at": pl.Int64, "codes": pl.String, "message": pl.String,
                "source": pl.String}, orient="row")
    denied = denied.join(said, on="pair", how="left").with_columns(
        (pl.col("at") + pl.col("line")).alias("order"), pl.lit("payer.pair").alias("rule"),
        pl.lit("error").alias("severity"), pl.lit(False).alias("own"),
        pl.col("line").alias("own_line")).drop("at")
    cut = lines.filter(pl.col("cap_cut").is_not_null())
    words = {(n, code, cap): cap_cut(n, code, cap, "", "highest_paying") for n, code, cap in
             cut.select("cap_cut", "code", "unit_cap").unique().iter_rows()}
    sources = {name: policy.unit_cap.source for name, policy in facts.policies.items()
               if policy.unit_cap is not None}
    cut = cut.with_columns(
        (_CAP_AT + pl.col("cap_place")).alias("order"), pl.lit("payer.unit_cap").alias("rule"),
        pl.lit("warning").alias("severity"), pl.col("code").alias("codes"),
        pl.struct("cap_cut", "code", "unit_cap").map_elements(
            lambda f: words[(f["cap_cut"], f["code"], f["unit_cap"])], return_dtype=pl.String)
        .alias("message"),
        pl.col("payer").replace_strict(sources, default=None, return_dtype=pl.String)
        .alias("source"), pl.lit(True).alias("own"), pl.col("line").alias("own_line"))
    return pl.concat([denied, cut], how="diagonal_relaxed")


# The columns of the covered lines that findings are made of.
_FINDING_CELLS = [
    "visit_id_cell", "patient_id", "dos", "payer", "seq", "rank", "visit_pos", "line", "piece",
    "code", "discipline", "units", "kx_payer", "deductible_payer", "timed", "timed_minutes",
    "code_units", "bit", "tie", "cms", "alternative", "therapy_word", "unpriced", "denied",
    "tgroup", "billed", "kx", "kx_source", "assistant_note", "assistant_source", "not_priced",
    "not_priced_source", "ncci_denied", "ncci", "pair", "cap_cut", "cap_place", "unit_cap"]


def _finding_table(lines: pl.DataFrame, facts: Facts) -> pl.DataFrame:
    """Per visit, in the engine's order: what was assumed (a payer without the patient's year
    that applies a deductible: none left), the units' summary (when it has timed lines), the
    discipline modifier each line was given, the CQ/CO units, the NCCI pairs, the payer's
    pairs and daily cap, a code the fee table leaves out, the KX denials, and a locality
    without prices."""
    # Each finding names its visit by its place among the lines' visits (``vix``: they come
    # in order, a visit's lines together); the visits' own cells are joined on at the end.
    lines = lines.select(_FINDING_CELLS).with_columns(
        ((pl.col("seq") != pl.col("seq").shift(1)).fill_null(True).cum_sum() - 1)
        .alias("vix"))
    head = {"vix": pl.col("vix")}
    assumed = lines.filter(~pl.col("kx_payer") & pl.col("deductible_payer")).unique(
        "seq", keep="first").select(
        **head, line=pl.lit(None, dtype=pl.Int64), rule=pl.lit("input.assumed"),
        severity=pl.lit("info"), codes=pl.lit(""),
        message=pl.lit(_ASSUMED),
        source=pl.lit("therabill visit format"), __order=pl.lit(-2, dtype=pl.Int64))
    first = lines.filter(pl.col("piece") == 0)  # each line as billed, before a CQ/CO split
    timed = _summaries(first.filter(pl.col("timed")))
    summary = timed.select(
        **head, line=pl.lit(None, dtype=pl.Int64), rule=_UNITS_RULE,
        severity=pl.lit("info"), codes=pl.col("codes"),
        message="message",
        source=pl.when(pl.col("cms")).then(pl.lit(sources.CPM5_20_2))
        .otherwise(pl.lit("CPT time rule (midpoint per code), payer policy")),
        __order=pl.lit(-1, dtype=pl.Int64))
    settled = _worded(first.filter(pl.col("code_units") > 0), "message", _added,
                      ["code", "therapy_word", "discipline"])
    settled = settled.select(
        **head, line="line", rule=pl.lit("modifier.discipline"), severity=pl.lit("warning"),
        codes=pl.col("code"), message="message",
        source=pl.lit(sources.CPM5_20_1), __order="line")
    unpriced = lines.filter(pl.col("unpriced").is_not_null()).unique("seq", keep="first") \
        .select(**head, line=pl.lit(None, dtype=pl.Int64), rule=pl.lit("input"),
                severity=pl.lit("error"), codes=pl.lit(""),
                message=(pl.lit("not priced: ") + pl.col("unpriced")),
                source=pl.lit("therabill reference data"),
                __order=pl.lit(1 << 30, dtype=pl.Int64))
    denials = lines.filter(pl.col("denied"))
    if denials.height:
        denials = _denial_words(denials)
    denials = denials.select(
        **head, line="line", rule=pl.lit("threshold.kx"), severity=pl.lit("error"),
        codes=pl.col("code"),
        message=pl.col("message") if denials.height else pl.lit(""),
        source=pl.col("kx_source"), __order=pl.col("line") + (1 << 20))
    helped = lines.filter(pl.col("assistant_note").is_not_null()).select(
        **head, line="line", rule=pl.lit("modifier.assistant"), severity=pl.lit("warning"),
        codes=pl.col("code"),
        message=pl.col("assistant_note"), source="assistant_source",
        __order=pl.col("line") + (1 << 18))
    # a code the plan's fee table leaves out, on each of its billed lines (the finding is
    # the line's step, so it names the code's first line)
    unlisted = lines.filter(pl.col("not_priced").is_not_null() & (pl.col("units") > 0)) \
        .select(**head, line=pl.col("line").min().over("seq", "code"),
                rule=pl.lit("pricing.not_priced"), severity=pl.lit("warning"),
                codes=pl.col("code"),
                message=pl.col("not_priced"),
                source="not_priced_source",
                __order=pl.col("line") + (1 << 19) + _PRICING_AT)
    ncci = lines.filter(pl.col("ncci_denied")).join(_ncci_findings(facts), on="ncci")
    edits = pl.concat([
        ncci.explode("edit_findings").with_columns(pl.col("line").alias("own_line"))
        .unnest("edit_findings"),
        _limit_findings(lines, facts)], how="diagonal_relaxed").select(
        **head, line=pl.when(pl.col("own")).then(pl.col("own_line")), rule="rule",
        severity="severity", codes=pl.col("codes"),
        message=pl.col("message"), source="source",
        __order=pl.col("order") + (1 << 19))
    table = pl.concat([assumed, summary, settled, helped, edits, unlisted, denials, unpriced],
                      how="vertical_relaxed").sort("vix", "__order")
    # each finding's place in its visit (a visit's findings are together)
    start = pl.when((pl.col("vix") != pl.col("vix").shift(1)).fill_null(True)) \
        .then(pl.int_range(pl.len())).forward_fill()
    table = table.with_columns((pl.int_range(pl.len()) - start).alias("__sub"))
    visits = lines.unique("vix", keep="first", maintain_order=True).select(
        visit_id=pl.coalesce("visit_id_cell", pl.col("patient_id") + "/" + pl.col("dos")),
        patient_id="patient_id", date_of_service="dos", payer="payer", __rank="rank",
        __pos="visit_pos")
    found = visits[table.get_column("vix")]
    return pl.concat([found, table.drop("vix", "__order")], how="horizontal")


__all__ = ["Plan", "candidate_lines", "scan"]
