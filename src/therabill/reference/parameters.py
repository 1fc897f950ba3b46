"""Dated parameters: every rate, threshold and conversion factor CMS changes over time.

Each parameter is a YAML file in ``parameters/``: a description, a unit, and values keyed by the
date they take effect, each with its source. A value holds until the next dated entry; a ``null``
value closes a period (for example a statutory floor that lapsed). Files are validated on load and
unknown keys are errors, so a misspelt key can never be silently ignored.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from therabill.reference.paths import PARAMETERS_DIR
from therabill.yamlfile import read_model


class ParameterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Decimal | None
    source: str
    note: str = ""

    @field_validator("source")
    @classmethod
    def _source_given(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("every value needs its source")
        return text


class ParameterFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    unit: Literal["USD", "USD per RVU", "fraction", "index"]
    values: dict[date, ParameterEntry]

    @field_validator("values")
    @classmethod
    def _some_values(cls, values: dict[date, ParameterEntry]) -> dict[date, ParameterEntry]:
        if not values:
            raise ValueError("a parameter needs at least one dated value")
        return values


@dataclass(frozen=True, slots=True)
class DatedValue:
    """A parameter's value on a date, with the period it holds for and its source."""

    name: str
    value: Decimal
    effective_from: date
    effective_to: date | None  # last day, None when open-ended
    source: str
    note: str


class ParameterError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    description: str
    unit: str
    starts: tuple[date, ...]
    entries: tuple[ParameterEntry, ...]
    # One ready answer per period, so a look-up is a bisection and an index (batch hot path).
    answers: tuple[DatedValue | None, ...] = ()

    @classmethod
    def of(cls, name: str, description: str, unit: str, starts: tuple[date, ...],
           entries: tuple[ParameterEntry, ...]) -> Parameter:
        answers = []
        for index, (start, entry) in enumerate(zip(starts, entries, strict=True)):
            end = None
            if index + 1 < len(starts):
                end = date.fromordinal(starts[index + 1].toordinal() - 1)
            answers.append(None if entry.value is None else
                           DatedValue(name, entry.value, start, end, entry.source, entry.note))
        return cls(name, description, unit, starts, entries, tuple(answers))

    def at(self, day: date) -> DatedValue | None:
        """The value in force on ``day``, or None when the parameter has no value then."""
        index = bisect.bisect_right(self.starts, day) - 1
        return self.answers[index] if index >= 0 else None

    def periods(self) -> list[DatedValue]:
        """Every period with a value, oldest first (for ``data info`` and documentation)."""
        return [answer for answer in self.answers if answer is not None]


def load_parameter(path: Path) -> Parameter:
    parsed = read_model(path, ParameterFile, ParameterError, path.name)
    starts = tuple(sorted(parsed.values))
    return Parameter.of(path.stem, parsed.description, parsed.unit, starts,
                        tuple(parsed.values[s] for s in starts))


@dataclass(frozen=True, slots=True)
class Parameters:
    """All dated parameters by name."""

    by_name: dict[str, Parameter]

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.by_name[name]
        except KeyError:
            raise ParameterError(f"no parameter named {name!r}") from None

    def at(self, name: str, day: date) -> DatedValue | None:
        return self[name].at(day)


@lru_cache(maxsize=4)
def load_parameters(directory: Path = PARAMETERS_DIR) -> Parameters:
    return Parameters({p.stem: load_parameter(p) for p in sorted(directory.glob("*.yaml"))})
