"""Layout helpers shared by the views: tables that fit the console without breaking words."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Table

K = TypeVar("K")


def longest_word(texts: Iterable[str]) -> int:
    """The width of the longest word in ``texts``: a column narrower than it breaks a word."""
    return max((len(word) for text in texts for word in text.split()), default=1)


def fits(console: Console, renderable: RenderableType, wrapped: bool = True) -> bool:
    """Whether ``renderable`` prints at the console's width without breaking a word.

    ``wrapped=False`` asks whether it fits with no cell wrapped at all; use it for tables with
    more than one wrapping column, which rich may narrow below a column's minimum.
    """
    # Measured against a very wide console: rich clamps a measurement to the width it is given.
    roomy = console.options.update_width(10_000)
    measured = Measurement.get(console, roomy, renderable)
    return (measured.minimum if wrapped else measured.maximum) <= console.width


def in_groups(console: Console, keys: Sequence[K],
              build: Callable[[Sequence[K]], Table]) -> list[Table]:
    """As few tables as fit: all ``keys`` side by side if they fit, else groups of fewer.

    ``build`` makes one table for a group of keys (codes, say); each group keeps the table's
    leading columns. One key a table is the last resort, printed whatever its width.
    """
    for count in range(1, len(keys) + 1):
        size = -(-len(keys) // count)  # groups of even size: 6 codes in two tables are 3 + 3
        tables = [build(keys[start:start + size]) for start in range(0, len(keys), size)]
        if all(fits(console, table) for table in tables):
            return tables
    return [build(keys[start:start + 1]) for start in range(len(keys))]
