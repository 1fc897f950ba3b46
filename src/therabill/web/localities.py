"""Find a Medicare locality by state, county or city name in the bundled locality crosswalk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from therabill.reference.store import ReferenceData

# Two-letter postal codes, so "CA" or "tx houston" find their state's localities.
STATES = {
    "AL": "ALABAMA", "AK": "ALASKA", "AZ": "ARIZONA", "AR": "ARKANSAS", "CA": "CALIFORNIA",
    "CO": "COLORADO", "CT": "CONNECTICUT", "DE": "DELAWARE", "DC": "DISTRICT OF COLUMBIA",
    "FL": "FLORIDA", "GA": "GEORGIA", "HI": "HAWAII", "ID": "IDAHO", "IL": "ILLINOIS",
    "IN": "INDIANA", "IA": "IOWA", "KS": "KANSAS", "KY": "KENTUCKY", "LA": "LOUISIANA",
    "ME": "MAINE", "MD": "MARYLAND", "MA": "MASSACHUSETTS", "MI": "MICHIGAN", "MN": "MINNESOTA",
    "MS": "MISSISSIPPI", "MO": "MISSOURI", "MT": "MONTANA", "NE": "NEBRASKA", "NV": "NEVADA",
    "NH": "NEW HAMPSHIRE", "NJ": "NEW JERSEY", "NM": "NEW MEXICO", "NY": "NEW YORK",
    "NC": "NORTH CAROLINA", "ND": "NORTH DAKOTA", "OH": "OHIO", "OK": "OKLAHOMA", "OR": "OREGON",
    "PA": "PENNSYLVANIA", "RI": "RHODE ISLAND", "SC": "SOUTH CAROLINA", "SD": "SOUTH DAKOTA",
    "TN": "TENNESSEE", "TX": "TEXAS", "UT": "UTAH", "VT": "VERMONT", "VA": "VIRGINIA",
    "WA": "WASHINGTON", "WV": "WEST VIRGINIA", "WI": "WISCONSIN", "WY": "WYOMING",
    "PR": "PUERTO RICO", "VI": "VIRGIN ISLANDS", "GU": "GUAM", "AS": "AMERICAN SAMOA",
    "MP": "NORTHERN MARIANA ISLANDS",
}
_WORD = re.compile(r"[A-Z0-9-]+")


@dataclass(frozen=True, slots=True)
class Locality:
    locality: str  # MMMMM-LL, as the visit's ``locality`` field takes it
    name: str  # the GPCI file's locality name
    state: str
    fee_schedule_area: str
    counties: str
    year: int


def crosswalk_year(reference: ReferenceData, year: int | None = None) -> int | None:
    """The year asked for, or the newest crosswalk not after this year (else the newest)."""
    years = sorted(reference.localities)
    if not years:
        return None
    if year is not None:
        return year if year in reference.localities else None
    current = [y for y in years if y <= date.today().year]
    return (current or years)[-1]


def all_localities(reference: ReferenceData, year: int) -> list[Locality]:
    crosswalk = reference.localities[year]
    found: dict[str, Locality] = {}
    for row in crosswalk.rows:
        entry = found.get(row.locality_id)
        if entry is None:
            name = reference.locality_name(row.locality_id, year) or row.fee_schedule_area
            found[row.locality_id] = Locality(row.locality_id, name, row.state,
                                              row.fee_schedule_area, row.counties, year)
        else:  # a locality listed over several rows: join its counties
            found[row.locality_id] = Locality(
                entry.locality, entry.name, entry.state, entry.fee_schedule_area,
                f"{entry.counties}, {row.counties}", year)
    return list(found.values())


def search_localities(reference: ReferenceData, query: str, year: int,
                      limit: int = 50) -> list[Locality]:
    """Localities whose state, area, counties or name hold every word of ``query``.

    A word that is a state's postal code also matches that state's name; a locality id
    (``01182-18``) matches itself.
    """
    words = _WORD.findall(query.upper())
    if not words:
        return []
    found = []
    for entry in all_localities(reference, year):
        text = " ".join((entry.locality, entry.name, entry.state, entry.fee_schedule_area,
                         entry.counties)).upper()
        if all(word in text or STATES.get(word) == entry.state for word in words):
            found.append(entry)
    # Whole-word matches on the state first, then by id.
    found.sort(key=lambda e: (not any(w == e.state or STATES.get(w) == e.state
                                      for w in words), e.state, e.locality))
    return found[:limit]
