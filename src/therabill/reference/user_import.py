"""Import newer official files into the user's data directory, all or nothing.

Every file is read once and validated before anything is written: a file that is not whole (see
``completeness``) is refused unless ``partial`` is given, and then recorded as partial. The new
tables are written beside the old ones and switched in by replacing ``manifest.json`` in one
rename, under the directory's lock (see ``datadir``), so a bad file, a crash or a concurrent
import never leaves the user's data half changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from therabill.reference import datadir
from therabill.reference.build import keep_therapy, read_any
from therabill.reference.catalogue import load_catalogue
from therabill.reference.completeness import Held, coverage, incomplete
from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.ptp import merge_ptp_parts
from therabill.reference.paths import BUNDLED_DIR, REPAIR_RESET, DataDirError
from therabill.reference.records import (
    GpciRelease,
    LocalityCrosswalk,
    MueRelease,
    PtpRelease,
    SourceInfo,
)
from therabill.reference.tables import (
    KIND_OF,
    Release,
    read_manifest,
    read_release,
    table_digest,
)

KIND_PATTERNS = (
    ("rvu", re.compile(r"pprrvu", re.I)),
    ("gpci", re.compile(r"gpci", re.I)),
    ("locality", re.compile(r"locco", re.I)),
    ("ptp", re.compile(r"ccipra", re.I)),
    ("mue", re.compile(r"mue", re.I)),
)


@dataclass(frozen=True, slots=True)
class Imported:
    """A release read from the user's files, and whether it is only part of a whole one."""

    release: Release
    partial: str = ""  # why it is not whole ("" = complete)
    covers: list[list[str]] = field(default_factory=list)  # code ranges of a partial table

    def manifest_extra(self) -> dict[str, Any]:
        if not self.partial:
            return {}
        return {"partial": True, "partial_reason": self.partial, "covers": self.covers}


def kind_of(path: Path) -> str:
    for kind, pattern in KIND_PATTERNS:
        if pattern.search(path.name):
            return kind
    raise DataFileError(path, "cannot tell which CMS file this is from its name; keep the "
                        "official name (PPRRVU…, GPCI…, …LOCCO…, ccipra-v…, MCR_MUE_…)")


@lru_cache(maxsize=1)
def _held() -> Held:
    return Held.of(read_release(BUNDLED_DIR, entry) for entry in read_manifest(BUNDLED_DIR))


def read_files(paths: Sequence[Path], progress: Callable[[str], None] | None = None,
               partial: bool = False) -> list[Imported]:
    """Read and check every file; raise :class:`DataFileError` on the first that is bad or,
    without ``partial``, not whole."""
    codes = frozenset(load_catalogue().codes())
    held = _held()
    read: list[tuple[Path, Release]] = []
    ptp_parts: dict[str, list[tuple[Path, PtpRelease]]] = {}
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            raise DataFileError(path, "given twice")
        seen.add(path.resolve())
        if not path.is_file():
            raise DataFileError(path, "no such file" if not path.exists() else "not a file")
        if progress is not None:
            progress(path.name)
        release = read_any(kind_of(path), path, extract=True)
        if isinstance(release, PtpRelease):
            ptp_parts.setdefault(release.release_id, []).append((path, release))
        else:
            read.append((path, release))
    crosswalks = {r.year: r for _, r in read if isinstance(r, LocalityCrosswalk)}
    gpcis = {r.year: r for _, r in read if isinstance(r, GpciRelease)}
    imported: list[Imported] = []
    for path, release in read:
        why = incomplete(release, held, crosswalks=crosswalks, gpcis=gpcis)
        imported.append(_accept(path, release, why, partial, coverage(release), codes))
    for parts in ptp_parts.values():
        releases = [release for _, release in parts]
        merged = merge_ptp_parts(releases) if len(releases) > 1 else releases[0]
        why = incomplete(merged, held)
        covers = sorted(r for part in releases for r in coverage(part))
        where = Path(", ".join(str(p) for p, _ in parts))
        imported.append(_accept(where, merged, why, partial, covers, codes))
    return imported


def _accept(path: Path, release: Release, why: str, partial: bool, covers: list[list[str]],
            codes: frozenset[str]) -> Imported:
    if why and not partial:
        raise DataFileError(path, f"not a whole release: {why} (truncated or an extract? "
                            "--partial imports it marked as partial)")
    if KIND_OF[type(release)] == "ptp":
        # Only edits between catalogue codes can ever fire in a therapy claim.
        release = keep_therapy(release, codes)
    return Imported(release, why, covers if why else [])


def import_files(paths: Sequence[Path], data_dir: Path,
                 progress: Callable[[str], None] | None = None,
                 partial: bool = False, said: Callable[[str], None] | None = None,
                 ) -> list[Imported]:
    """Read, check and import ``paths`` into ``data_dir``; ``said`` hears what was recovered
    or cleaned on the way. Raises :class:`DataFileError` for a bad file and
    :class:`DataDirError` for a data directory that cannot be used; nothing changes then."""
    new = read_files(paths, progress, partial)
    messages = datadir.claim(data_dir)
    with datadir.locked(data_dir):
        try:
            messages += datadir.recover(data_dir)
            _switch_in(data_dir, new)
        except OSError as error:
            raise datadir.os_error(data_dir, error, "import into the data directory") from None
    for message in messages:
        if said is not None:
            said(message)
    return new


def _joined_source(earlier: Release, release: Release, rows: int) -> SourceInfo:
    digest = hashlib.sha256((earlier.source.sha256 + release.source.sha256).encode("ascii"))
    return SourceInfo(f"{earlier.source.file_name}, {release.source.file_name}",
                      digest.hexdigest(), rows,
                      "parts imported one after the other; sha256 = SHA-256 of the parts' "
                      "sha256 hex digests concatenated in import order")


def _with_earlier_parts(data_dir: Path, item: Imported,
                        previous: dict[tuple[str, str], dict[str, Any]]) -> Imported:
    """A part of a PTP or MUE table joins the parts of the same release imported before; a
    part never replaces a release held whole."""
    release = item.release
    entry = previous.get((KIND_OF[type(release)], release.release_id))
    if entry is None or not item.partial or not isinstance(release, PtpRelease | MueRelease):
        return item
    if not entry.get("partial"):
        raise DataFileError(release.source.file_name, f"{release.release_id} is held whole; a "
                            "part of it would replace it (nothing was imported)")
    earlier = read_release(data_dir, entry)
    covers = [list(pair) for pair in entry.get("covers", [])
              if isinstance(pair, list) and len(pair) == 2]

    def covered(code: str) -> bool:
        return any(low <= code <= high for low, high in item.covers)

    if isinstance(release, PtpRelease) and isinstance(earlier, PtpRelease):
        edits = tuple(e for e in earlier.edits if not covered(e.column_1)) + release.edits
        joined: Release = replace(release, edits=edits,
                                  source=_joined_source(earlier, release, len(edits)))
    elif isinstance(release, MueRelease) and isinstance(earlier, MueRelease):
        records = {c: r for c, r in earlier.records.items() if not covered(c)}
        records.update(release.records)
        joined = replace(release, records=records,
                         source=_joined_source(earlier, release, len(records)))
    else:
        return item
    union = sorted({tuple(pair) for pair in [*covers, *item.covers]})
    return Imported(joined, f"{item.partial}; joined with the part(s) imported before",
                    [list(pair) for pair in union])


def _switch_in(data_dir: Path, new: list[Imported]) -> None:
    datadir.checkpoint("locked")
    previous = read_manifest(data_dir)
    by_key = {(entry["kind"], entry["release_id"]): entry for entry in previous}
    new[:] = [_with_earlier_parts(data_dir, item, by_key) for item in new]
    replaced = {(KIND_OF[type(item.release)], item.release.release_id) for item in new}
    kept = [entry for entry in previous if (entry["kind"], entry["release_id"]) not in replaced]
    for entry in kept:  # carried forward: they must be whole (a re-import replaces a damaged one)
        table = data_dir / entry["table"]
        if not table.is_file():
            raise DataDirError(table, f"table of {entry['release_id']} listed in the manifest is"
                               " missing (nothing was imported)", REPAIR_RESET)
        expected = entry.get("table_sha256")
        if expected is not None and table_digest(table.read_bytes()) != expected:
            raise DataDirError(table, f"table of {entry['release_id']} is damaged (its SHA-256"
                               " differs from the manifest's; nothing was imported)",
                               REPAIR_RESET)
    entries: list[dict[str, Any]] = []
    try:
        for item in new:
            entries.append(datadir.write_table(data_dir, item.release, item.manifest_extra()))
            datadir.checkpoint("table-written")
        datadir.write_manifest(data_dir, [*kept, *entries])
    except BaseException:
        # Not switched in: the tables written so far are named by no manifest; remove them.
        with contextlib.suppress(OSError):
            datadir.tidy(data_dir, previous)
        raise
    datadir.checkpoint("manifest-swapped")
    datadir.tidy(data_dir, [*kept, *entries], previous)
    datadir.checkpoint("tidied")
