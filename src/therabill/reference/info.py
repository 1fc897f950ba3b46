"""What is loaded, the dates each release covers, its source: data for ``therabill data info``.

The command line prints it (``therabill.cli_views.info``); nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from therabill.reference.records import (
    GpciRelease,
    LocalityCrosswalk,
    MueRelease,
    PtpRelease,
    RvuRelease,
)
from therabill.reference.store import ReferenceData
from therabill.reference.tables import KIND_OF, Release


def _covers(release: Release, following: date | None) -> str:
    if isinstance(release, GpciRelease | LocalityCrosswalk):
        return f"{release.year}-01-01 … {release.year}-12-31"
    start = release.effective_from
    if following is not None:
        end = date.fromordinal(following.toordinal() - 1).isoformat()
    elif KIND_OF[type(release)] == "rvu":
        end = f"{start.year}-12-31"
    else:
        end = "(newest: applied to later dates, with a note)"
    return f"{start} … {end}"


def release_rows(reference: ReferenceData) -> list[dict[str, Any]]:
    rows = []
    dated: tuple[tuple[str, Sequence[RvuRelease | PtpRelease | MueRelease]], ...] = (
        ("rvu", reference.rvu), ("ptp", reference.ptp), ("mue", reference.mue))
    for kind, series in dated:
        for index, release in enumerate(series):
            following = series[index + 1].effective_from if index + 1 < len(series) else None
            if kind == "rvu" and following and following.year != release.effective_from.year:
                following = date(release.effective_from.year + 1, 1, 1)
            rows.append(_row(kind, release, _covers(release, following), reference))
    yearly: list[GpciRelease | LocalityCrosswalk] = [*reference.gpci.values(),
                                                     *reference.localities.values()]
    for year_release in yearly:
        rows.append(_row(KIND_OF[type(year_release)], year_release,
                         _covers(year_release, None), reference))
    return rows


def _partial(release: Release, reference: ReferenceData) -> str:
    """What part of a partial release is held ("" for a whole one)."""
    covers = reference.partial.get(release.release_id)
    if covers is None:
        return ""
    ranges = ", ".join(f"{low}–{high}" for low, high in covers) or "unknown codes"
    return f"partial: {ranges}"


def _row(kind: str, release: Release, covers: str, reference: ReferenceData) -> dict[str, Any]:
    return {"kind": kind, "release": release.release_id, "covers": covers,
            "partial": _partial(release, reference),
            "rows": release.source.rows, "source_file": release.source.file_name,
            "sha256": release.source.sha256,
            "origin": reference.origin.get(release.release_id, "bundled"),
            "caveat": getattr(release, "caveat", "") or release.source.note}


def parameter_rows(reference: ReferenceData) -> list[dict[str, Any]]:
    rows = []
    for name, parameter in sorted(reference.parameters.by_name.items()):
        for period in parameter.periods():
            rows.append({"parameter": name, "value": str(period.value),
                         "from": period.effective_from.isoformat(),
                         "to": period.effective_to.isoformat() if period.effective_to else None,
                         "source": period.source, "note": period.note})
    return rows


def info_json(reference: ReferenceData) -> dict[str, Any]:
    return {"releases": release_rows(reference), "parameters": parameter_rows(reference),
            "catalogue_codes": len(reference.catalogue.codes()),
            "problems": list(reference.problems)}
