"""Reference data by date of service: the bundled tables overlaid with the user's imports.

Look-ups are in-process dictionaries and bisections, built once: batch jobs send millions of lines
through them. A user's imported release replaces a bundled one of the same id and, being newer,
takes precedence from its own effective date on.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from therabill.reference.catalogue import Catalogue, load_catalogue
from therabill.reference.parameters import Parameters, load_parameters
from therabill.reference.paths import BUNDLED_DIR, DataDirError, user_data_dir
from therabill.reference.records import (
    GpciRecord,
    GpciRelease,
    LocalityCrosswalk,
    MueRelease,
    PtpEdit,
    PtpRelease,
    RvuRecord,
    RvuRelease,
)
from therabill.reference.tables import Release, read_manifest, read_release

QUARTER = timedelta(days=92)
T = TypeVar("T")
R = TypeVar("R", PtpRelease, MueRelease)


@dataclass(frozen=True, slots=True)
class EditTable:
    """A PTP release indexed by code pair, for one look-up per pair of codes on a visit."""

    release: PtpRelease
    by_pair: dict[tuple[str, str], tuple[PtpEdit, ...]]
    by_code: dict[str, tuple[PtpEdit, ...]]

    @classmethod
    def of(cls, release: PtpRelease) -> EditTable:
        by_pair: dict[tuple[str, str], list[PtpEdit]] = {}
        by_code: dict[str, list[PtpEdit]] = {}
        for edit in release.edits:
            by_pair.setdefault((edit.column_1, edit.column_2), []).append(edit)
            by_code.setdefault(edit.column_1, []).append(edit)
            by_code.setdefault(edit.column_2, []).append(edit)
        return cls(release, {k: tuple(v) for k, v in by_pair.items()},
                   {k: tuple(v) for k, v in by_code.items()})


@dataclass(frozen=True, slots=True)
class Dated(Generic[T]):
    """What a look-up by date found, and how well the table covers that date."""

    value: T
    note: str = ""  # non-empty when the table is applied outside the period it was published for
    warning: str = ""  # non-empty when the table is partial: said as a warning finding too


class DataDirWarning(UserWarning):
    """The user's data directory is damaged: its imports are not used, the bundled data is."""


Coverage = tuple[tuple[str, str], ...]


def _covered(code: str, covers: Coverage) -> bool:
    return any(low <= code <= high for low, high in covers)


def _whole(base: PtpRelease | MueRelease, partial: PtpRelease | MueRelease) -> str:
    if base.release_id == partial.release_id:
        return f"the whole {base.release_id} held before the part was imported"
    return f"{base.release_id} (effective {base.effective_from}), the newest complete table"


def _ranges(covers: Coverage) -> str:
    return ", ".join(f"{low}–{high}" if low != high else low for low, high in covers)


@dataclass
class ReferenceData:
    rvu: list[RvuRelease]
    gpci: dict[int, GpciRelease]
    localities: dict[int, LocalityCrosswalk]
    ptp: list[PtpRelease]
    mue: list[MueRelease]
    catalogue: Catalogue
    parameters: Parameters
    origin: dict[str, str] = field(default_factory=dict)  # release id -> "bundled" | "imported"
    # release id -> code ranges held, for releases imported in part (PTP: column-1 codes)
    partial: dict[str, Coverage] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why the user's imports are not used
    # release id -> the whole release of the same id a partial import was laid over
    whole_of: dict[str, Release] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rvu.sort(key=lambda r: r.effective_from)
        self.ptp.sort(key=lambda r: r.effective_from)
        self.mue.sort(key=lambda r: r.effective_from)
        self._rvu_starts = [r.effective_from for r in self.rvu]
        self._ptp_starts = [r.effective_from for r in self.ptp]
        self._mue_starts = [r.effective_from for r in self.mue]
        self._edit_tables: dict[str, EditTable] = {}
        self._partial_mue: dict[str, MueRelease] = {}

    # -- fee schedule ---------------------------------------------------------------------
    def rvu_release(self, dos: date) -> RvuRelease | None:
        """The RVU release in force: the newest one of the same calendar year not after ``dos``."""
        index = bisect.bisect_right(self._rvu_starts, dos) - 1
        if index < 0:
            return None
        release = self.rvu[index]
        return release if release.effective_from.year == dos.year else None

    def rvu_record(self, code: str, dos: date, modifier: str = "") -> RvuRecord | None:
        release = self.rvu_release(dos)
        return None if release is None else release.records.get((code, modifier))

    def gpci_release(self, dos: date) -> GpciRelease | None:
        return self.gpci.get(dos.year)

    def gpci_record(self, locality_id: str, dos: date) -> GpciRecord | None:
        release = self.gpci.get(dos.year)
        return None if release is None else release.records.get(locality_id)

    # -- NCCI -----------------------------------------------------------------------------
    def edit_table(self, dos: date) -> Dated[EditTable] | None:
        if not self.ptp:
            return None
        index = bisect.bisect_right(self._ptp_starts, dos) - 1
        if index < 0:
            release = self.ptp[0]
            note = (f"{release.release_id} is the oldest edit table held; for a date before "
                    f"{release.effective_from} its edits are applied, but when each edit started "
                    "is unknown, so an edit may not yet have been in force")
        else:
            release = self.ptp[index]
            note = ""
            if index == len(self.ptp) - 1 and dos >= release.effective_from + QUARTER:
                note = (f"no edit table is loaded for this quarter; {release.release_id} "
                        f"(effective {release.effective_from}) is the newest held and is applied")
        covers = self.partial.get(release.release_id)
        if covers is not None:
            return self._partial_edit_table(release, covers, note)
        table = self._edit_tables.get(release.release_id)
        if table is None:
            table = self._edit_tables[release.release_id] = EditTable.of(release)
        return Dated(table, note)

    def _newest_complete(self, series: list[R], partial: R) -> R | None:
        """What answers beside a partial release: the whole release of the same id it was
        laid over, else the newest whole one in force before it."""
        same = self.whole_of.get(partial.release_id)
        if isinstance(same, type(partial)):
            return same
        complete = [r for r in series if r.release_id not in self.partial
                    and r.effective_from <= partial.effective_from]
        return complete[-1] if complete else None

    def _partial_edit_table(self, release: PtpRelease, covers: Coverage, note: str
                            ) -> Dated[EditTable]:
        """A partial PTP release answers for the column-1 codes it covers; the newest complete
        table before it answers for the rest, and the result says so."""
        base = self._newest_complete(self.ptp, release)
        key = f"{release.release_id}+{base.release_id if base else ''}"
        table = self._edit_tables.get(key)
        if table is None:
            kept = tuple(e for e in (base.edits if base else ())
                         if not _covered(e.column_1, covers))
            table = self._edit_tables[key] = EditTable.of(
                replace(release, edits=release.edits + kept))
        rest = (f"pairs with another column-1 code are checked against {_whole(base, release)}"
                if base else "no complete table is held for the other pairs, so they are not "
                "checked")
        warning = (f"the NCCI PTP table {release.release_id} was imported in part (column-1 "
                   f"codes {_ranges(covers)} only); {rest}")
        return Dated(table, "; ".join(n for n in (note, warning) if n), warning)

    def mue_release(self, dos: date) -> Dated[MueRelease] | None:
        if not self.mue:
            return None
        index = bisect.bisect_right(self._mue_starts, dos) - 1
        release = self.mue[max(index, 0)]
        note = ""
        if index < 0:
            note = (f"{release.release_id} is the oldest MUE table held; applied to an earlier "
                    "date, its values may differ from those then in force")
        elif index == len(self.mue) - 1 and dos >= release.effective_from + QUARTER:
            note = (f"no MUE table is loaded for this quarter; {release.release_id} is the "
                    "newest held and is applied")
        covers = self.partial.get(release.release_id)
        if covers is None:
            return Dated(release, note)
        base = self._newest_complete(self.mue, release)
        combined = self._partial_mue.get(release.release_id)
        if combined is None:
            records = {code: record for code, record in (base.records if base else {}).items()
                       if not _covered(code, covers)}
            records.update(release.records)
            combined = self._partial_mue[release.release_id] = replace(release, records=records)
        rest = (f"other codes take their values from {_whole(base, release)}" if base
                else "no complete table is held for the other codes")
        warning = (f"the NCCI MUE table {release.release_id} was imported in part (codes "
                   f"{_ranges(covers)} only); {rest}")
        return Dated(combined, "; ".join(n for n in (note, warning) if n), warning)

    # -- what is known about a code ------------------------------------------------------
    @cached_property
    def known_codes(self) -> frozenset[str]:
        codes = set(self.catalogue.codes())
        for release in self.rvu:
            codes.update(code for code, _ in release.records)
        return frozenset(codes)

    def locality_name(self, locality_id: str, year: int) -> str | None:
        release = self.gpci.get(year)
        record = release.records.get(locality_id) if release else None
        return record.name if record else None

    def releases(self) -> list[Release]:
        return [*self.rvu, *self.gpci.values(), *self.localities.values(), *self.ptp, *self.mue]


def _load_dir(directory: Path, origin: str, into: dict[str, tuple[Release, str]],
              partial: dict[str, Coverage], whole_of: dict[str, Release]) -> None:
    found: dict[str, tuple[Release, str]] = {}
    covers: dict[str, Coverage] = {}
    for entry in read_manifest(directory):
        release = read_release(directory, entry)
        found[f"{entry['kind']}:{entry['release_id']}"] = (release, origin)
        if entry.get("partial"):
            covers[release.release_id] = _coverage(entry.get("covers"))
    for key, (release, _) in found.items():
        earlier = into.get(key)
        if release.release_id in covers and earlier is not None and (
                release.release_id not in partial):
            whole_of[release.release_id] = earlier[0]  # a part laid over a whole release
    into.update(found)  # all or nothing: a damaged directory adds none of its releases
    for _, (release, _) in found.items():
        partial.pop(release.release_id, None)
    partial.update(covers)


def _coverage(value: object) -> Coverage:
    if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(c, str) for c in pair)
            for pair in value):
        return ()
    return tuple((low, high) for low, high in value)


def load_reference(data_dir: Path | None = None) -> ReferenceData:
    """Bundled tables, then the user's imports on top (same release id: the import wins).

    When the user's data directory is damaged (a manifest or table that cannot be read), none of
    its releases are used: the bundled data answers, ``problems`` says why and how to repair it,
    and a :class:`DataDirWarning` carries the same line.
    """
    from therabill.reference.datadir import damaged_hint

    found: dict[str, tuple[Release, str]] = {}
    partial: dict[str, Coverage] = {}
    problems: list[str] = []
    whole_of: dict[str, Release] = {}
    _load_dir(BUNDLED_DIR, "bundled", found, partial, whole_of)
    directory = data_dir if data_dir is not None else user_data_dir()
    for attempt in (1, 2):
        try:
            _load_dir(directory, "imported", found, partial, whole_of)
            break
        except DataDirError as error:
            # An import that finished while we read may have removed a table the old manifest
            # named; the new manifest is whole, so read once more before calling it damaged.
            if attempt == 2:
                problems.append(f"{error}; the bundled data is used meanwhile")
    hint = damaged_hint(directory)
    if hint:
        problems.append(hint)
    for problem in problems:
        warnings.warn(problem, DataDirWarning, stacklevel=2)
    rvu, ptp, mue = [], [], []
    gpci: dict[int, GpciRelease] = {}
    localities: dict[int, LocalityCrosswalk] = {}
    origin: dict[str, str] = {}
    for release, where in found.values():
        origin[release.release_id] = where
        if isinstance(release, RvuRelease):
            rvu.append(_laid_over(release, partial, whole_of, found.values()))
        elif isinstance(release, GpciRelease):
            gpci[release.year] = release
        elif isinstance(release, LocalityCrosswalk):
            localities[release.year] = release
        elif isinstance(release, PtpRelease):
            ptp.append(release)
        else:
            mue.append(release)
    return ReferenceData(rvu, gpci, localities, ptp, mue, load_catalogue(), load_parameters(),
                         origin, partial, problems, whole_of)


def _laid_over(release: RvuRelease, partial: dict[str, Coverage],
               whole_of: dict[str, Release], found: Iterable[tuple[Release, str]]
               ) -> RvuRelease:
    """A partial RVU release answers for the codes it holds; every other code keeps its values
    from the whole release of the same id, else the newest whole one of the same year before it
    (never from another year)."""
    if release.release_id not in partial:
        return release
    base = whole_of.get(release.release_id)
    if not isinstance(base, RvuRelease):
        earlier = sorted((r for r, _ in found if isinstance(r, RvuRelease)
                          and r.release_id not in partial
                          and r.effective_from.year == release.effective_from.year
                          and r.effective_from <= release.effective_from),
                         key=lambda r: r.effective_from)
        base = earlier[-1] if earlier else None
    if base is None:
        return release
    return replace(release, records={**base.records, **release.records})


@lru_cache(maxsize=1)
def default_reference() -> ReferenceData:
    """The process-wide reference data (bundled plus imports), loaded on first use."""
    return load_reference()
