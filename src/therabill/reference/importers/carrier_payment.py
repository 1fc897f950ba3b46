"""CMS carrier payment files (``PFAL25A.TXT``, ``PFREV25C.txt`` …): published fees per locality.

Each row is 16 quoted, comma-separated, fixed-width fields: year, carrier (MAC), locality,
HCPCS, modifier, non-facility fee, facility fee, filler, PC/TC indicator, status, multiple
procedure indicator, non-facility and facility amounts after the multiple procedure reduction
(0.00 where none applies), OPPS indicator, OPPS non-facility and facility caps. Amounts are
zero-padded ("0000026.83"). ``"TRL-`` / ``"HDR-`` lines carry the AMA/ADA notices and are skipped.

These files are the cross-check for the engine: its fee for a code and locality must equal CMS's.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from therabill.reference.importers.common import (
    DataFileError,
    pad_digits,
    parse_decimal,
    read_text,
)

_FIELDS = (
    "year", "carrier", "locality", "HCPCS", "modifier", "non-facility fee", "facility fee",
    "filler", "PCTC", "status", "mult-proc", "non-facility MPPR amount", "facility MPPR amount",
    "OPPS indicator", "OPPS non-facility cap", "OPPS facility cap",
)
_YEAR = re.compile(r"20\d{2}")
_CODE = re.compile(r"[0-9A-Z]{5}")
_MODIFIER = re.compile(r"(?:[0-9A-Z]{2})?")
_ONE_CHARACTER = re.compile(r"[0-9A-Z]")
_NOTICE = ('"TRL', '"HDR', "TRL", "HDR")
_FEE_MAX = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class CarrierPayment:
    """One published fee: a code (and modifier) in one locality, before and after the MPPR."""

    year: int
    mac: str
    locality: str
    code: str
    modifier: str
    nonfacility_fee: Decimal
    facility_fee: Decimal
    pctc: str
    status: str
    mult_proc: str
    nonfacility_mppr: Decimal
    facility_mppr: Decimal

    @property
    def locality_id(self) -> str:
        return f"{self.mac}-{self.locality}"


def read_carrier_payment_file(path: Path) -> list[CarrierPayment]:
    """Read every fee row of a carrier payment file, in file order."""
    payments: list[CarrierPayment] = []
    for number, raw in enumerate(read_text(path).split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.startswith(_NOTICE):
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(_FIELDS):
            raise DataFileError(path, f"{len(fields)} fields, expected {len(_FIELDS)}", number)
        cell = dict(zip(_FIELDS, (field.strip() for field in fields), strict=True))
        payments.append(CarrierPayment(
            year=int(_checked(path, number, cell, "year", _YEAR, "a year")),
            mac=pad_digits(cell["carrier"], 5, path, number, "carrier"),
            locality=pad_digits(cell["locality"], 2, path, number, "locality"),
            code=_checked(path, number, cell, "HCPCS", _CODE, "a 5-character HCPCS code"),
            modifier=_checked(path, number, cell, "modifier", _MODIFIER,
                              "a 2-character modifier or blank"),
            nonfacility_fee=_amount(path, number, cell, "non-facility fee"),
            facility_fee=_amount(path, number, cell, "facility fee"),
            pctc=_checked(path, number, cell, "PCTC", _ONE_CHARACTER, "a one-digit indicator"),
            status=_checked(path, number, cell, "status", _ONE_CHARACTER, "a status code"),
            mult_proc=_checked(path, number, cell, "mult-proc", _ONE_CHARACTER,
                               "a one-digit indicator"),
            nonfacility_mppr=_amount(path, number, cell, "non-facility MPPR amount"),
            facility_mppr=_amount(path, number, cell, "facility MPPR amount"),
        ))
    if not payments:
        raise DataFileError(path, "no payment rows")
    return payments


def _checked(path: Path, line: int, cell: dict[str, str], column: str,
             pattern: re.Pattern[str], what: str) -> str:
    value = cell[column]
    if not pattern.fullmatch(value):
        raise DataFileError(path, f"{value!r} is not {what}", line, column)
    return value


def _amount(path: Path, line: int, cell: dict[str, str], column: str) -> Decimal:
    text = cell[column]
    value = parse_decimal(text, path, line, column) if text else None
    if value is None or not 0 <= value < _FEE_MAX:
        raise DataFileError(path, f"{text!r} is not a dollar amount", line, column)
    return value
