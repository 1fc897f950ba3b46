"""The user's data directory: therabill's own, changed only under a lock, by a manifest swap.

Layout (``$XDG_DATA_HOME/therabill`` or ``THERABILL_DATA_DIR``)::

    .therabill-data        marker: therabill created or adopted this directory
    .lock                  held (fcntl) for the whole of an import, repair or reset
    manifest.json          the releases in force, each naming its table and the table's SHA-256
    tables/<kind>/<release id>.<hash>.csv
                           one table per release, named by its content, never rewritten
    payers/                the user's own payer policies (read, never written)

Guarantees:

* therabill writes only in a directory it created or found empty (or holding only what an
  older therabill wrote), and marks it; a directory holding anything else is refused, whole.
* An import writes its new tables beside the old ones, then replaces ``manifest.json`` with one
  ``os.replace``: a crash at any instant leaves the old manifest or the new one, each naming
  only complete tables. Tables no manifest names any more are removed afterwards.
* Imports are serialized by the lock, and each reads the manifest inside it, so concurrent
  imports all land, in some order.
* Leftovers of an interrupted import (temporary files, unreferenced tables, the ``.old`` copy an
  older therabill left beside the directory) are recovered or removed by the next import or by
  ``therabill data repair``, which say what they did.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from therabill.reference.paths import REPAIR_REPAIR, DataDirError
from therabill.reference.tables import (
    KINDS,
    Release,
    check_release_id,
    manifest_entry,
    read_manifest,
    table_bytes,
    table_digest,
)

MARKER = ".therabill-data"
LOCK = ".lock"
MANIFEST = "manifest.json"
TABLES = "tables"
PAYERS = "payers"
MARKER_TEXT = ("therabill reference data directory. therabill changes only manifest.json and\n"
               "tables/ here, under .lock; payers/ and anything else are left alone.\n")
# Names an older therabill wrote at the top of its data directory (tables by kind).
_LEGACY = frozenset(KINDS)
_OWN = frozenset({MARKER, LOCK, MANIFEST, TABLES, PAYERS}) | _LEGACY
_TEMPORARY = re.compile(r"\.tmp-.+")
_HASHED_TABLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.[0-9a-f]{16}\.csv")


def checkpoint(step: str) -> None:
    """Called between the steps of an import; tests replace it to crash at each step."""


def os_error(path: Path | str, error: OSError, doing: str) -> DataDirError:
    """An operating-system error as one line: the file, what was being done, the cause."""
    cause = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        cause = "no space left on the device"
    return DataDirError(error.filename or path, f"cannot {doing}: {cause}")


def leftover_copy(directory: Path) -> Path:
    """Where an older therabill parked the previous state during an import."""
    return directory.with_name(directory.name + ".old")


def _only_own(directory: Path) -> list[str]:
    """Names in ``directory`` that therabill did not write (empty when it is all ours)."""
    return sorted(name for name in os.listdir(directory) if name not in _OWN)


def claim(directory: Path) -> list[str]:
    """Make ``directory`` therabill's own data directory, or refuse it.

    Creates and marks it when it does not exist; adopts an empty directory, or one holding only
    what therabill writes; restores the copy an interrupted older import left beside it.
    Returns what was done worth saying; raises :class:`DataDirError` otherwise.
    """
    said: list[str] = []
    old = leftover_copy(directory)
    try:
        if not directory.exists() and old.is_dir() and not _only_own(old):
            old.rename(directory)
            said.append(f"restored {directory} from {old}, left by an interrupted import")
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise os_error(directory, error, "create the data directory") from None
    if not directory.is_dir():
        raise DataDirError(directory, "is not a directory")
    marker = directory / MARKER
    if marker.is_file():
        return said
    try:
        foreign = _only_own(directory)
    except OSError as error:
        raise os_error(directory, error, "list the data directory") from None
    if foreign:
        shown = ", ".join(foreign[:3]) + (" …" if len(foreign) > 3 else "")
        raise DataDirError(directory, f"holds files therabill did not write ({shown}); point "
                           "THERABILL_DATA_DIR at a new or empty directory (nothing was changed)")
    try:
        with marker.open("x", encoding="utf-8") as handle:
            handle.write(MARKER_TEXT)
    except FileExistsError:
        pass  # another process marked it first
    except OSError as error:
        raise os_error(marker, error, "write in the data directory") from None
    return said


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the directory's lock (one writer at a time, across processes)."""
    path = directory / LOCK
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise os_error(path, error, "write in the data directory") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_dir(path.parent)


def write_table(directory: Path, release: Release, extra: dict[str, Any]) -> dict[str, Any]:
    """Write one release's table under ``tables/`` (named by its content) and return its
    manifest entry; an existing table of the same content is reused."""
    check_release_id(release.release_id)
    data = table_bytes(release)
    digest = table_digest(data)
    entry = manifest_entry(release, "")
    table = f"{TABLES}/{entry['kind']}/{release.release_id}.{digest[:16]}.csv"
    entry.update(table=table, table_sha256=digest, **extra)
    path = directory / table
    if not (path.is_file() and table_digest(path.read_bytes()) == digest):
        _write_atomic(path, data)
    return entry


def write_manifest(directory: Path, entries: Iterable[dict[str, Any]]) -> None:
    ordered = sorted(entries, key=lambda e: (e["kind"], e["release_id"]))
    data = (json.dumps(ordered, indent=1) + "\n").encode("utf-8")
    path = directory / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-manifest-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        checkpoint("manifest-staged")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_dir(directory)


def tidy(directory: Path, entries: list[dict[str, Any]],
         previous: list[dict[str, Any]] | None = None) -> list[str]:
    """Remove what no manifest names: temporary files, tables under ``tables/`` not in
    ``entries``, and older-layout tables ``previous`` named that ``entries`` no longer do.
    Only files therabill names this way are touched. Returns what was removed, said once."""
    named = {entry["table"] for entry in entries}
    removed: list[str] = []
    for temporary in directory.glob(".tmp-*"):
        if _TEMPORARY.fullmatch(temporary.name) and temporary.is_file():
            temporary.unlink(missing_ok=True)
            removed.append(temporary.name)
    tables = directory / TABLES
    if tables.is_dir():
        for kind_dir in tables.iterdir():
            if kind_dir.name not in KINDS or not kind_dir.is_dir():
                continue
            for path in kind_dir.iterdir():
                relative = f"{TABLES}/{kind_dir.name}/{path.name}"
                ours = _HASHED_TABLE.fullmatch(path.name) or _TEMPORARY.fullmatch(path.name)
                if ours and path.is_file() and relative not in named:
                    path.unlink(missing_ok=True)
                    removed.append(relative)
    for entry in previous or ():
        if entry["table"] not in named and not entry["table"].startswith(f"{TABLES}/"):
            path = directory / entry["table"]
            if path.is_file():
                path.unlink()
                removed.append(entry["table"])
                with contextlib.suppress(OSError):
                    path.parent.rmdir()  # only when empty
    return removed


def _payers_kept(old: Path, directory: Path) -> bool:
    """Every payer file in the old copy is in the directory too, byte for byte."""
    for path in (old / PAYERS).rglob("*"):
        if path.is_file():
            twin = directory / PAYERS / path.relative_to(old / PAYERS)
            if not twin.is_file() or twin.read_bytes() != path.read_bytes():
                return False
    return True


def _releases_kept(old: Path, directory: Path) -> bool:
    """Every release the old copy lists is listed in the directory too."""
    try:
        listed = {(e["kind"], e["release_id"]) for e in read_manifest(old)}
    except DataDirError:
        return False
    return listed <= {(e["kind"], e["release_id"]) for e in read_manifest(directory)}


def recover(directory: Path) -> list[str]:
    """Under the lock: clean what an interrupted import left, and say what was done."""
    said: list[str] = []
    old = leftover_copy(directory)
    if old.is_dir():
        if _only_own(old) or not _payers_kept(old, directory) or not _releases_kept(
                old, directory):
            said.append(f"{old} was left by an interrupted import and holds files that are "
                        f"not in {directory}; it is not used — remove it yourself when it is "
                        "no longer needed")
        else:
            shutil.rmtree(old)
            said.append(f"removed {old}, an older copy left by an interrupted import (its "
                        f"releases are in {directory})")
    removed = tidy(directory, read_manifest(directory))
    if removed:
        said.append(f"removed {len(removed)} file(s) left by an interrupted import in "
                    f"{directory}")
    return said


def repair(directory: Path) -> list[str]:
    """``therabill data repair``: claim, lock, recover; report what is still damaged."""
    said = claim(directory)
    with locked(directory):
        try:
            said += recover(directory)
        except OSError as error:
            raise os_error(directory, error, "repair the data directory") from None
    return said


def reset(directory: Path) -> list[str]:
    """``therabill data reset``: forget every imported release (manifest and tables);
    payer policies and anything therabill did not write stay."""
    if not directory.exists():
        return [f"{directory} does not exist; nothing to reset"]
    said = claim(directory)
    with locked(directory):
        try:
            manifest = directory / MANIFEST
            if manifest.exists():
                manifest.unlink()
            tables = directory / TABLES
            if tables.is_dir():
                shutil.rmtree(tables)
            for kind in sorted(_LEGACY):
                kind_dir = directory / kind
                if kind_dir.is_dir():
                    for path in kind_dir.glob("*.csv"):
                        path.unlink()
                    with contextlib.suppress(OSError):
                        kind_dir.rmdir()
            tidy(directory, [])
        except OSError as error:
            raise os_error(directory, error, "reset the data directory") from None
    said.append(f"removed every imported release from {directory}; the bundled data is used")
    return said


def damaged_hint(directory: Path) -> str:
    old = leftover_copy(directory)
    if not (directory / MANIFEST).exists() and old.is_dir():
        return (f"{directory} has no manifest but an interrupted import left {old}; "
                f"{REPAIR_REPAIR}")
    return ""
