"""Build the bundled reference tables from the official CMS files (``therabill data build``).

Only figures are kept (RVUs, indicators, GPCIs, localities, edit pairs, MUE values) and only for
the codes of the therapy catalogue; descriptor text never leaves the source files. The list below
says which file each bundled release comes from and whether it is a whole file or an extract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from therabill.reference.catalogue import load_catalogue
from therabill.reference.importers.gpci import read_gpci_file
from therabill.reference.importers.locality import read_locality_file
from therabill.reference.importers.mue import read_mue_file
from therabill.reference.importers.ptp import read_ptp_file, therapy_filter
from therabill.reference.importers.rvu import read_rvu_file
from therabill.reference.records import (
    GpciRelease,
    LocalityCrosswalk,
    MueRelease,
    PtpRelease,
    RvuRelease,
)
from therabill.reference.tables import Release, write_releases


@dataclass(frozen=True, slots=True)
class SourceFile:
    kind: str  # rvu | gpci | locality | ptp | mue
    path: str  # relative to the CMS source folder
    extract: bool = False


RVU_FILES = [f"pprrvu/{y}_jan/{n}" for y, n in (
    (2017, "PPRRVU17_V1219.csv"), (2018, "PPRRVU18_JAN.csv"), (2019, "PPRRVU19_V1213.csv"),
    (2020, "PPRRVU20_Jan.csv"), (2021, "PPRRVU21_JAN.csv"), (2022, "PPRRVU22_JAN.csv"),
    (2023, "PPRRVU23_JAN.csv"), (2024, "PPRRVU24_JAN.csv"), (2025, "PPRRVU25_JAN.csv"))]
GPCI_FILES = ["gpci/2017/CY2017_GPCIs.csv", *(f"gpci/{y}/GPCI{y}.csv" for y in range(2018, 2027))]
LOCALITY_FILES = [f"locality_county/{y}/{y % 100:02d}LOCCO.csv" for y in range(2017, 2027)]

SOURCES: tuple[SourceFile, ...] = (
    *(SourceFile("rvu", p) for p in RVU_FILES),
    SourceFile("rvu", "pprrvu/2024_jul/PPRRVU24_JUL.csv"),
    SourceFile("rvu", "pprrvu/2025_oct/PPRRVU2025_Oct.csv"),
    SourceFile("rvu", "pprrvu/2026_jan/PPRRVU2026_Jan_nonQPP_therapy_extract.csv", extract=True),
    *(SourceFile("gpci", p) for p in GPCI_FILES),
    *(SourceFile("locality", p) for p in LOCALITY_FILES),
    SourceFile("ptp", "ncci_ptp_practitioner/2024_northstar_extract/"
               "ccipra_v301r0_eff_2024-04-01_therapy_rows.csv", extract=True),
    SourceFile("ptp", "ncci_ptp_practitioner/2024_northstar_extract/"
               "ccipra_v302r0_eff_2024-07-01_therapy_rows.csv", extract=True),
    SourceFile("mue", "mue_practitioner/2024_northstar_extract/"
               "MCR_MUE_PractitionerServices_Eff_07-01-2024_therapy_rows.csv", extract=True),
)


def read_any(kind: str, path: Path, *, extract: bool = False) -> Release:
    """Read an official file of a known kind; extracts relax the whole-file row-count bounds."""
    readers: dict[str, Callable[[Path], Release]] = {
        "rvu": lambda p: read_rvu_file(p, min_rows=1 if extract else 10_000),
        "gpci": read_gpci_file,
        "locality": read_locality_file,
        "ptp": lambda p: read_ptp_file(p, min_rows=1 if extract else 100_000),
        "mue": lambda p: read_mue_file(p, min_rows=1 if extract else 5_000),
    }
    return readers[kind](path)


def keep_therapy(release: Release, codes: frozenset[str]) -> Release:
    """Keep only the catalogue's codes, so the package ships what a therapy practice bills."""
    if isinstance(release, RvuRelease):
        return replace(release, records={k: v for k, v in release.records.items()
                                         if k[0] in codes})
    if isinstance(release, PtpRelease):
        return replace(release, edits=therapy_filter(release.edits, codes))
    if isinstance(release, MueRelease):
        return replace(release, records={k: v for k, v in release.records.items()
                                         if k in codes})
    return release


def fill_states(gpcis: list[GpciRelease], crosswalks: dict[int, LocalityCrosswalk]
                ) -> list[GpciRelease]:
    """Older GPCI files have no State column. The crosswalk of the same year names the state in
    full; the years whose GPCI file prints the two-letter code teach the mapping between them."""
    names = {year: {row.locality_id: row.state.strip() for row in cw.rows}
             for year, cw in crosswalks.items()}
    code_of: dict[str, str] = {}
    for gpci in gpcis:
        for key, record in gpci.records.items():
            name = names.get(gpci.year, {}).get(key)
            if record.state and name:
                code_of.setdefault(name, record.state)
    filled = []
    for gpci in gpcis:
        year_names = names.get(gpci.year, {})
        filled.append(replace(gpci, records={
            k: r if r.state else replace(r, state=code_of.get(year_names.get(k, ""),
                                                              year_names.get(k, "")))
            for k, r in gpci.records.items()}))
    return filled


def build_releases(cms_dir: Path, progress: Callable[[str], None] | None = None
                   ) -> Iterator[Release]:
    codes = frozenset(load_catalogue().codes())
    crosswalks: dict[int, LocalityCrosswalk] = {}
    gpcis: list[GpciRelease] = []
    for source in SOURCES:
        if progress is not None:
            progress(source.path)
        release = read_any(source.kind, cms_dir / source.path, extract=source.extract)
        if isinstance(release, LocalityCrosswalk):
            crosswalks[release.year] = release
        if isinstance(release, GpciRelease):
            gpcis.append(release)
            continue
        yield keep_therapy(release, codes)
    yield from fill_states(gpcis, crosswalks)


def build(cms_dir: Path, out_dir: Path, progress: Callable[[str], None] | None = None) -> int:
    releases = list(build_releases(cms_dir, progress))
    write_releases(out_dir, releases)
    return len(releases)
