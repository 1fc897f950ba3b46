"""Reading visits from a byte stream, one record at a time: a JSON object, a JSON array, or JSON
Lines.

Nothing is loaded whole: JSON Lines are split on ``\\n`` bytes only (``\\r\\n`` tolerated; the
Unicode line separators U+2028, U+2029 and U+0085 are ordinary characters inside strings), and a
JSON array is walked item by item with a small byte scanner that finds where each item ends
before the item alone is parsed. A record that cannot be read (malformed JSON, not UTF-8, not an
object, a duplicate key, a number of more than ``MAX_NUMBER_CHARS`` characters, nesting too deep,
more than ``MAX_RECORD_BYTES``) becomes a result with one ``input`` finding, and the next record is
read. Only input that cannot be read at all raises ``UnreadableInput``, with a one-line message:
empty or binary input, an array that is not closed or whose items are not separated, text after
the end of an array, or input whose first ``HOLD_BACK`` records are all unreadable.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from therabill.decision import decide
from therabill.model import CheckResult, DataUsed, Totals

Shape = Literal["object", "array", "lines"]
Item = dict[str, Any] | CheckResult

# A record (a line, an array item, the one object) longer than this is reported, not read.
MAX_RECORD_BYTES = 1 << 20
# A number literal longer than this (sign, digits, point and exponent) is refused unread.
MAX_NUMBER_CHARS = 40
# Lines or single-object input whose first records are all unreadable is not a visit file.
HOLD_BACK = 1_000
_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"

_OPEN_ARRAY, _CLOSE_ARRAY, _OPEN_OBJECT, _CLOSE_OBJECT = 0x5B, 0x5D, 0x7B, 0x7D
_QUOTE, _BACKSLASH, _COMMA, _NEWLINE = 0x22, 0x5C, 0x2C, 0x0A
_STRUCTURAL = re.compile(rb'[\[\]{}"]')
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_SCALAR_END = re.compile(rb"[\s,\]}]")
_NOT_WHITESPACE = re.compile(rb"[^ \t\r\n]")


class UnreadableInput(Exception):
    """The input as a whole cannot be read as visits; the message is one line."""


class _Refused(ValueError):
    """A record that is JSON but not one therabill reads (a duplicate key, a huge number)."""


def bad_record(where: str, problem: str) -> CheckResult:
    """The result standing for a record that could not be read: one ``input`` finding."""
    return CheckResult(
        visit_id="", patient_id=None, date_of_service=None, payer="", unit_method=None,
        lines=[], totals=Totals(),
        findings=[decide("input", f"{where}: {problem}", "therabill visit format", "error")],
        data=DataUsed())


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {_quoted(key)}; each field may appear once")
            seen.add(key)
    return found


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text):,} characters; at most {MAX_NUMBER_CHARS} "
                       "are read")
    return int(text)


def _number(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text):,} characters; at most {MAX_NUMBER_CHARS} "
                       "are read")
    return float(text)


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number; numbers must be finite")


_DECODE: Callable[[str], Any] = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_int=_integer, parse_float=_number,
    parse_constant=_constant).decode


def _quoted(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 40 else f"{shown[:36]}…{shown[-1]}"


def parse_record(data: bytes, where: str) -> Item:
    """One record's bytes as a visit dict, or the result saying why it cannot be read."""
    if len(data) > MAX_RECORD_BYTES:
        return bad_record(where, f"longer than {MAX_RECORD_BYTES:,} bytes; not read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad_record(where, f"not UTF-8 text (byte {exc.start + 1})")
    try:
        value = _DECODE(text)
    except _Refused as exc:
        return bad_record(where, str(exc))
    except json.JSONDecodeError as exc:
        return bad_record(where, f"malformed JSON ({exc.msg}, column {exc.colno})")
    except RecursionError:
        return bad_record(where, "nested too deeply to be a visit")
    except ValueError as exc:  # anything else the decoder refuses, in one line
        return bad_record(where, f"malformed JSON ({str(exc).splitlines()[0][:80]})")
    if not isinstance(value, dict):
        return bad_record(where, "a visit must be a JSON object")
    return value


@dataclass(slots=True)
class _Scan:
    """Where a JSON value being scanned stands; kept between reads of more bytes."""

    start: int
    pos: int
    depth: int = 0
    in_string: bool = False
    scalar: bool = False
    oversized: bool = False
    end: int = -1


@dataclass
class VisitReader:
    """Visits from a binary stream (a file opened ``rb``, ``sys.stdin.buffer``).

    ``shape`` is known once the reader is built (it reads only as far as it must); iterating
    yields each record in input order, a visit dict or the result of a record that could not be
    read. ``records`` counts the records read so far. Errors that end the reading raise
    ``UnreadableInput``.
    """

    stream: BinaryIO
    max_record_bytes: int = MAX_RECORD_BYTES
    chunk_size: int = _CHUNK
    shape: Shape = "lines"
    records: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0
    _eof: bool = False
    _mode: Literal["array", "lines", "object"] = "lines"
    _lines_dropped: int = 0  # newlines in whitespace dropped before the first record
    _read: Callable[[int], bytes] | None = None

    def __post_init__(self) -> None:
        read1 = getattr(self.stream, "read1", None)  # what is there now, for slow producers
        self._read = read1 if callable(read1) else self.stream.read
        self._detect()

    # --- bytes ----------------------------------------------------------------------------

    def _fill(self) -> bool:
        """Read more bytes; False at the end of the input."""
        if self._eof:
            return False
        assert self._read is not None
        try:
            chunk = self._read(self.chunk_size)
        except OSError as exc:
            raise UnreadableInput(f"cannot read the input: {exc.strerror or exc}") from exc
        except ValueError as exc:  # a closed stream
            raise UnreadableInput(f"cannot read the input: {exc}") from exc
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _compact(self) -> None:
        """Drop the bytes before ``_pos`` (called only where no other offset is held)."""
        if self._pos > self.chunk_size and self._pos * 2 > len(self._buf):
            del self._buf[:self._pos]
            self._pos = 0

    def _skip_whitespace(self, pos: int) -> int:
        """The offset of the next byte that is not whitespace (len(buf) at the end). Called
        with ``pos == _pos``, it may drop the whitespace read, so only its answer is valid."""
        movable = pos == self._pos
        while True:
            found = _NOT_WHITESPACE.search(self._buf, pos)
            if found is not None:
                return found.start()
            pos = len(self._buf)
            if movable:
                self._lines_dropped += self._buf.count(b"\n", self._pos, pos)
                self._pos = pos
                self._compact()
                pos = self._pos
            if not self._fill():
                return pos

    # --- what the input is ---------------------------------------------------------------

    def _detect(self) -> None:
        # The first line (at most one chunk of it) decides whether the input is text at all,
        # however the bytes arrive.
        while b"\n" not in self._buf and len(self._buf) < self.chunk_size and self._fill():
            pass
        if self._buf.startswith(_BOM):
            self._pos = 3
        if b"\x00" in self._buf[:self.chunk_size].split(b"\n", 1)[0]:
            raise UnreadableInput("the input is not text (it holds NUL bytes); visits are "
                                  "UTF-8 JSON")
        first = self._skip_whitespace(self._pos)
        if first >= len(self._buf):
            raise UnreadableInput("the input is empty")
        if self._buf[first] == _OPEN_ARRAY and self._confirm_array(first):
            self._mode = self.shape = "array"
            self._pos = first
            return
        scan = self._scan_from(first, limit=self.max_record_bytes)
        if scan.end < 0:  # a first record that never ends: read line by line
            self._mode, self.shape = "lines", "lines" if self._more_lines() else "object"
            return
        multi_line = _NEWLINE in self._buf[first:scan.end]
        after = self._skip_whitespace(scan.end)
        if after >= len(self._buf):
            self.shape = "object"
            self._mode = "object" if multi_line else "lines"
        else:
            self._mode = self.shape = "lines"

    def _more_lines(self) -> bool:
        """Whether a line that is not blank follows the first (looked at within bounds)."""
        newline = self._buf.find(b"\n", self._pos)
        while newline < 0 and len(self._buf) - self._pos <= self.max_record_bytes:
            if not self._fill():
                return False
            newline = self._buf.find(b"\n", self._pos)
        if newline < 0:
            return True  # an oversized first line: assume more follow
        return self._skip_whitespace(newline + 1) < len(self._buf)

    def _confirm_array(self, start: int) -> bool:
        """An input starting with ``[`` is an array once its first item is followed by ``,`` or
        ``]`` (or it is ``[]``); otherwise it is JSON Lines whose first line is broken."""
        after = self._skip_whitespace(start + 1)
        if after >= len(self._buf):
            raise UnreadableInput("the JSON array is not closed (no item was read)")
        if self._buf[after] == _CLOSE_ARRAY:
            return True
        scan = self._scan_from(after, limit=self.max_record_bytes)
        if scan.end < 0:
            return False
        following = self._skip_whitespace(scan.end)
        return following < len(self._buf) and self._buf[following] in (_COMMA, _CLOSE_ARRAY)

    # --- scanning one value --------------------------------------------------------------

    def _scan_from(self, start: int, limit: int) -> _Scan:
        """Scan the value at ``start`` without consuming it; ``end`` stays -1 if the input
        ends first or the value runs past ``limit`` bytes."""
        scan = _Scan(start, start)
        while not self._advance(scan):
            if scan.pos - scan.start > limit:
                return scan
            if not self._fill():
                self._advance(scan)  # a bare scalar ends with the input
                return scan
        return scan

    def _advance(self, scan: _Scan) -> bool:
        """Move the scan over the bytes held; True once the value is complete."""
        buf = self._buf
        size = len(buf)
        pos = scan.pos
        if pos == scan.start and scan.depth == 0 and not scan.in_string:
            if pos >= size:
                return False
            first = buf[pos]
            if first == _QUOTE:
                scan.in_string, pos = True, pos + 1
            elif first in (_OPEN_ARRAY, _OPEN_OBJECT):
                scan.depth, pos = 1, pos + 1
            else:
                scan.scalar = True
        if scan.scalar:
            found = _SCALAR_END.search(buf, pos)
            if found is None:
                scan.pos = size
                if self._eof:
                    scan.end = size
                    return True
                return False
            scan.pos = scan.end = found.start()
            return True
        while True:
            if scan.in_string:
                body = _STRING_BODY.match(buf, pos)
                pos = body.end() if body is not None else pos
                if pos >= size or buf[pos] == _BACKSLASH:  # more bytes needed
                    scan.pos = pos
                    return False
                scan.in_string = False
                pos += 1
                if scan.depth == 0:
                    scan.pos = scan.end = pos
                    return True
                continue
            found = _STRUCTURAL.search(buf, pos)
            if found is None:
                scan.pos = size
                return False
            pos = found.end()
            byte = buf[found.start()]
            if byte == _QUOTE:
                scan.in_string = True
            elif byte in (_OPEN_ARRAY, _OPEN_OBJECT):
                scan.depth += 1
            else:
                scan.depth -= 1
                if scan.depth == 0:
                    scan.pos = scan.end = pos
                    return True

    # --- records -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Item]:
        if self._mode == "array":
            return self._array_items()
        if self._mode == "object":
            return self._held_back(self._one_object())
        return self._held_back(self._lines())

    def _one_object(self) -> Iterator[Item]:
        first = self._skip_whitespace(self._pos)
        scan = self._scan_from(first, limit=self.max_record_bytes)
        self.records += 1
        yield parse_record(bytes(self._buf[first:scan.end]), "the visit")

    def _lines(self) -> Iterator[Item]:
        number = self._lines_dropped  # lines are counted from the top of the input
        while True:
            line, oversized = self._next_line()
            if line is None:
                return
            number += 1
            if oversized:
                self.records += 1
                yield bad_record(f"line {number}", f"longer than {self.max_record_bytes:,} "
                                                   "bytes; not read")
                continue
            if not line.strip(_WHITESPACE):
                continue
            self.records += 1
            yield parse_record(line, f"line {number}")

    def _next_line(self) -> tuple[bytes | None, bool]:
        """The next line's bytes without its newline (None at the end), and whether it was
        too long to keep (its bytes then skipped, not held)."""
        oversized = False
        while True:
            newline = self._buf.find(b"\n", self._pos)
            if newline >= 0:
                line = b"" if oversized else bytes(self._buf[self._pos:newline])
                self._pos = newline + 1
                return line, oversized
            if len(self._buf) - self._pos > self.max_record_bytes:
                oversized = True
                self._pos = len(self._buf)
            self._compact()
            if not self._fill():
                if self._pos >= len(self._buf) and not oversized:
                    return None, False
                line = b"" if oversized else bytes(self._buf[self._pos:])
                self._pos = len(self._buf)
                return line, oversized

    def _held_back(self, items: Iterator[Item]) -> Iterator[Item]:
        """Unreadable records are held until a readable one shows the input is visits."""
        held: list[CheckResult] = []
        for item in items:
            if isinstance(item, dict):
                yield from held
                held.clear()
                yield item
                yield from items
                return
            held.append(item)
            if len(held) >= HOLD_BACK:
                raise UnreadableInput(f"the first {HOLD_BACK:,} records are all unreadable "
                                      f"(first: {_first_message(held)})")
        if held:
            if len(held) == 1:
                raise UnreadableInput(f"no visit could be read: {_first_message(held)}")
            raise UnreadableInput(f"none of the {len(held)} records is a visit (first: "
                                  f"{_first_message(held)})")

    def _array_items(self) -> Iterator[Item]:
        self._pos += 1  # past "["
        self._pos = self._skip_whitespace(self._pos)
        index = 0
        while True:
            if self._pos >= len(self._buf):
                raise UnreadableInput(f"the JSON array is not closed (ended after {index} "
                                      "items)")
            if self._buf[self._pos] == _CLOSE_ARRAY:
                break
            self._compact()
            scan = _Scan(self._pos, self._pos)
            while not self._advance(scan):
                if scan.pos - scan.start > self.max_record_bytes:
                    # Too long to keep: drop what is scanned and go on looking for its end.
                    scan.oversized = True
                    del self._buf[:scan.pos]
                    scan.start = scan.pos = self._pos = 0
                if not self._fill():
                    raise UnreadableInput(f"the JSON array is not closed (item {index} never "
                                          "ends)")
            self.records += 1
            if scan.oversized:
                yield bad_record(f"item {index}", f"longer than {self.max_record_bytes:,} "
                                                  "bytes; not read")
            else:
                yield parse_record(bytes(self._buf[scan.start:scan.end]), f"item {index}")
            index += 1
            self._pos = scan.end
            self._pos = self._skip_whitespace(self._pos)
            if self._pos >= len(self._buf):
                continue  # reported as not closed above
            byte = self._buf[self._pos]
            if byte == _COMMA:
                self._pos += 1
                self._pos = self._skip_whitespace(self._pos)
            elif byte != _CLOSE_ARRAY:
                raise UnreadableInput(f"the JSON array is broken after item {index - 1}: "
                                      f"expected ',' or ']', found {_byte(byte)}")
        self._pos += 1
        if self._skip_whitespace(self._pos) < len(self._buf):
            raise UnreadableInput(f"text after the end of the JSON array (after {index} items)")


def _byte(byte: int) -> str:
    return repr(chr(byte)) if 0x20 <= byte < 0x7F else f"byte 0x{byte:02x}"


def _first_message(held: list[CheckResult]) -> str:
    return held[0].findings[0].message


@dataclass
class VisitBatch:
    """Every record of a text at once (small inputs and tests; the CLI streams instead)."""

    shape: Shape = "object"
    items: list[Item] = field(default_factory=list)
    unreadable: str = ""


def read_visits(text: str | bytes) -> VisitBatch:
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        reader = VisitReader(io.BytesIO(data))
        return VisitBatch(reader.shape, list(reader))
    except UnreadableInput as exc:
        return VisitBatch(unreadable=str(exc))
