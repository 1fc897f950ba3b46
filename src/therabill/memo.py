"""Values worked out once per object and found again by the object's identity.

The engine's reference data and payer policies are immutable for their lifetime, so what is
derived from one of them (a catalogue entry's counting facts, an RVU record's total, a
policy's memo number) can be kept beside it. Entries hold their object, so its id cannot be
taken by another object while the entry stands; the table is cleared past its limit.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class ObjectMemo(Generic[T]):
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
