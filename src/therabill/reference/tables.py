"""Compact, figures-only tables: how releases are written to and read from disk.

The bundled tables (inside the package) and the user's imported files (in the data directory)
share one layout: a ``manifest.json`` listing every release with its source file and SHA-256,
and one small CSV per release. No CPT descriptor text is ever written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from therabill.reference.importers.common import QUARTER_LETTER, rvu_release_id
from therabill.reference.paths import REPAIR_RESET, DataDirError
from therabill.reference.records import (
    GpciRecord,
    GpciRelease,
    LocalityCounties,
    LocalityCrosswalk,
    MueRecord,
    MueRelease,
    PtpEdit,
    PtpRelease,
    RvuRecord,
    RvuRelease,
    SourceInfo,
)

Release = RvuRelease | GpciRelease | LocalityCrosswalk | PtpRelease | MueRelease

KIND_OF = {RvuRelease: "rvu", GpciRelease: "gpci", LocalityCrosswalk: "locality",
           PtpRelease: "ptp", MueRelease: "mue"}

RVU_COLUMNS = ("code", "modifier", "status", "not_used_for_medicare", "work", "pe_nonfacility",
               "pe_facility", "mp", "pctc", "global_days", "mult_proc", "conversion_factor",
               "pricing_indicator")
GPCI_COLUMNS = ("mac", "locality", "state", "name", "work", "pe", "mp", "work_unfloored")
LOCALITY_COLUMNS = ("mac", "locality", "state", "fee_schedule_area", "counties")
PTP_COLUMNS = ("column_1", "column_2", "prior_1996", "effective", "deletion",
               "modifier_indicator", "rationale")
MUE_COLUMNS = ("code", "value", "mai", "rationale")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(v) for v in row])


def _read_csv(data: bytes) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    for row in rows:
        if None in row or any(value is None for value in row.values()):
            raise ValueError(f"a row has the wrong number of fields: {list(row.values())[:3]}")
    return rows


def _release_rows(release: Release) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
    if isinstance(release, RvuRelease):
        rvus = sorted(release.records.values(), key=lambda r: (r.code, r.modifier))
        return RVU_COLUMNS, [tuple(getattr(r, c) for c in RVU_COLUMNS) for r in rvus]
    if isinstance(release, GpciRelease):
        gpcis = sorted(release.records.values(), key=lambda r: (r.mac, r.locality))
        return GPCI_COLUMNS, [tuple(getattr(r, c) for c in GPCI_COLUMNS) for r in gpcis]
    if isinstance(release, LocalityCrosswalk):
        return LOCALITY_COLUMNS, [tuple(getattr(r, c) for c in LOCALITY_COLUMNS)
                                  for r in release.rows]
    if isinstance(release, PtpRelease):
        edits = sorted(release.edits, key=lambda e: (e.column_1, e.column_2,
                                                     e.deletion or date.max))
        return PTP_COLUMNS, [tuple(getattr(e, c) for c in PTP_COLUMNS) for e in edits]
    mues = sorted(release.records.values(), key=lambda r: r.code)
    return MUE_COLUMNS, [tuple(getattr(r, c) for c in MUE_COLUMNS) for r in mues]


def table_bytes(release: Release) -> bytes:
    """The release's table as the CSV bytes written to disk."""
    columns, rows = _release_rows(release)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def manifest_entry(release: Release, table: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": KIND_OF[type(release)], "release_id": release.release_id,
                             "table": table, "source": asdict(release.source)}
    for key in ("effective_from", "year", "title", "released", "caveat"):
        value = getattr(release, key, None)
        if value not in (None, ""):
            entry[key] = _text(value) if isinstance(value, date) else value
    return entry


def write_releases(directory: Path, releases: Iterable[Release]) -> list[dict[str, Any]]:
    """Write each release's table and a manifest listing them all (replacing what was there)."""
    entries = []
    for release in releases:
        kind = KIND_OF[type(release)]
        table = f"{kind}/{release.release_id}.csv"
        columns, rows = _release_rows(release)
        _write_csv(directory / table, columns, rows)
        entries.append(manifest_entry(release, table))
    entries.sort(key=lambda e: (e["kind"], e["release_id"]))
    (directory / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n",
                                             encoding="utf-8")
    return entries


# A release id becomes a file name: letters, digits, dot, dash and underscore only, no "..".
RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
KINDS = frozenset(KIND_OF.values())
# Where a table may sit: "<kind>/<id>.csv" (bundled and older imports) or
# "tables/<kind>/<id>.<hash>.csv" (imports, named by their content).
_TABLE_PATH = re.compile(r"(?:tables/)?(?P<kind>[a-z]+)/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)\.csv")


def check_release_id(release_id: object) -> str:
    if (not isinstance(release_id, str) or not RELEASE_ID.fullmatch(release_id)
            or ".." in release_id):
        raise ValueError(f"release id {release_id!r} is not letters, digits, '.', '-', '_'")
    return release_id


def _check_entry(entry: object) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError(f"an entry is {type(entry).__name__}, not an object")
    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown release kind {kind!r}")
    release_id = check_release_id(entry.get("release_id"))
    table = entry.get("table")
    match = _TABLE_PATH.fullmatch(table) if isinstance(table, str) else None
    if match is None or match["kind"] != kind or ".." in str(table):
        raise ValueError(f"table path {table!r} of {release_id} is not <kind>/<name>.csv")
    source = entry.get("source")
    if not (isinstance(source, dict) and isinstance(source.get("file_name"), str)
            and isinstance(source.get("sha256"), str) and _is_int(source.get("rows"))):
        raise ValueError(f"{release_id} has no proper source (file name, sha256, rows)")
    _check_dates(kind, release_id, entry)
    return entry


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_dates(kind: str, release_id: str, entry: dict[str, Any]) -> None:
    """The year or effective date must be a real one and agree with the release id, or the
    release would silently answer for other dates than it says."""
    if kind in ("gpci", "locality"):
        year = entry.get("year")
        expected = f"{'GPCI' if kind == 'gpci' else 'LOCCO'}{year}"
        if not (isinstance(year, int) and _is_int(year) and 2000 <= year <= 2100
                and release_id == expected):
            raise ValueError(f"year {year!r} does not match release {release_id}")
        return
    text = entry.get("effective_from")
    try:
        start = date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        start = None
    if start is None:
        raise ValueError(f"effective date {text!r} of {release_id} is not a date")
    if kind == "rvu" and (start.month not in QUARTER_LETTER or start.day != 1
                          or release_id != rvu_release_id(start.year, start.month)):
        raise ValueError(f"effective date {text} does not match release {release_id}")
    if kind == "mue" and release_id != f"MUE-{start.isoformat()}":
        raise ValueError(f"effective date {text} does not match release {release_id}")


def read_manifest(directory: Path) -> list[dict[str, Any]]:
    """The manifest's entries, checked before any of them becomes a path.

    A manifest that cannot be read or does not have the expected shape raises
    :class:`DataDirError` naming the file and the repair.
    """
    path = directory / "manifest.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise DataDirError(path, f"cannot be read ({error.strerror or error})") from None
    try:
        entries = json.loads(raw.decode("utf-8"))
        if not isinstance(entries, list):
            raise ValueError("not a list of releases")
        checked = [_check_entry(entry) for entry in entries]
    except (ValueError, TypeError, RecursionError) as error:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataDirError(path, f"is damaged ({cause})", REPAIR_RESET) from None
    return checked


def table_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _optional_date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _decimal(text: str) -> Decimal:
    return Decimal(text)


def read_release(directory: Path, entry: dict[str, Any]) -> Release:
    """Rebuild one release from its table and (checked) manifest entry.

    A missing, unreadable or damaged table raises :class:`DataDirError` naming the file.
    """
    path = directory / entry["table"]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataDirError(path, f"table of {entry['release_id']} listed in the manifest is"
                           " missing", REPAIR_RESET) from None
    except OSError as error:
        raise DataDirError(path, f"cannot be read ({error.strerror or error})") from None
    expected = entry.get("table_sha256")
    if expected is not None and table_digest(data) != expected:
        raise DataDirError(path, f"table of {entry['release_id']} is damaged (its SHA-256 differs"
                           " from the manifest's)", REPAIR_RESET)
    try:
        return _release_of(data, entry)
    except (ValueError, KeyError, TypeError, ArithmeticError, csv.Error) as error:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataDirError(path, f"table of {entry['release_id']} is damaged ({cause})",
                           REPAIR_RESET) from None


def _release_of(data: bytes, entry: dict[str, Any]) -> Release:
    rows = _read_csv(data)
    source = SourceInfo(**entry["source"])
    kind = entry["kind"]
    if kind == "rvu":
        records: dict[tuple[str, str], RvuRecord] = {}
        for r in rows:
            record = RvuRecord(
                code=r["code"], modifier=r["modifier"], status=r["status"],
                not_used_for_medicare=r["not_used_for_medicare"] == "1",
                work=_decimal(r["work"]), pe_nonfacility=_decimal(r["pe_nonfacility"]),
                pe_facility=_decimal(r["pe_facility"]), mp=_decimal(r["mp"]), pctc=r["pctc"],
                global_days=r["global_days"], mult_proc=r["mult_proc"],
                conversion_factor=_decimal(r["conversion_factor"]),
                pricing_indicator=r["pricing_indicator"])
            records[(record.code, record.modifier)] = record
        return RvuRelease(entry["release_id"], date.fromisoformat(entry["effective_from"]),
                          entry.get("title", ""), entry.get("released", ""), source, records)
    if kind == "gpci":
        gpcis: dict[str, GpciRecord] = {}
        for r in rows:
            unfloored = r["work_unfloored"]
            gpci = GpciRecord(mac=r["mac"], locality=r["locality"], state=r["state"],
                                name=r["name"], work=_decimal(r["work"]), pe=_decimal(r["pe"]),
                                mp=_decimal(r["mp"]),
                                work_unfloored=_decimal(unfloored) if unfloored else None)
            gpcis[gpci.locality_id] = gpci
        return GpciRelease(entry["release_id"], int(entry["year"]), entry.get("title", ""),
                           source, gpcis)
    if kind == "locality":
        return LocalityCrosswalk(entry["release_id"], int(entry["year"]), source,
                                 tuple(LocalityCounties(**r) for r in rows))
    if kind == "ptp":
        edits = tuple(
            PtpEdit(column_1=r["column_1"], column_2=r["column_2"],
                    prior_1996=r["prior_1996"] == "1", effective=_optional_date(r["effective"]),
                    deletion=_optional_date(r["deletion"]),
                    modifier_indicator=int(r["modifier_indicator"]), rationale=r["rationale"])
            for r in rows)
        return PtpRelease(entry["release_id"], date.fromisoformat(entry["effective_from"]),
                          entry.get("title", ""), source, edits, entry.get("caveat", ""))
    if kind == "mue":
        mues = {r["code"]: MueRecord(r["code"], int(r["value"]), int(r["mai"]), r["rationale"])
                for r in rows}
        return MueRelease(entry["release_id"], date.fromisoformat(entry["effective_from"]),
                          entry.get("title", ""), source, mues, entry.get("caveat", ""))
    raise ValueError(f"unknown release kind {kind!r} in manifest")
