"""The code catalogue: what each therapy-range code is for, how it is counted, who bills it.

The data lives in ``catalogue.yaml`` beside this module, one entry per code that appears in the
CMS RVU files 2017-2026 in the therapy ranges. Summaries are our own plain-language words: CPT
descriptors are AMA-copyrighted and must never be copied in (a test checks for the CMS short
descriptors). Unknown keys are errors, because a misspelt key silently ignored would quietly
change how a claim is built; every error names the code and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "CATALOGUE_PATH",
    "Catalogue",
    "CatalogueError",
    "CodeInfo",
    "MedicareFacts",
    "Note",
    "Timing",
    "load_catalogue",
]

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.yaml"

CODE_PATTERN = r"^[0-9A-Z]{5}$"
_CODE_RE = re.compile(CODE_PATTERN)

Basis = Literal["timed", "untimed", "per_item", "timed_primary", "timed_add_on"]
TherapyStatus = Literal["always", "sometimes", "never"]
Discipline = Literal["PT", "OT", "SLP"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Note(_Strict):
    """One fact about a code and the document it comes from."""

    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class Timing(_Strict):
    """How the code is counted on a claim.

    ``timed`` codes give a unit per ``unit_minutes``; ``untimed`` codes are one unit a session;
    ``per_item`` codes count something other than time (instruments, wound area, limbs). A
    primary/add-on pair splits one service's time: the primary covers the first block and names
    its ``add_on``; the add-on covers each further block and names its ``primary``.
    """

    basis: Basis
    unit_minutes: int | None = Field(default=None, gt=0)
    add_on: str | None = Field(default=None, pattern=CODE_PATTERN)
    primary: str | None = Field(default=None, pattern=CODE_PATTERN)

    @model_validator(mode="after")
    def _fields_fit_basis(self) -> Timing:
        timed = self.basis in ("timed", "timed_primary", "timed_add_on")
        if timed and self.unit_minutes is None:
            raise ValueError(f"basis {self.basis} needs unit_minutes")
        if not timed and self.unit_minutes is not None:
            raise ValueError(f"basis {self.basis} takes no unit_minutes")
        if self.basis == "timed_primary" and self.add_on is None:
            raise ValueError("basis timed_primary needs add_on (the code for the further blocks)")
        if self.basis == "timed_add_on" and self.primary is None:
            raise ValueError("basis timed_add_on needs primary (the code for the first block)")
        # per_item pairs (wound area: first 20 sq cm, each further 20 sq cm) may also link up.
        if self.add_on is not None and self.basis not in ("timed_primary", "per_item"):
            raise ValueError(f"add_on is only for timed_primary or per_item, not {self.basis}")
        if self.primary is not None and self.basis not in ("timed_add_on", "per_item"):
            raise ValueError(f"primary is only for timed_add_on or per_item, not {self.basis}")
        if self.add_on is not None and self.primary is not None:
            raise ValueError("a code is either a primary (add_on) or an add-on (primary), not both")
        return self


class MedicareFacts(_Strict):
    """Medicare coverage facts the RVU file's status indicator does not carry by itself."""

    use_instead: str | None = Field(default=None, pattern=CODE_PATTERN)
    not_payable_to_therapists: bool = False
    not_therapy_provider: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    # Rules quote these verbatim in their decisions, so both are always present.
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class CodeInfo(_Strict):
    """One catalogue entry together with its code."""

    code: str = Field(pattern=CODE_PATTERN)
    summary: str = Field(min_length=1)
    family: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    time: Timing
    disciplines: list[Discipline]
    therapy: TherapyStatus
    evaluation: bool = False
    notes: list[Note] = Field(default_factory=list)
    medicare: MedicareFacts | None = None

    @model_validator(mode="after")
    def _therapy_has_disciplines(self) -> CodeInfo:
        if self.therapy != "never" and not self.disciplines:
            raise ValueError(f"therapy {self.therapy} needs at least one discipline")
        if len(set(self.disciplines)) != len(self.disciplines):
            raise ValueError("disciplines are listed twice")
        return self


class CatalogueError(ValueError):
    """A catalogue file that does not load; the message names the file, the code and the field."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


class Catalogue:
    """All catalogue entries by code."""

    def __init__(self, entries: Mapping[str, CodeInfo]) -> None:
        self._entries = dict(entries)

    @property
    def by_code(self) -> dict[str, CodeInfo]:
        """The entries by code, for look-ups in a loop (read them, never change them)."""
        return self._entries

    def get(self, code: str) -> CodeInfo | None:
        return self._entries.get(code)

    def __contains__(self, code: object) -> bool:
        return code in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CodeInfo]:
        return iter(self._entries[code] for code in self.codes())

    def codes(self) -> list[str]:
        return sorted(self._entries)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(entry)"


def _parse_entries(raw: Any) -> tuple[dict[str, CodeInfo], list[str]]:
    problems: list[str] = []
    if not isinstance(raw, dict) or set(raw) != {"codes"} or not isinstance(raw["codes"], dict):
        return {}, ["the file must hold one top-level mapping, 'codes', of code -> entry"]
    entries: dict[str, CodeInfo] = {}
    for key, body in raw["codes"].items():
        # An unquoted 97140 arrives as an int; quoting is required so codes keep their form.
        if not isinstance(key, str) or not _CODE_RE.match(key):
            problems.append(f"code {key!r}: field (key): must be a quoted 5-character code")
            continue
        if not isinstance(body, dict):
            problems.append(f"code {key}: field (entry): must be a mapping")
            continue
        if "code" in body:
            problems.append(f"code {key}: field code: not allowed, the mapping key is the code")
            continue
        try:
            entries[key] = CodeInfo.model_validate({**body, "code": key})
        except ValidationError as error:
            for detail in error.errors():
                problems.append(f"code {key}: field {_location(detail['loc'])}: {detail['msg']}")
    return entries, problems


def _check_pairs(entries: Mapping[str, CodeInfo]) -> list[str]:
    """Primary and add-on must name each other, with matching kinds of basis."""
    problems: list[str] = []
    partner_basis = {"timed_primary": "timed_add_on", "timed_add_on": "timed_primary",
                     "per_item": "per_item"}
    for code, info in entries.items():
        for field, back in (("add_on", "primary"), ("primary", "add_on")):
            other_code = getattr(info.time, field)
            if other_code is None:
                continue
            other = entries.get(other_code)
            if other is None:
                problems.append(f"code {code}: field time.{field}: {other_code} is not in the "
                                "catalogue")
            elif getattr(other.time, back) != code:
                problems.append(f"code {code}: field time.{field}: {other_code} does not name "
                                f"{code} as its {back}")
            elif other.time.basis != partner_basis[info.time.basis]:
                problems.append(f"code {code}: field time.{field}: {other_code} has basis "
                                f"{other.time.basis}, expected {partner_basis[info.time.basis]}")
    return problems


def _read(path: Path) -> Catalogue:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogueError(path, [f"not valid YAML: {error}"]) from None
    entries, problems = _parse_entries(raw)
    problems.extend(_check_pairs(entries))
    if problems:
        raise CatalogueError(path, problems)
    return Catalogue(entries)


@lru_cache(maxsize=1)
def _bundled() -> Catalogue:
    return _read(CATALOGUE_PATH)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The bundled catalogue (read once per process), or the file at ``path`` (read every call)."""
    return _bundled() if path is None else _read(path)
