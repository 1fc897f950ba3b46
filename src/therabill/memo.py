"""Memos: values worked out once and found again, by key or by an object's identity.

The engine's reference data and payer policies are immutable for their lifetime, so what is
derived from one of them (a catalogue entry's counting facts, an RVU record's total, a
policy's memo number) can be kept beside it. Entries hold their object, so its id cannot be
taken by another object while the entry stands; the table is cleared past its limit.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ObjectMemo(Generic[T]):
    """Values by the identity of the object they were derived from (see the module text)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._held: dict[int, tuple[object, T]] = {}
        self._limit = limit

    def get(self, key: object) -> T | None:
        held = self._held.get(id(key))
        return held[1] if held is not None and held[0] is key else None

    def put(self, key: object, value: T) -> T:
        if len(self._held) >= self._limit:
            self._held.clear()
        self._held[id(key)] = (key, value)
        return value


class BoundedMemo(Generic[T]):
    """Values by a hashable key, emptied whole past its limit (claims files repeat their keys,
    so an emptied memo refills fast, and memory stays bounded in a long-running service)."""

    def __init__(self, limit: int = 50_000) -> None:
        self._values: dict[object, T] = {}
        self._limit = limit

    def get(self, key: object) -> T | None:
        return self._values.get(key)

    def put(self, key: object, value: T) -> T:
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[key] = value
        return value


def memo_on(owner: object, name: str) -> BoundedMemo[Any]:
    """The memo called ``name`` kept on ``owner`` (reference data), made on first use: what is
    worked out from one set of reference data lives and dies with it."""
    found: BoundedMemo[Any] | None = owner.__dict__.get(name)
    if found is None:
        found = owner.__dict__[name] = BoundedMemo()
    return found
