"""Units for timed therapy codes: the CMS total-time method and the CPT per-code method.

Pure functions, stdlib only. They run once per visit in the engine's hot path, so they avoid
needless allocations and never try permutations of codes: the CMS allocation is a single sort of
the codes that have leftover minutes.

Sources: CMS Pub 100-04 (Claims Processing Manual) ch.5 §20.2 B–C for the total-time method and its
worked examples; CPT "Time" introduction (a unit is reached once the midpoint is passed) for the
per-code method used by many commercial payers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "TimedService",
    "UnitAllocation",
    "cms_total_time",
    "cpt_per_code",
    "primary_add_on_units",
    "units_for_minutes",
]


# Plain classes with their own __init__ rather than dataclasses: built per visit, and compiled
# a plain class's __init__ is native where a dataclass's generated one stays interpreted.


class TimedService:
    """One timed code's minutes on the day (lines of the same code already combined).

    ``rank_key`` breaks ties for a remaining unit: smaller sorts first and is preferred (e.g.
    ``(-allowed_cents,)`` to favour the better-paid code). Ties left after it fall to code order.
    Give a rank_key to every service of a visit or to none, so the keys compare meaningfully.
    """

    code: str
    minutes: int  # >= 0
    rank_key: tuple[Any, ...]

    def __init__(self, code: str, minutes: int, rank_key: tuple[Any, ...] = ()) -> None:
        self.code = code
        self.minutes = minutes
        self.rank_key = rank_key

    def __repr__(self) -> str:
        return f"TimedService({self.code!r}, {self.minutes}, {self.rank_key!r})"


class UnitAllocation:
    """How a visit's timed minutes became units.

    ``units`` and ``full_units`` list every input code, in input order (dict equality ignores
    order, so allocations of shuffled inputs compare equal). ``extra_unit_codes`` is in the order
    the remaining units were handed out: most leftover minutes first, then rank_key, then code.
    ``ties`` holds the group of codes that tied for the last remaining unit(s) when not all of the
    group could get one, in that same preference order; ``alternative`` is then an equally
    compliant allocation (the last winner of the group swapped with the first loser).
    """

    units: dict[str, int]
    total_minutes: int
    total_units: int
    full_units: dict[str, int]
    extra_unit_codes: tuple[str, ...]
    ties: tuple[tuple[str, ...], ...]
    alternative: dict[str, int] | None

    def __init__(self, units: dict[str, int], total_minutes: int, total_units: int,
                 full_units: dict[str, int], extra_unit_codes: tuple[str, ...],
                 ties: tuple[tuple[str, ...], ...], alternative: dict[str, int] | None) -> None:
        self.units = units
        self.total_minutes = total_minutes
        self.total_units = total_units
        self.full_units = full_units
        self.extra_unit_codes = extra_unit_codes
        self.ties = ties
        self.alternative = alternative

    def _fields(self) -> tuple[object, ...]:
        return (self.units, self.total_minutes, self.total_units, self.full_units,
                self.extra_unit_codes, self.ties, self.alternative)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnitAllocation) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"UnitAllocation{self._fields()!r}"


def units_for_minutes(minutes: int, unit_minutes: int = 15) -> int:
    """Rounding aid: floor(m/u) + 1 if the remainder reaches the midpoint.

    Midpoints: 8 of 15, 31 of 60, 16 of 30, 61 of 120.

    "Passing the midpoint" means the remainder is strictly more than half a unit, hence the
    integer test ``2 * r > u``. For 15-minute units this is the CMS table of
    CMS Pub 100-04 ch.5 §20.2.C (0–7 → 0, 8–22 → 1, 23–37 → 2, ...), i.e. floor((m + 7) / 15).
    """
    if unit_minutes <= 0:
        raise ValueError(f"unit_minutes must be positive, got {unit_minutes}")
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes}")
    full, rest = minutes // unit_minutes, minutes % unit_minutes
    return full + 1 if 2 * rest > unit_minutes else full


def _checked(services: Sequence[TimedService], unit_minutes: int) -> Sequence[TimedService]:
    """Refuse what no allocation can mean: a non-positive unit, negative minutes, a code twice."""
    if unit_minutes <= 0:
        raise ValueError(f"unit_minutes must be positive, got {unit_minutes}")
    seen: set[str] = set()
    for service in services:
        if service.minutes < 0:
            raise ValueError(f"{service.code}: minutes must be >= 0, got {service.minutes}")
        if service.code in seen:
            raise ValueError(f"{service.code} appears twice; combine its minutes before "
                             "allocating units")
        seen.add(service.code)
    return services


def cms_total_time(services: Sequence[TimedService], unit_minutes: int = 15) -> UnitAllocation:
    """Medicare total-time method (the "8-minute rule"), CMS Pub 100-04 ch.5 §20.2.

    1. The day's units come from the total of all timed minutes: U = units_for_minutes(T).
    2. Each code first gets its whole 15-minute blocks: floor(m/15) (so ≥ 15 min → ≥ 1 unit,
       ≥ 30 min → ≥ 2 units, as §20.2 requires).
    3. The R = U − F remaining units go one each to the codes with the most leftover minutes
       (m % 15); ties by rank_key, then code. No code gets more than one of them, so the 20/20
       case is 2 + 1, never 3 on one code.

    Why R never exceeds the number k of codes with leftover > 0 (so step 3 always fits and every
    extra unit lands on a code that has leftover minutes): write L for the sum of leftovers.
    T = 15·F + L, hence U = F + units_for_minutes(L) and R = units_for_minutes(L). Each leftover
    is at most 14, so L ≤ 14k < 15k, floor(L/15) ≤ k − 1, and R ≤ floor(L/15) + 1 ≤ k. R ≥ 0
    because units_for_minutes never goes below zero.

    Input order never matters: the only ordering used is the sort in step 3, whose key ends in
    the (unique) code. Codes must be unique; combine lines of one code before calling.
    """
    units: dict[str, int] = {}
    total = 0
    full_total = 0
    # (−leftover, rank_key, code): sorting ascending ranks most leftover first.
    candidates: list[tuple[int, tuple[Any, ...], str]] = []
    for service in _checked(services, unit_minutes):
        code = service.code
        minutes = service.minutes
        full, rest = minutes // unit_minutes, minutes % unit_minutes
        units[code] = full
        total += minutes
        full_total += full
        if rest:
            candidates.append((-rest, service.rank_key, code))

    full_units = dict(units)
    total_units = units_for_minutes(total, unit_minutes)
    remaining = total_units - full_total
    # Proven in the docstring; kept as a guard against a future edit breaking it.
    assert 0 <= remaining <= len(candidates)
    if remaining == 0:
        return UnitAllocation(units, total, total_units, full_units, (), (), None)

    candidates.sort()
    extra: list[str] = []
    for _, _, code in candidates[:remaining]:
        units[code] += 1
        extra.append(code)

    ties: tuple[tuple[str, ...], ...] = ()
    alternative: dict[str, int] | None = None
    if remaining < len(candidates) and candidates[remaining][0] == candidates[remaining - 1][0]:
        # Codes with equal leftover straddle the cut: any of them may take the unit
        # (§20.2 leaves equal-time choices to the professional), so report the group.
        boundary = candidates[remaining][0]
        group = tuple(code for neg_rest, _, code in candidates if neg_rest == boundary)
        ties = (group,)
        alternative = dict(units)
        alternative[candidates[remaining - 1][2]] -= 1
        alternative[candidates[remaining][2]] += 1

    return UnitAllocation(units, total, total_units, full_units, tuple(extra), ties, alternative)


def cpt_per_code(services: Sequence[TimedService], unit_minutes: int = 15) -> UnitAllocation:
    """CPT per-code method: each code is rounded on its own minutes (midpoint passed → a unit).

    No pooling, so there are no ties: 10 + 10 minutes → 1 + 1 units, 7 + 7 → nothing, and the
    total may exceed the CMS total-time figure. ``extra_unit_codes`` lists the codes whose
    remainder earned a unit, ordered as in ``cms_total_time`` (most leftover, rank_key, code).
    """
    units: dict[str, int] = {}
    full_units: dict[str, int] = {}
    total = 0
    total_units = 0
    rounded_up: list[tuple[int, tuple[Any, ...], str]] = []
    for service in _checked(services, unit_minutes):
        code = service.code
        minutes = service.minutes
        full, rest = minutes // unit_minutes, minutes % unit_minutes
        full_units[code] = full
        if 2 * rest > unit_minutes:
            full += 1
            rounded_up.append((-rest, service.rank_key, code))
        units[code] = full
        total += minutes
        total_units += full
    rounded_up.sort()
    extra = tuple(code for _, _, code in rounded_up)
    return UnitAllocation(units, total, total_units, full_units, extra, (), None)


def primary_add_on_units(
    minutes: int, primary_minutes: int, add_on_minutes: int
) -> tuple[int, int]:
    """Units of a primary/add-on time pair, returned as ``(primary, add_on)``.

    Minutes of the pair pooled: the primary gets 1 unit once the midpoint of its block is passed,
    the add-on gets units_for_minutes(remaining, add_on_minutes) of the minutes beyond the
    primary block.

    Pairs: 97129 (first 15 min) + 97130 (each additional 15); 97545 (first 2 h) + 97546 (each
    additional hour); 96112 (first hour) + 96113 (each additional 30 min). The primary is
    reported at most once a day, so it caps at one unit. Examples: 97129/97130 for 38 min →
    (1, 2); 7 min → (0, 0); 8 min → (1, 0); 97545/97546 for 200 min → (1, 1) because the 80
    minutes past two hours are one hour and twenty minutes.

    UNVERIFIED: CMS text does not settle how MACs apply the midpoint threshold to the add-on
    code (nor to hourly blocks); this follows the CPT midpoint convention and the engine must
    label the result as such. For two 15-minute codes the pair total equals
    units_for_minutes(minutes), so it agrees with the CMS table.
    """
    if primary_minutes <= 0 or add_on_minutes <= 0:
        raise ValueError("primary_minutes and add_on_minutes must be positive")
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes}")
    if 2 * minutes <= primary_minutes:
        return (0, 0)
    beyond = minutes - primary_minutes
    if beyond <= 0:
        return (1, 0)
    return (1, units_for_minutes(beyond, add_on_minutes))
