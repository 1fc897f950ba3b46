"""Writing results as JSON, one at a time, in three levels of detail.

``ResultWriter(stream, shape, detail)`` serialises each ``CheckResult`` with orjson straight from
the result types (no intermediate dicts for the full form) and writes it as soon as it is ready.
The output follows the input: one object for one visit, an array for an array, JSON Lines for
JSON Lines. Money is always a string with two decimals ("60.00"), never ``-0``.

Detail:

- ``full``: the whole result, every decision with its message and source (``CheckResult``).
- ``lines``: the claim lines with code, units, modifiers, status, minutes and every amount, and
  the rule ids that decided each line (pricing's info steps are the amount fields, so they are
  not repeated as rule ids; empty values, ``assistant_minutes`` of 0 and a ``discipline`` its
  plan-of-care modifier already says are left out); visit findings not already said on a line,
  as rule, severity and codes, with the message only for errors; no other prose. The data
  releases, parameters and notes are written once per run: JSON Lines get a ``data`` record
  the first time a set is used (``{"record": "data", "id": "d1", ...}``) and each result names
  it (``"data": "d1"``); JSON gets ``{"detail": "lines", "results": [...], "data": {"d1":
  ...}}``. The first JSON Lines record is a header, ``{"record": "header", ...}``.
- ``totals``: per visit the totals, the count of lines by status and of error findings.
"""

from __future__ import annotations

import dataclasses
import operator
import time
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any, Literal

import orjson

from therabill import __version__
from therabill.decision import Decision
from therabill.interchange import Shape
from therabill.model import CheckResult, ClaimLine, DataUsed, Totals
from therabill.money import CENT

Detail = Literal["full", "lines", "totals"]
DETAILS: tuple[Detail, ...] = ("full", "lines", "totals")

# Distinct data sets remembered for --detail lines; past this many, results carry theirs inline.
MAX_DATA_SETS = 10_000
# Written results are handed to the stream at least this often (and after the first result).
FLUSH_SECONDS = 0.1
_FLUSH_BYTES = 1 << 16
_ZERO = Decimal(0)


def money_text(value: Decimal) -> str:
    """An amount as JSON writes it: two decimals, never a negative zero."""
    text = str(value)
    point = text.find(".")
    if point >= 0 and len(text) - point == 3:  # already cents, as the engine's amounts are
        return "0.00" if text == "-0.00" else text
    if not value:
        return "0.00"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return str(value.quantize(CENT))
    return text  # not a whole-cent amount (never money in a result): as it is


class Encoder:
    """orjson with therabill's forms of the values it cannot write itself: money as text with
    two decimals, decisions as objects. It remembers nothing, so memory stays flat."""

    @staticmethod
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return money_text(value)
        if isinstance(value, Decision):
            return {"rule": value.rule, "severity": value.severity, "message": value.message,
                    "source": value.source, "codes": value.codes}
        if isinstance(value, tuple):
            return list(value)
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")

    def dumps(self, value: Any, *, indent: bool = False) -> bytes:
        return orjson.dumps(value, default=self.default,
                            option=orjson.OPT_INDENT_2 if indent else 0)


def dumps(value: Any, *, indent: bool = False) -> bytes:
    """JSON bytes of a result (or any part of one) as therabill writes them."""
    return Encoder().dumps(value, indent=indent)


# Field names read by name from the result types, so fields added later are written too.
_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(ClaimLine) if f.name != "steps")
_TOTAL_FIELDS = tuple(f.name for f in dataclasses.fields(Totals))
_line_values = operator.attrgetter(*_LINE_FIELDS)
_PLAN_MODIFIER = {"PT": "GP", "OT": "GO", "SLP": "GN"}


def _compact_decision(decision: Decision) -> dict[str, Any]:
    found: dict[str, Any] = {"rule": decision.rule, "severity": decision.severity}
    if decision.codes:
        found["codes"] = list(decision.codes)
    if decision.severity == "error":
        found["message"] = decision.message  # rare, and what to fix
    return found


def compact_line(line: ClaimLine) -> dict[str, Any]:
    """A claim line without prose: every field that has a value, and the deciding rule ids."""
    # (an empty list is left out; comparing each value with [] instead costs a microsecond for
    # every Decimal)
    out = {name: value for name, value in zip(_LINE_FIELDS, _line_values(line), strict=True)
           if value is not None and (value or value.__class__ is not list)}
    if not out.get("assistant_minutes", 1):
        del out["assistant_minutes"]
    if _PLAN_MODIFIER.get(out.get("discipline", "")) in line.modifiers:
        del out["discipline"]  # the plan-of-care modifier on the line says it
    _drop_implied(out)
    # Pricing's info steps are the amount fields themselves, and a modifier kept as entered is
    # no event; every other step is named.
    out["rules"] = [step.rule for step in line.steps
                    if step.severity != "info" or not step.rule.startswith(_QUIET_INFO)]
    return out


# In the compact form a reduction that is zero is left out, ``threshold_amount`` where it
# equals ``allowed`` and ``coinsurance`` where it equals ``patient_owes`` (no deductible): a
# missing one of these means exactly that (documented).
_ZERO_LEFT_OUT = ("mppr_reduction", "charge_reduction", "deductible", "assistant_reduction",
                  "sequestration")
_QUIET_INFO = ("pricing.", "modifier.")


def _drop_implied(out: dict[str, Any]) -> None:
    out.pop("reductions", None)  # assistant_reduction + sequestration
    out.pop("fee_schedule_amount", None)  # the unit price: a reference figure (full detail)
    for name in _ZERO_LEFT_OUT:
        value = out.get(name)
        if value is not None and not value:
            del out[name]
    if "threshold_amount" in out and out["threshold_amount"] == out.get("allowed"):
        del out["threshold_amount"]
    if "coinsurance" in out and out["coinsurance"] == out.get("patient_owes"):
        del out["coinsurance"]


def _totals(totals: Totals, compact: bool = True) -> dict[str, Any]:
    out = {name: value for name in _TOTAL_FIELDS
           if (value := getattr(totals, name, None)) is not None}
    if compact:
        _drop_implied(out)
    return out


def _head(result: CheckResult) -> dict[str, Any]:
    return {"visit_id": result.visit_id, "patient_id": result.patient_id,
            "date_of_service": result.date_of_service, "payer": result.payer}


def totals_form(result: CheckResult) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for line in result.lines:
        statuses[line.status] = statuses.get(line.status, 0) + 1
    return {**_head(result), "totals": _totals(result.totals, compact=False),
            "statuses": statuses,
            "errors": sum(1 for f in result.findings if f.severity == "error")}


class ResultWriter:
    """Writes results to a binary stream as they come; ``close()`` ends the document.

    Output that was written stays valid JSON (or JSON Lines) when ``close()`` is called after
    an error part way through, so a script can use the results it got.
    """

    def __init__(self, stream: IO[bytes], shape: Shape, detail: Detail = "full",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if detail not in DETAILS:
            raise ValueError(f"detail must be one of {', '.join(DETAILS)}, not {detail!r}")
        self.stream = stream
        self.shape = shape
        self.detail = detail
        self.written = 0
        self._encoder = Encoder()
        self._clock = clock
        self._pending = bytearray()
        self._last_flush = clock()
        self._data_ids: dict[tuple[Any, ...], str] = {}
        self._data_table: list[tuple[str, bytes]] = []  # JSON shapes: written at the end
        self._closed = False
        self._envelope = detail == "lines" and shape != "lines"
        if self._envelope:
            self._pending += b'{"detail":"lines","therabill":"' + __version__.encode() + \
                b'","results":[\n'
        elif shape == "array":
            self._pending += b"[\n"
        elif detail == "lines":
            self._pending += dumps({"record": "header", "therabill": __version__,
                                    "detail": detail}) + b"\n"

    def write(self, result: CheckResult) -> None:
        pending = self._pending
        if self.written and self.shape != "lines":
            pending += b",\n"
        if self.detail == "full":
            pending += self._encoder.dumps(result, indent=self.shape == "object")
        elif self.detail == "totals":
            pending += self._encoder.dumps(totals_form(result), indent=self.shape == "object")
        else:
            pending += self._encoder.dumps(self._compact(result))
        if self.shape == "lines":
            pending += b"\n"
        self.written += 1
        now = self._clock()
        if (self.written == 1 or len(pending) >= _FLUSH_BYTES
                or now - self._last_flush >= FLUSH_SECONDS):
            self._flush(now)

    def _compact(self, result: CheckResult) -> dict[str, Any]:
        out = {key: value for key, value in _head(result).items() if value is not None}
        if result.unit_method is not None:
            out["unit_method"] = result.unit_method
        lines = out["lines"] = [compact_line(line) for line in result.lines]
        out["totals"] = _totals(result.totals)
        # A finding already said on a line (the same decision, or an info of a rule the lines
        # name) is not repeated.
        on_lines = {step for line in result.lines for step in line.steps}
        named = {rule for line in lines for rule in line["rules"]}
        out["findings"] = [_compact_decision(f) for f in result.findings
                           if f not in on_lines and not (f.severity == "info" and f.rule in named)]
        data = self._data_ref(result.data)
        if data is not None:
            out["data"] = data
        return out

    def _data_ref(self, data: DataUsed) -> Any:
        if not (data.releases or data.parameters or data.notes):
            return None
        key = (tuple(data.releases.items()), tuple(data.parameters.items()), tuple(data.notes))
        known = self._data_ids.get(key)
        if known is not None:
            return known
        if len(self._data_ids) >= MAX_DATA_SETS:
            return data  # too many distinct sets to remember: inline
        ident = f"d{len(self._data_ids) + 1}"
        self._data_ids[key] = ident
        body = self._encoder.dumps(data)
        if self.shape == "lines":
            self._pending += b'{"record":"data","id":"' + ident.encode() + b'",' + body[1:] + \
                b"\n"
        else:
            self._data_table.append((ident, body))
        return ident

    def _flush(self, now: float) -> None:
        if self._pending:
            self.stream.write(self._pending)
            self._pending.clear()
        self.stream.flush()
        self._last_flush = now

    def close(self) -> None:
        """End the document (the array, the envelope) and flush; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._envelope:
            self._pending += b"\n],\"data\":{"
            self._pending += b",".join(b'"' + ident.encode() + b'":' + body
                                       for ident, body in self._data_table)
            self._pending += b"}}\n"
        elif self.shape == "array":
            self._pending += b"\n]\n" if self.written else b"]\n"
        elif self.shape == "object" and self.written:
            self._pending += b"\n"
        self._flush(self._clock())
