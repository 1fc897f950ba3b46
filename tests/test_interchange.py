"""The visit reader: one object, an array item by item, JSON Lines split on newline bytes; a
broken record is one finding and the next is read; unreadable input is one line."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from therabill.interchange import (
    HOLD_BACK,
    MAX_NUMBER_CHARS,
    UnreadableInput,
    VisitReader,
    read_visits,
)
from therabill.model import CheckResult


def visit(n: int, **fields: Any) -> dict[str, Any]:
    return {"visit_id": f"v{n}", "date_of_service": "2025-03-04",
            "lines": [{"code": "97110", "minutes": 20}], **fields}


def line(n: int, **fields: Any) -> str:
    return json.dumps(visit(n, **fields))


def outcome(items: list[Any]) -> list[str]:
    """Each item as its visit id, or the message of the record's finding."""
    return [item["visit_id"] if isinstance(item, dict) else item.findings[0].message
            for item in items]


def read(data: str | bytes) -> tuple[str, list[str]]:
    batch = read_visits(data)
    assert not batch.unreadable, batch.unreadable
    return batch.shape, outcome(batch.items)


def unreadable(data: str | bytes) -> str:
    batch = read_visits(data)
    assert batch.unreadable and not batch.items
    assert "\n" not in batch.unreadable
    return batch.unreadable


class Trickle(io.RawIOBase):
    """A stream that hands out its bytes a few at a time (as a pipe may)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.at, self.turn = data, sizes or [1], 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        step = self.sizes[self.turn % len(self.sizes)]
        self.turn += 1
        piece = self.data[self.at:self.at + min(step, len(buffer))]
        self.at += len(piece)
        buffer[:len(piece)] = piece
        return len(piece)


def test_shapes() -> None:
    assert read(line(1)) == ("object", ["v1"])
    assert read(json.dumps(visit(1), indent=2)) == ("object", ["v1"])
    assert read(f"{line(1)}\n{line(2)}\n") == ("lines", ["v1", "v2"])
    assert read(f"[{line(1)}, {line(2)}]") == ("array", ["v1", "v2"])
    assert read(json.dumps([visit(1), visit(2)], indent=2)) == ("array", ["v1", "v2"])
    assert read("[]") == ("array", [])
    assert read(f"[{line(1)},]") == ("array", ["v1"])  # a trailing comma is forgiven


def test_byte_order_mark_and_crlf_are_accepted() -> None:
    assert read(f"\ufeff{line(1)}\r\n{line(2)}\r\n") == ("lines", ["v1", "v2"])
    assert read(f"\ufeff[{line(1)}]") == ("array", ["v1"])


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085", "\r"])
def test_unicode_line_separators_inside_strings_do_not_split_records(separator: str) -> None:
    first = json.dumps(visit(1, patient_id=f"a{separator}b"), ensure_ascii=False)
    shape, got = read(f"{first}\n{line(2)}\n")
    assert (shape, got) == ("lines", ["v1", "v2"])
    items = read_visits(f"{first}\n{line(2)}\n").items
    assert isinstance(items[0], dict) and items[0]["patient_id"] == f"a{separator}b"


def test_a_broken_first_record_starting_with_a_bracket_is_one_finding() -> None:
    text = '[{"visit_id": "b", "date_of_service": \n' + f"{line(2)}\n{line(3)}\n"
    shape, got = read(text)
    assert shape == "lines"
    assert got[1:] == ["v2", "v3"]
    assert got[0].startswith("line 1: malformed JSON")
    shape, got = read(f"[{line(1)}\n{line(2)}\n")
    assert got[0].startswith("line 1:") and got[1:] == ["v2"]


def test_broken_records_are_findings_in_their_place() -> None:
    text = "\n".join([line(1), "{bad", "[1, 2]", "", "   ", line(4), '"text"']) + "\n"
    shape, got = read(text)
    assert shape == "lines"
    assert got[0] == "v1" and got[3] == "v4"
    assert got[1].startswith("line 2: malformed JSON")
    assert got[2] == "line 3: a visit must be a JSON object"
    assert got[4] == "line 7: a visit must be a JSON object"


@pytest.mark.parametrize(("record", "words"), [
    ('{"visit_id": "a", "visit_id": "b"}', "duplicate key 'visit_id'"),
    ('{"visit_id": "a", "lines": [{"code": "97110", "code": "97140"}]}', "duplicate key"),
    ('{"visit_id": ' + "9" * 5000 + "}", f"at most {MAX_NUMBER_CHARS}"),
    ('{"charge": 1' + "0" * 400 + ".5}", f"at most {MAX_NUMBER_CHARS}"),
    ('{"visit_id": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"charge": NaN}', "NaN is not a JSON number"),
    ('{"charge": -Infinity}', "-Infinity is not a JSON number"),
])
def test_records_json_allows_but_therabill_refuses(record: str, words: str) -> None:
    _, got = read(f"{record}\n{line(2)}\n")
    assert got[1] == "v2"
    assert got[0].startswith("line 1:") and words in got[0], got[0]


def test_a_record_that_is_not_utf8_is_one_finding() -> None:
    _, got = read(b'{"visit_id": "\xff"}\n' + line(2).encode())
    assert got == ["line 1: not UTF-8 text (byte 15)", "v2"]


def test_oversized_records_are_skipped_without_being_held() -> None:
    huge = '{"visit_id": "' + "x" * 5000 + '"}'
    reader = VisitReader(io.BytesIO(f"{huge}\n{line(2)}\n".encode()), max_record_bytes=1000,
                         chunk_size=256)
    assert outcome(list(reader)) == ["line 1: longer than 1,000 bytes; not read", "v2"]
    assert len(reader._buf) < 3000
    reader = VisitReader(io.BytesIO(f"[{line(1)}, {huge}, {line(3)}]".encode()),
                         max_record_bytes=1000, chunk_size=256)
    assert reader.shape == "array"
    assert outcome(list(reader)) == ["v1", "item 1: longer than 1,000 bytes; not read", "v3"]
    assert len(reader._buf) < 3000


def test_array_items_that_are_not_visits() -> None:
    shape, got = read(f'[1, "x", null, {line(4)}, [1]]')
    assert shape == "array"
    assert got[3] == "v4"
    assert got[0] == "item 0: a visit must be a JSON object"
    assert got[4] == "item 4: a visit must be a JSON object"


@pytest.mark.parametrize(("data", "words"), [
    ("", "empty"),
    ("  \n\n ", "empty"),
    (b"\x00\x01\x02\x03", "not text"),
    ("\ufeff", "empty"),
    ("garbage{", "no visit could be read"),
    ('"just a string"', "a visit must be a JSON object"),
    ("{bad\n{worse\n", "none of the 2 records is a visit"),
    ("[", "not closed"),
    ("[" + line(1) + ",", "not closed"),
    ("[" + line(1) + "," + line(2), "not closed"),
    ("[" + line(1) + ", " + line(2) + " " + line(3) + "]", "broken after item 1"),
    ("[" + line(1) + "] x", "text after the end"),
    ('[{"visit_id": "a"', "no visit could be read"),
])
def test_unreadable_input_is_one_line(data: str | bytes, words: str) -> None:
    assert words in unreadable(data)


def test_results_before_an_array_breaks_are_kept_by_the_stream() -> None:
    reader = VisitReader(io.BytesIO(f"[{line(1)}, {line(2)}".encode()))
    got: list[Any] = []
    with pytest.raises(UnreadableInput, match="not closed"):
        for item in reader:
            got.append(item)
    assert outcome(got) == ["v1", "v2"]


def test_input_of_nothing_but_broken_records_is_unreadable_after_the_hold_back() -> None:
    data = "{bad\n" * (HOLD_BACK + 5)
    assert f"first {HOLD_BACK:,} records" in unreadable(data)
    # once a visit was read, broken records are findings however many follow
    _, got = read(line(1) + "\n" + "{bad\n" * (HOLD_BACK + 5))
    assert len(got) == HOLD_BACK + 6


def test_a_single_object_spread_over_lines_is_one_visit() -> None:
    text = json.dumps(visit(1, patient_id="p"), indent=4)
    assert read(text) == ("object", ["v1"])


def test_the_reader_holds_a_bounded_buffer_over_a_long_input() -> None:
    data = ("\n".join(line(n) for n in range(20_000)) + "\n").encode()
    reader = VisitReader(io.BytesIO(data), chunk_size=4096)
    biggest = 0
    for _ in reader:
        biggest = max(biggest, len(reader._buf))
    assert reader.records == 20_000
    assert biggest < 4 * 4096
    array = ("[" + ",\n".join(line(n) for n in range(5_000)) + "]").encode()
    reader = VisitReader(io.BytesIO(array), chunk_size=4096)
    biggest = 0
    for _ in reader:
        biggest = max(biggest, len(reader._buf))
    assert reader.records == 5_000
    assert biggest < 4 * 4096


record_text = st.one_of(
    st.builds(lambda n, pid: json.dumps(visit(n, patient_id=pid), ensure_ascii=False),
              st.integers(0, 10**6), st.text(max_size=30)),
    st.text(max_size=40).filter(lambda t: "\n" not in t),
    st.sampled_from(['{"visit_id": "a\\\\"}', '{"x": "\\"}"}', "[", "]", "{", "}", '"']),
)


@settings(max_examples=150, deadline=None)
@example(records=["", "0"], sizes=[1], shape="lines")  # a blank first line, a byte at a time
@given(records=st.lists(record_text, min_size=1, max_size=8),
       sizes=st.lists(st.integers(1, 17), min_size=1, max_size=5),
       shape=st.sampled_from(["lines", "array"]))
def test_how_the_bytes_arrive_never_changes_what_is_read(records: list[str], sizes: list[int],
                                                          shape: str) -> None:
    if shape == "lines":
        data = ("\n".join(records) + "\n").encode()
    else:
        data = ("[" + ",\n".join(records) + "]").encode()

    def run(stream: Any) -> tuple[str, list[Any]] | str:
        try:
            reader = VisitReader(stream, chunk_size=16)
            items = [item.findings[0].message if isinstance(item, CheckResult) else item
                     for item in reader]
            return reader.shape, items
        except UnreadableInput as exc:
            return str(exc).split(" (")[0]

    whole = run(io.BytesIO(data))
    assert run(io.BufferedReader(Trickle(data, sizes), buffer_size=8)) == whole
    if isinstance(whole, tuple) and shape == "lines" and whole[0] == "lines":
        non_blank = [r for r in records if r.strip(" \t\r\n")]
        assert len(whole[1]) == len(non_blank)  # one item per record, never lost or split
