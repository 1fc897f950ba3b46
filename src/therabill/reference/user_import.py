"""Import newer official files into the user's data directory, all or nothing.

Every file is read and validated before anything is written; the new manifest and tables are
written to a temporary folder that replaces the old one in a single rename, so a bad or
truncated file leaves the user's data exactly as it was.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from therabill.reference.build import keep_therapy, read_any
from therabill.reference.catalogue import load_catalogue
from therabill.reference.importers.common import DataFileError
from therabill.reference.importers.ptp import merge_ptp_parts
from therabill.reference.records import PtpRelease
from therabill.reference.tables import (
    KIND_OF,
    Release,
    read_manifest,
    read_release,
    write_releases,
)

KIND_PATTERNS = (
    ("rvu", re.compile(r"pprrvu", re.I)),
    ("gpci", re.compile(r"gpci", re.I)),
    ("locality", re.compile(r"locco", re.I)),
    ("ptp", re.compile(r"ccipra", re.I)),
    ("mue", re.compile(r"mue", re.I)),
)


def kind_of(path: Path) -> str:
    for kind, pattern in KIND_PATTERNS:
        if pattern.search(path.name):
            return kind
    raise DataFileError(path, "cannot tell which CMS file this is from its name; keep the "
                        "official name (PPRRVU…, GPCI…, …LOCCO…, ccipra-v…, MCR_MUE_…)")


def read_files(paths: Sequence[Path], progress: Callable[[str], None] | None = None,
               partial: bool = False) -> list[Release]:
    codes = frozenset(load_catalogue().codes())
    releases: list[Release] = []
    ptp_parts: dict[str, list[PtpRelease]] = {}
    for path in paths:
        if not path.is_file():
            raise DataFileError(path, "no such file")
        if progress is not None:
            progress(path.name)
        release = read_any(kind_of(path), path, extract=partial)
        if isinstance(release, PtpRelease):
            ptp_parts.setdefault(release.release_id, []).append(release)
        else:
            releases.append(release)
    for parts in ptp_parts.values():
        merged = merge_ptp_parts(parts) if len(parts) > 1 else parts[0]
        # Only edits between catalogue codes can ever fire in a therapy claim.
        releases.append(keep_therapy(merged, codes))
    return releases


def import_files(paths: Sequence[Path], data_dir: Path,
                 progress: Callable[[str], None] | None = None,
                 partial: bool = False) -> list[Release]:
    """``partial`` accepts extracts smaller than a whole official file (row-count bounds off)."""
    new = read_files(paths, progress, partial)
    kept: dict[str, Release] = {}
    for entry in read_manifest(data_dir):
        kept[f"{entry['kind']}:{entry['release_id']}"] = read_release(data_dir, entry)
    for release in new:
        kept[f"{KIND_OF[type(release)]}:{release.release_id}"] = release
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=data_dir.parent))
    try:
        write_releases(staging, kept.values())
        payers = data_dir / "payers"
        if payers.is_dir():
            shutil.copytree(payers, staging / "payers")
        old = data_dir.with_name(data_dir.name + ".old")
        if data_dir.exists():
            data_dir.rename(old)
        staging.rename(data_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return new
