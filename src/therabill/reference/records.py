"""Typed records for the CMS reference tables.

Every table the engine reads is a *release*: the rows of one official file, an id that names the
release the way CMS does (``RVU25A``, ``GPCI2026``, ``PTP-v302r0``), the date it takes effect, and a
SHA-256 of the source file so any figure can be traced back to the file it came from.
Records are frozen dataclasses with slots: they are built once and looked up millions of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a release came from."""

    file_name: str
    sha256: str
    rows: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class RvuRecord:
    """One row of the national physician fee schedule RVU file (PPRRVU), figures only."""

    code: str
    modifier: str
    status: str  # A, R, T, B, C, E, I, N, X, ...
    not_used_for_medicare: bool
    work: Decimal
    pe_nonfacility: Decimal
    pe_facility: Decimal
    mp: Decimal
    pctc: str  # 7 = therapy service (always-therapy list proxy)
    global_days: str  # XXX, ZZZ (add-on), 000, 010, 090, ...
    mult_proc: str  # 5 = therapy multiple procedure payment reduction applies
    conversion_factor: Decimal  # the CF column printed in the file
    pricing_indicator: str = ""  # PRIC IND, 2026 layout on


@dataclass(frozen=True, slots=True)
class RvuRelease:
    release_id: str  # RVU25A, RVU24C, ...
    effective_from: date
    title: str
    released: str  # the "RELEASED mm/dd/yyyy" line
    source: SourceInfo
    records: dict[tuple[str, str], RvuRecord] = field(repr=False)


@dataclass(frozen=True, slots=True)
class GpciRecord:
    """GPCIs of one Medicare locality; ``locality_id`` is ``MMMMM-LL``."""

    mac: str
    locality: str
    state: str
    name: str
    work: Decimal  # as published (with the floor where the file applies it)
    pe: Decimal
    mp: Decimal
    work_unfloored: Decimal | None = None  # only where the file prints it (2026)

    @property
    def locality_id(self) -> str:
        return f"{self.mac}-{self.locality}"


@dataclass(frozen=True, slots=True)
class GpciRelease:
    release_id: str  # GPCI2025
    year: int
    title: str
    source: SourceInfo
    records: dict[str, GpciRecord] = field(repr=False)


@dataclass(frozen=True, slots=True)
class LocalityCounties:
    mac: str
    locality: str
    state: str
    fee_schedule_area: str
    counties: str

    @property
    def locality_id(self) -> str:
        return f"{self.mac}-{self.locality}"


@dataclass(frozen=True, slots=True)
class LocalityCrosswalk:
    release_id: str  # LOCCO2025
    year: int
    source: SourceInfo
    rows: tuple[LocalityCounties, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class PtpEdit:
    """One NCCI procedure-to-procedure edit: column 2 is not paid with column 1 on the same day."""

    column_1: str
    column_2: str
    prior_1996: bool
    effective: date | None  # None where the source dropped the column
    deletion: date | None  # None = not deleted ("*")
    modifier_indicator: int  # 0 no modifier unlocks, 1 NCCI modifiers may unlock, 9 not applicable
    rationale: str

    def in_force_on(self, dos: date) -> bool:
        """True when the edit applies on ``dos`` (an unknown start date counts as started)."""
        if self.modifier_indicator == 9:
            return False
        if self.effective is not None and dos < self.effective:
            return False
        return self.deletion is None or dos <= self.deletion


@dataclass(frozen=True, slots=True)
class PtpRelease:
    release_id: str  # PTP-v302r0
    effective_from: date  # first day of the quarter the table is for
    title: str
    source: SourceInfo
    edits: tuple[PtpEdit, ...] = field(repr=False)
    caveat: str = ""


@dataclass(frozen=True, slots=True)
class MueRecord:
    code: str
    value: int
    mai: int  # 1 line edit, 2 date-of-service policy, 3 date-of-service clinical
    rationale: str


@dataclass(frozen=True, slots=True)
class MueRelease:
    release_id: str  # MUE-2024-07-01
    effective_from: date
    title: str
    source: SourceInfo
    records: dict[str, MueRecord] = field(repr=False)
    caveat: str = ""
