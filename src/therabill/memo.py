"""Memos: values worked out once and found again, by key or by an object's identity.

Every memo belongs to an ``Engine`` (``Caches`` below): none lives in a module, each has a
limit, and ``Engine.stats()`` counts their entries. Reference data and payer policies are
immutable for the engine's lifetime, so what is derived from them can be kept beside them.
A memo past its limit is emptied whole: claims files repeat their keys, so it refills fast, and
memory stays bounded in a long-running service. Reads and writes are single dictionary
operations, so threads may share one engine (at worst two threads work a value out twice).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 20_000


class ObjectMemo(Generic[T]):
    """Values by the identity of the object they were derived from. Entries hold their object,
    so its id cannot be taken by another object while the entry stands."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._held: dict[int, tuple[object, T]] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._held)

    def get(self, key: object) -> T | None:
        held = self._held.get(id(key))
        return held[1] if held is not None and held[0] is key else None

    def put(self, key: object, value: T) -> T:
        if len(self._held) >= self._limit:
            self._held.clear()
        self._held[id(key)] = (key, value)
        return value

    def clear(self) -> None:
        self._held.clear()


class BoundedMemo(Generic[T]):
    """Values by a hashable key, emptied whole past its limit."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._values: dict[object, T] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: object) -> T | None:
        return self._values.get(key)

    def put(self, key: object, value: T) -> T:
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = value
        return value

    def clear(self) -> None:
        self._values.clear()


class Memo(Protocol):
    def __len__(self) -> int: ...

    def clear(self) -> None: ...


M = TypeVar("M", bound=Memo)

# The limits, by memo name; a memo not listed gets DEFAULT_LIMIT. Payment splits depend on the
# amounts (deductible left, charge), so they are the most varied and get the tightest bound.
LIMITS: dict[str, int] = {
    "pricing.shares": 10_000,
    "pricing.days": 5_000,
    "pricing.contents": 2_000,
    "pricing.policy_keys": 1_000,
}


class Caches:
    """Every memo of one engine, by name (``rules.ncci.edits``, ``pricing.prices``, ...)."""

    def __init__(self) -> None:
        self._memos: dict[str, Memo] = {}
        self._serials = itertools.count(1)  # next() on it is atomic: threads share an engine

    def memo(self, name: str) -> BoundedMemo[Any]:
        found = self._memos.get(name)
        if found is None:
            found = self._memos.setdefault(name, BoundedMemo(LIMITS.get(name, DEFAULT_LIMIT)))
        return found  # type: ignore[return-value]

    def objects(self, name: str) -> ObjectMemo[Any]:
        found = self._memos.get(name)
        if found is None:
            found = self._memos.setdefault(name, ObjectMemo(LIMITS.get(name, DEFAULT_LIMIT)))
        return found  # type: ignore[return-value]

    def custom(self, name: str, make: Callable[[int], M]) -> M:
        """A memo of another type (made by ``make(limit)``), registered under ``name``."""
        found = self._memos.get(name)
        if found is None:
            found = self._memos.setdefault(name, make(LIMITS.get(name, DEFAULT_LIMIT)))
        return found  # type: ignore[return-value]

    def serial(self) -> int:
        """A number never handed out before by this engine (memo keys for objects that may be
        dropped and remade, so a stale entry can never match a new object)."""
        return next(self._serials)

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: {"entries": len(memo), "limit": LIMITS.get(name, DEFAULT_LIMIT)}
                for name, memo in sorted(self._memos.items())}

    def clear(self) -> None:
        for memo in self._memos.values():
            memo.clear()
