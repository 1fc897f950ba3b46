"""``history``: what codes paid, release by release, and why it changed.

One row per RVU release held (the January release of each year, plus mid-year releases such as
RVU24C) and one per mid-year conversion-factor change (2024-03-09, Consolidated Appropriations
Act, 2024). Each row prices one unit with the RVUs of that release, the CF of the dated parameter
``conversion_factor`` on the row's date, and the GPCIs of that year (work floor applied as
``pricing.context`` does), national unless a locality is given.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from therabill.guide.facts import (
    NATIONAL,
    ConversionFactor,
    GuideError,
    Model,
    Place,
    Rvus,
    day_terms,
    held_years,
    parse_code,
    price_code,
    rvu_source,
    rvus_of,
)
from therabill.reference.records import RvuRelease
from therabill.reference.store import ReferenceData


class HistoryPoint(Model):
    code: str
    status: str | None
    rvus: Rvus | None
    full: Decimal | None  # one unit, PE paid in full
    reduced: Decimal | None  # one unit after the therapy MPPR
    note: str


class HistoryRow(Model):
    effective_from: date
    label: str
    why: str
    rvu_release: str
    rvu_source: str
    conversion_factor: ConversionFactor
    place: Place | None  # None when the locality is not in that year's GPCI file
    points: list[HistoryPoint]


class History(Model):
    codes: list[str]
    locality: str
    from_year: int
    to_year: int
    rows: list[HistoryRow]
    notes: list[str]
    plot: str | None = None  # the chart file, when one was drawn


def _row_dates(reference: ReferenceData, first: int, last: int) -> list[tuple[date, str]]:
    """Release starts and conversion-factor changes in the years asked for, with the reason."""
    found: dict[date, str] = {}
    for period in reference.parameters["conversion_factor"].periods():
        start = period.effective_from
        if first <= start.year <= last and reference.rvu_release(start) is not None:
            found[start] = f"conversion factor {period.value} from {start} ({period.source})"
    for release in reference.rvu:
        if first <= release.effective_from.year <= last:
            found[release.effective_from] = f"{release.release_id} takes effect"
    return sorted(found.items())


def _label(day: date, release: RvuRelease) -> str:
    return f"{day:%Y %b}" if day == release.effective_from else day.isoformat()


def _row(reference: ReferenceData, codes: list[str], day: date, why: str, locality: str
         ) -> tuple[HistoryRow, str]:
    release = reference.rvu_release(day)
    assert release is not None  # _row_dates keeps only days with a release
    national = day_terms(reference, day, NATIONAL)
    problem = ""
    try:
        place = day_terms(reference, day, locality).place
    except GuideError as exc:
        place, problem = None, str(exc)
    points = []
    for code in codes:
        record = release.records.get((code, ""))
        if place is None:
            full = reduced = None
            note = problem
        else:
            price = price_code(reference, release, code, day, locality)
            full, reduced, note = price.full, price.reduced, "" if price.payable else price.note
        points.append(HistoryPoint(code=code, status=record.status if record else None,
                                   rvus=rvus_of(record) if record else None, full=full,
                                   reduced=reduced, note=note))
    row = HistoryRow(effective_from=day, label=_label(day, release), why=why,
                     rvu_release=release.release_id, rvu_source=rvu_source(release),
                     conversion_factor=national.conversion_factor, place=place, points=points)
    return row, problem


def code_history(codes: list[str], from_year: int | None, to_year: int | None, locality: str,
                 reference: ReferenceData) -> History:
    """Payment per release for ``codes`` (raises GuideError when it cannot)."""
    parsed = list(dict.fromkeys(parse_code(code, reference) for code in codes))
    if not parsed:
        raise GuideError("history needs at least one code")
    held_first, held_last = held_years(reference)
    first = held_first if from_year is None else from_year
    last = held_last if to_year is None else to_year
    for year in (first, last):
        if not held_first <= year <= held_last:
            raise GuideError(f"no CMS RVU file is held for {year}: therabill has {held_first} "
                             f"to {held_last}")
    if first > last:
        raise GuideError(f"--from {first} is after --to {last}")
    rows, problems = [], []
    for day, why in _row_dates(reference, first, last):
        row, problem = _row(reference, parsed, day, why, locality)
        rows.append(row)
        if problem:
            problems.append(problem)
    if problems and len(problems) == len(rows):
        raise GuideError(problems[0])
    # Known in some years only (localities were renumbered): say which years have no amount.
    notes = [f"{locality} is not in the CMS GPCI file of {year}: no local amount that year"
             for year in dict.fromkeys(row.effective_from.year for row in rows
                                       if row.place is None)]
    notes.append("Amounts are one unit before deductible, coinsurance, sequestration and CQ/CO; "
                 "each row holds until the next (CMS Pub 100-04 ch.12)")
    return History(codes=parsed, locality=locality, from_year=first, to_year=last, rows=rows,
                   notes=notes)
