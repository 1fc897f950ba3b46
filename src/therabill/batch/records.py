"""What every batch reader yields: a visit to check, or a record that could not be read.

Readers never drop a record: each input record becomes either a ``VisitRecord`` (a visit in the
documented dict shape, ready for ``Engine.check``) or a ``Reject`` naming where it was and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """A visit read from a file, with where it came from (for messages and the rejects file)."""

    visit: dict[str, Any]
    position: str  # e.g. "claims.csv rows 12-14", "batch.837 claim CLM*A1 (segment 31)"
    notes: tuple[str, ...] = field(default=())  # what the reader wants said in the result


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be read as a visit: where, and why, in plain words."""

    position: str
    reason: str


Record = VisitRecord | Reject
