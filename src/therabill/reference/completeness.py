"""Is an official file whole? What a complete release of its kind holds, checked before import.

A file is taken as a complete release only when it holds what every complete release of its kind
held: a row count in the range of its year, the code range a whole file spans, every therapy
code that every whole release held carries, and (GPCI) every locality of that year's crosswalk.
Otherwise the reason is returned: the import refuses it, or with ``--partial`` records it as
partial, and results that use it say so.

The figures below were measured on the whole CMS files of 2017-2026 (``../shared/cms``); a test
reads those files and checks every one passes, and that truncated copies do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from therabill.reference.records import (
    GpciRelease,
    LocalityCrosswalk,
    MueRelease,
    PtpRelease,
    RvuRelease,
)
from therabill.reference.tables import Release

# Whole PPRRVU files: 16,478 rows in January 2017, rising about 300 a year to 19,090 in October
# 2025; a release may fall 10% under or rise 15% over that line and still be whole.
RVU_ROWS_2017 = 16_478
RVU_ROWS_PER_YEAR = 300
RVU_BELOW, RVU_ABOVE = 0.90, 1.15
# Every whole file runs from the 0xxxx codes (0001A/0001F) to the V codes (V5364).
RVU_FIRST_PREFIX, RVU_LAST_PREFIX = "0", "V"
# The practitioner PTP table of a quarter holds some 2.5 million edits over its parts; the
# practitioner MUE table some 13,000 codes.
PTP_MIN_ROWS = 1_000_000
MUE_MIN_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class Held:
    """What the releases already held say a whole release contains."""

    rvu_codes: frozenset[str]  # therapy codes in every whole RVU release held
    ptp_column_1: frozenset[str]  # column-1 codes in every PTP release held
    mue_codes: frozenset[str]  # codes in every MUE release held
    crosswalks: Mapping[int, LocalityCrosswalk]
    gpcis: Mapping[int, GpciRelease]

    @classmethod
    def of(cls, releases: Iterable[Release]) -> Held:
        rvu: list[frozenset[str]] = []
        ptp: list[frozenset[str]] = []
        mue: list[frozenset[str]] = []
        crosswalks: dict[int, LocalityCrosswalk] = {}
        gpcis: dict[int, GpciRelease] = {}
        for release in releases:
            if isinstance(release, RvuRelease) and release.source.rows >= rvu_bounds(
                    release.effective_from.year)[0]:
                rvu.append(frozenset(code for code, _ in release.records))
            elif isinstance(release, PtpRelease):
                ptp.append(frozenset(edit.column_1 for edit in release.edits))
            elif isinstance(release, MueRelease):
                mue.append(frozenset(release.records))
            elif isinstance(release, LocalityCrosswalk):
                crosswalks[release.year] = release
            elif isinstance(release, GpciRelease):
                gpcis[release.year] = release
        return cls(_every(rvu), _every(ptp), _every(mue), crosswalks, gpcis)


def _every(sets: list[frozenset[str]]) -> frozenset[str]:
    return frozenset.intersection(*sets) if sets else frozenset()


def rvu_bounds(year: int) -> tuple[int, int]:
    expected = RVU_ROWS_2017 + RVU_ROWS_PER_YEAR * (year - 2017)
    return int(expected * RVU_BELOW), int(expected * RVU_ABOVE)


def _missing(required: frozenset[str], present: Iterable[str], what: str) -> str:
    absent = sorted(required - set(present))
    if not absent:
        return ""
    shown = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
    return f"{what} every whole release held has are missing: {shown}"


def incomplete(release: Release, held: Held, ptp_whole_rows: int | None = None,
               crosswalks: Mapping[int, LocalityCrosswalk] | None = None,
               gpcis: Mapping[int, GpciRelease] | None = None) -> str:
    """Why ``release`` (read from the file, before any filtering) is not a whole release; ""
    when it is. ``ptp_whole_rows`` is the edit count of all parts given together."""
    if isinstance(release, RvuRelease):
        low, high = rvu_bounds(release.effective_from.year)
        rows = len(release.records)
        if not low <= rows <= high:
            return (f"{rows} rows; a whole {release.effective_from.year} RVU file has "
                    f"{low}-{high}")
        codes = sorted(code for code, _ in release.records)
        if not (codes[0].startswith(RVU_FIRST_PREFIX) and codes[-1].startswith(RVU_LAST_PREFIX)):
            return (f"codes run {codes[0]}-{codes[-1]}; a whole RVU file runs from "
                    f"{RVU_FIRST_PREFIX}xxxx to {RVU_LAST_PREFIX}xxxx codes")
        return _missing(held.rvu_codes, codes, "therapy codes")
    if isinstance(release, GpciRelease):
        both = {**held.crosswalks, **(crosswalks or {})}
        crosswalk = both.get(release.year)
        if crosswalk is None:
            return ""  # no crosswalk of that year to check against; the row bounds held
        expected = frozenset(row.locality_id for row in crosswalk.rows)
        return _missing(expected, release.records,
                        f"localities of the {release.year} crosswalk ({crosswalk.release_id})"
                        ).replace(" every whole release held has", "")
    if isinstance(release, PtpRelease):
        rows = ptp_whole_rows if ptp_whole_rows is not None else len(release.edits)
        if rows < PTP_MIN_ROWS:
            return (f"{rows} edits; a whole quarter's practitioner PTP table (all its parts "
                    f"together) has over {PTP_MIN_ROWS:,}")
        return _missing(held.ptp_column_1, (e.column_1 for e in release.edits),
                        "column-1 therapy codes")
    if isinstance(release, MueRelease):
        if len(release.records) < MUE_MIN_ROWS:
            return (f"{len(release.records)} codes; a whole practitioner MUE table has over "
                    f"{MUE_MIN_ROWS:,}")
        return _missing(held.mue_codes, release.records, "therapy codes")
    if isinstance(release, LocalityCrosswalk):
        gpci = {**held.gpcis, **(gpcis or {})}.get(release.year)
        if gpci is None:
            return ""  # no GPCI file of that year to check against; the row bounds held
        return _missing(frozenset(gpci.records), (row.locality_id for row in release.rows),
                        f"localities of the {release.year} GPCI file ({gpci.release_id})"
                        ).replace(" every whole release held has", "")
    return ""


def coverage(release: Release) -> list[list[str]]:
    """The code range(s) a partial PTP or MUE release covers (column 1 for PTP, one range per
    part), before any filtering: outside them the newest complete table answers."""
    if isinstance(release, PtpRelease):
        codes = [edit.column_1 for edit in release.edits]
    elif isinstance(release, MueRelease):
        codes = list(release.records)
    elif isinstance(release, RvuRelease):
        codes = [code for code, _ in release.records]
    else:
        return []
    return [[min(codes), max(codes)]] if codes else []
