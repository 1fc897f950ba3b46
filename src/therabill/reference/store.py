"""Reference data by date of service: the bundled tables overlaid with the user's imports.

Look-ups are in-process dictionaries and bisections, built once: batch jobs send millions of lines
through them. A user's imported release replaces a bundled one of the same id and, being newer,
takes precedence from its own effective date on.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from therabill.reference.catalogue import Catalogue, load_catalogue
from therabill.reference.parameters import Parameters, load_parameters
from therabill.reference.paths import BUNDLED_DIR, user_data_dir
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

    def __post_init__(self) -> None:
        self.rvu.sort(key=lambda r: r.effective_from)
        self.ptp.sort(key=lambda r: r.effective_from)
        self.mue.sort(key=lambda r: r.effective_from)
        self._rvu_starts = [r.effective_from for r in self.rvu]
        self._ptp_starts = [r.effective_from for r in self.ptp]
        self._mue_starts = [r.effective_from for r in self.mue]
        self._edit_tables: dict[str, EditTable] = {}

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
        table = self._edit_tables.get(release.release_id)
        if table is None:
            table = self._edit_tables[release.release_id] = EditTable.of(release)
        return Dated(table, note)

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
        return Dated(release, note)

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


def _load_dir(directory: Path, origin: str, into: dict[str, tuple[Release, str]]) -> None:
    for entry in read_manifest(directory):
        into[f"{entry['kind']}:{entry['release_id']}"] = (read_release(directory, entry), origin)


def load_reference(data_dir: Path | None = None) -> ReferenceData:
    """Bundled tables, then the user's imports on top (same release id: the import wins)."""
    found: dict[str, tuple[Release, str]] = {}
    _load_dir(BUNDLED_DIR, "bundled", found)
    _load_dir(data_dir if data_dir is not None else user_data_dir(), "imported", found)
    rvu, ptp, mue = [], [], []
    gpci: dict[int, GpciRelease] = {}
    localities: dict[int, LocalityCrosswalk] = {}
    origin: dict[str, str] = {}
    for release, where in found.values():
        origin[release.release_id] = where
        if isinstance(release, RvuRelease):
            rvu.append(release)
        elif isinstance(release, GpciRelease):
            gpci[release.year] = release
        elif isinstance(release, LocalityCrosswalk):
            localities[release.year] = release
        elif isinstance(release, PtpRelease):
            ptp.append(release)
        else:
            mue.append(release)
    return ReferenceData(rvu, gpci, localities, ptp, mue, load_catalogue(), load_parameters(),
                         origin)


@lru_cache(maxsize=1)
def default_reference() -> ReferenceData:
    """The process-wide reference data (bundled plus imports), loaded on first use."""
    return load_reference()
