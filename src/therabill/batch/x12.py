"""Read X12 837P (005010X222A1) professional claims as visits to check.

By default pyx12 validates the file against the 005010X222A1 implementation guide's map, and
hands each segment, as it goes, to a collector that gathers the claims. A claim with a
validation error becomes a ``Reject`` naming the segment and element; errors in a subscriber's
loops reject that subscriber's claims; errors in the envelope are rejects of their own. The
other claims of the file are still yielded, each as one visit per date of service.
``validate=False`` skips the map (pyx12's raw tokenizer, envelope checks only) for speed; the
collector, and so the visits, are the same in both modes. (x12sdk, the other maintained
choice, parses a whole transaction into one model: one bad claim would fail all its claims.)

How 837P facts become visit fields:

- ``visit_id``: CLM01, the patient control number; ``CLM01-YYYY-MM-DD`` when the claim's lines
  span several dates (one visit per date).
- ``patient_id``: the subscriber's member id (2010BA NM109); for a dependent patient (loop
  2000C) the member id, the patient's last and first names and date of birth joined by ``/``.
- ``date_of_service``: the line's DTP*472 (the first day of an RD8 range, with a note).
- ``payer``: ``medicare`` when SBR09 is ``MB`` (Medicare Part B); otherwise the caller's
  ``payers`` mapping (by payer id, 2010BB NM109, then by payer name, NM103), and failing that
  the payer name in lower case with runs of other characters turned into ``-``
  (``BLUE RIVER HEALTH`` → ``blue-river-health``): add a payer policy file of that id, or map it.
- lines: SV101-2 code, SV101-3..6 modifiers, SV102 charge, SV104 ``units`` (billed units; an
  837P carries no minutes) or ``minutes`` when SV103 is ``MJ``; ``discipline`` from GP/GO/GN.
- the visit's ``discipline``: the one its lines' GP/GO/GN modifiers name (the most frequent if
  they differ; absent when none does, so the engine's default and modifier check apply).

What the 837P does not say (minutes, rendering provider, secondary billing, locality) is put
into ``VisitRecord.notes``. ``defaults`` adds visit fields the file cannot carry (``locality``,
``provider_type``…), never overriding what the file says.
"""

from __future__ import annotations

import io
import json
import logging
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from therabill.batch.records import Record, Reject, VisitRecord

IMPLEMENTATION = "005010X222A1"
MINUTES_NOTE = "minutes not in an 837P: units as billed"
_DISCIPLINE_MODIFIERS = {"GP": "PT", "GO": "OT", "GN": "SLP"}
_MEDICARE_PART_B = "MB"

# pyx12 reports what it finds through logging as well; the findings are ours to report.
logging.getLogger("pyx12").addHandler(logging.NullHandler())


@dataclass(slots=True)
class _Line:
    number: int  # LX01 as given, or its position
    segment: int  # where its LX is in the file
    last_segment: int = 0
    code: str = ""
    modifiers: tuple[str, ...] = ()
    charge: str | None = None
    unit_basis: str = "UN"
    quantity: str | None = None
    day: date | None = None
    day_note: str | None = None
    rendering: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Party:
    """A subscriber (2000B) and, for a dependent, the patient (2000C)."""

    first_segment: int
    last_segment: int
    member_id: str = ""
    name: str = ""
    birth_date: str = ""
    responsibility: str = ""  # SBR01: P primary, S secondary, T tertiary…
    filing_code: str = ""  # SBR09: MB Medicare Part B, CI commercial…
    payer_name: str = ""
    payer_id: str = ""
    dependent: _Party | None = None
    claims: list[_Claim] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Claim:
    claim_id: str
    first_segment: int
    last_segment: int
    party: _Party
    patient: _Party
    place_of_service: str = ""
    frequency: str = ""  # CLM05-3: 1 original, 7 replacement, 8 void
    rendering: str | None = None
    claim_day: date | None = None
    lines: list[_Line] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Collector:
    """Gathers claims from segments, each a list of its element texts.

    Loops are told apart as the implementation guide lays them out: HL03 opens a subscriber (22)
    or a dependent patient (23); before the first CLM of a subscriber, NM1*IL, NM1*QC and
    NM1*PR are the subscriber, the patient and the payer (2010BA, 2010CA, 2010BB); inside a
    claim, NM1*82 before the first LX is the claim's rendering provider (2310B) and after it
    the line's (2420A); the other payers' loops of a claim (2320/2330, SBR and NM1 after CLM)
    are passed over."""

    def __init__(self) -> None:
        self.claims: list[_Claim] = []
        self.parties: list[_Party] = []
        self.party: _Party | None = None
        self.patient: _Party | None = None
        self.person: _Party | None = None  # whom a DMG after NM1 describes
        self.claim: _Claim | None = None
        self.line: _Line | None = None
        self.version = ""
        self.segments = 0
        self.failure: str | None = None
        # envelope bookkeeping for the reader without the map (unused with it)
        self.st_control = ""
        self.st_first = 0
        self.isa_open = self.gs_open = 0
        self.envelope_errors: list[tuple[int, str]] = []

    def pyx12_callback(self, seg: Any, src: Any, node: Any, valid: bool) -> None:
        """pyx12's per-segment callback while it validates the file against the map."""
        number = src.get_cur_line()
        try:
            sub = seg.subele_term
            fields = [seg.get_seg_id() or "", *(e.format(sub) for e in seg.elements)]
            self.feed(number, fields, sub)
        except Exception as exc:  # pyx12 would swallow and log it: keep the first one
            if self.failure is None:
                self.failure = f"segment {number}: {exc}"

    def feed(self, number: int, fields: list[str], sub: str) -> None:
        self.segments = number
        seg_id = fields[0]
        size = len(fields)

        def value(i: int) -> str:
            return fields[i].strip() if i < size else ""

        if seg_id in ("ISA", "IEA", "GS", "GE", "ST", "SE"):
            self._envelope(number, seg_id, value)
            return
        if seg_id == "HL":  # a new subscriber, a dependent, or another billing provider
            self.claim, self.line, self.person = None, None, None
            level = value(3)
            if level == "22":
                self.party = _Party(number, number)
                self.patient = self.party
                self.parties.append(self.party)
            elif level == "23" and self.party is not None:
                self.party.last_segment = number
                self.patient = _Party(number, number)
                self.party.dependent = self.patient
            else:
                self.party = self.patient = None
            return
        party = self.party
        if party is None:
            if seg_id != "CLM":
                return
            # a claim outside any subscriber loop still becomes a record: a reject
            party = self.party = self.patient = _Party(number, number)
            party.errors.append(f"segment {number} (CLM): the claim is not inside a "
                                "subscriber loop (no HL with HL03 22 before it)")
            self.parties.append(party)
        party.last_segment = number
        claim = self.claim
        if seg_id == "CLM":
            patient = self.patient if self.patient is not None else party
            facility = value(5).split(sub)
            self.claim = _Claim(value(1), number, number, party, patient,
                                place_of_service=facility[0].strip(),
                                frequency=facility[2].strip() if len(facility) > 2 else "")
            self.line = None
            self.claims.append(self.claim)
            party.claims.append(self.claim)
            return
        if claim is None:  # the subscriber's and patient's loops
            if seg_id == "SBR":
                party.responsibility, party.filing_code = value(1), value(9)
            elif seg_id == "NM1":
                qualifier = value(1)
                self.person = None
                if qualifier == "PR":
                    party.payer_name, party.payer_id = value(3), value(9)
                elif qualifier in ("IL", "QC"):
                    person = party if qualifier == "IL" else self.patient
                    if person is not None:
                        person.name = "/".join(v for v in (value(3), value(4)) if v)
                        person.member_id = value(9)
                        self.person = person
            elif seg_id == "DMG" and self.person is not None:
                self.person.birth_date = value(2)
            return
        claim.last_segment = number
        if self.line is not None:
            self.line.last_segment = number
        if seg_id == "LX":
            self.line = _Line(_int(value(1), len(claim.lines) + 1), number, number)
            claim.lines.append(self.line)
        elif seg_id == "SV1":
            if self.line is None:  # misplaced: the map validation reports it
                return
            composite = value(1).split(sub)
            self.line.code = composite[1].strip() if len(composite) > 1 else ""
            self.line.modifiers = tuple(m.strip() for m in composite[2:6] if m.strip())
            self.line.charge = value(2) or None
            self.line.unit_basis = value(3) or "UN"
            self.line.quantity = value(4) or None
        elif seg_id == "DTP" and value(1) == "472":
            day, note = _service_day(value(2), value(3))
            if day is None and value(3):
                problem = f"segment {number} (DTP): DTP03 {value(3)!r} is not a date"
                (self.line.problems if self.line is not None else claim.errors).append(problem)
            if self.line is not None:
                self.line.day, self.line.day_note = day, note
            else:
                claim.claim_day = day
        elif seg_id == "NM1" and value(1) == "82":
            npi = value(9) or value(3) or "?"
            if self.line is not None:
                self.line.rendering = npi
            else:
                claim.rendering = npi

    def _envelope(self, number: int, seg_id: str, value: Any) -> None:
        self.party = self.patient = self.person = None
        self.claim, self.line = None, None
        if seg_id == "ISA":
            self.isa_open = number
        elif seg_id == "IEA":
            self.isa_open = 0
        elif seg_id == "GS":
            self.version = value(8)
            self.gs_open = number
        elif seg_id == "GE":
            self.gs_open = 0
        elif seg_id == "ST":
            if self.st_first:
                self.envelope_errors.append((self.st_first, (
                    f"transaction {self.st_control or '?'} (ST/SE): no SE before the next ST "
                    f"at segment {number}")))
            self.st_control, self.st_first = value(2), number
        elif seg_id == "SE":
            counted = number - self.st_first + 1
            if _int(value(1), -1) != counted:
                self.envelope_errors.append((number, (
                    f"transaction {self.st_control or '?'} (ST/SE): SE01 says {value(1)} "
                    f"segments, the transaction has {counted}")))
            if value(2) != self.st_control:
                self.envelope_errors.append((number, (
                    f"transaction {self.st_control or '?'} (ST/SE): SE02 {value(2)} does not "
                    "match ST02")))
            self.st_first = 0


def read_837p(path: Path, *, validate: bool = True, payers: Mapping[str, str] | None = None,
              defaults: Mapping[str, Any] | None = None) -> Iterator[Record]:
    """Read an 837P file: a visit per claim and date, or a reject saying where and why.

    ``validate`` (the default) checks every segment against the 005010X222A1 map with pyx12
    before anything is yielded (whole file first). ``validate=False`` reads the segments with
    pyx12's raw tokenizer and checks only the envelope (SE counts, control numbers, trailers)
    and each claim's shape (lines, codes, dates): many times faster, for files a
    clearinghouse has already accepted; other bad element values then surface as the
    engine's ``input`` findings."""
    name = path.name
    try:
        with path.open("rb") as handle:
            head = handle.read(106)
    except OSError as exc:
        yield Reject(name, f"cannot read the file: {exc.strerror or exc}")
        return
    if not head.lstrip().startswith(b"ISA"):
        yield Reject(name, "not an X12 file: it does not start with an ISA segment")
        return
    collector = _Collector()
    if validate:
        problem, envelope = _validated(path, collector)
    else:
        problem, envelope = _unvalidated(path, collector)
    if problem is None and collector.failure is not None:
        problem = f"the file could not be read: {collector.failure}"
    if problem is None and collector.version != IMPLEMENTATION:
        problem = (f"not a {IMPLEMENTATION} professional claim file "
                   f"(GS08 is {collector.version or 'missing'})")
    if problem is not None:
        yield Reject(name, problem)
        return
    yield from _records(name, collector, envelope, payers or {}, defaults or {})


def _validated(path: Path, collector: _Collector) -> tuple[str | None, list[tuple[int, str]]]:
    import pyx12.errors
    import pyx12.params
    import pyx12.x12n_document

    report = io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(), src_file=str(path), fd_997=None, fd_html=None,
            fd_json=report, callback=collector.pyx12_callback)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, UnicodeDecodeError,
            ValueError) as exc:
        reason = str(exc).strip() or type(exc).__name__
        if "Map not found" in reason:
            return (f"not a {IMPLEMENTATION} professional claim file "
                    f"({reason.replace('Map not found.', 'no map for').strip()})"), []
        return f"the file could not be validated: {reason}", []
    except Exception as exc:  # the validator itself failed on a badly broken file
        return (f"the file could not be validated: the validator stopped after segment "
                f"{collector.segments} ({type(exc).__name__}: {exc}); check its envelope "
                "(ISA/GS/ST and their trailers)"), []
    return None, _assign_errors(report.getvalue(), collector)


def _unvalidated(path: Path, collector: _Collector) -> tuple[str | None, list[tuple[int, str]]]:
    import pyx12.errors
    import pyx12.rawx12file

    number = 0
    try:
        with path.open(encoding="latin-1", newline="") as handle:
            raw = pyx12.rawx12file.RawX12File(handle)
            ele, sub = raw.ele_term, raw.subele_term
            feed = collector.feed
            for number, text in enumerate(raw, start=1):
                feed(number, text.split(ele), sub)
    except pyx12.errors.X12Error as exc:
        return f"not a readable X12 file: {exc}", []
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}", []
    except Exception as exc:  # never a traceback for a file, whatever is in it
        return f"the file could not be read at segment {number}: {exc}", []
    envelope = list(collector.envelope_errors)
    if collector.st_first:
        envelope.append((collector.st_first, f"transaction {collector.st_control or '?'} "
                                             "(ST/SE): the file ends before its SE segment"))
    if collector.gs_open:
        envelope.append((collector.gs_open, "functional group (GS/GE): the file ends before "
                                            "its GE segment"))
    if collector.isa_open:
        envelope.append((collector.isa_open, "interchange (ISA/IEA): the file ends before its "
                                             "IEA segment"))
    return None, envelope


def _assign_errors(report: str, collector: _Collector) -> list[tuple[int, str]]:
    """Attach each validation error to its claim, or to the subscriber whose loop it is in;
    return the rest (envelope and header errors) with their segment numbers."""
    try:
        document = json.loads(report) if report.strip() else {}
    except json.JSONDecodeError:
        return [(0, "the validator's report could not be read")]
    claims = collector.claims
    parties = collector.parties
    claim_starts = [c.first_segment for c in claims]
    party_starts = [p.first_segment for p in parties]
    envelope: list[tuple[int, str]] = []
    for where, number, message in _errors(document):
        i = bisect_right(claim_starts, number) - 1
        if i >= 0 and number <= claims[i].last_segment:
            claims[i].errors.append(f"{where}: {message}")
            continue
        i = bisect_right(party_starts, number) - 1
        if i >= 0 and number <= parties[i].last_segment:
            parties[i].errors.append(f"{where}: {message}")
        else:
            envelope.append((number, f"{where}: {message}"))
    return envelope


def _errors(document: Mapping[str, Any]) -> Iterator[tuple[str, int, str]]:
    """Every error of pyx12's JSON report as (where, segment number, message)."""
    for interchange in document.get("interchanges", []):
        number = _int(interchange.get("cur_line"), 0)
        for error in interchange.get("errors", []):
            yield "interchange (ISA/IEA)", number, _message(error)
        for group in interchange.get("groups", []):
            number = _int(group.get("cur_line"), 0)
            for error in group.get("errors", []):
                yield "functional group (GS/GE)", number, _message(error)
            for transaction in group.get("transactions", []):
                number = _int(transaction.get("cur_line"), 0)
                control = transaction.get("trn_set_control_num") or "?"
                for error in transaction.get("errors", []):
                    yield f"transaction {control} (ST/SE)", number, _message(error)
                for segment in transaction.get("segments", []):
                    number = _int(segment.get("cur_line"), 0)
                    seg_id = segment.get("seg_id") or "?"
                    where = f"segment {number} ({seg_id})"
                    for error in segment.get("errors", []):
                        yield where, number, _message(error)
                    for element in segment.get("elements", []):
                        position = f"{seg_id}{_int(element.get('ele_pos'), 0):02d}"
                        if element.get("subele_pos"):
                            position += f"-{element['subele_pos']}"
                        for error in element.get("errors", []):
                            yield f"{where} element {position}", number, _message(error)


def _message(error: Mapping[str, Any]) -> str:
    text = str(error.get("err_str") or "invalid").strip()
    code = error.get("err_cde")
    return f"{text} (error {code})" if code else text


def _records(name: str, collector: _Collector, envelope: list[tuple[int, str]],
             payers: Mapping[str, str], defaults: Mapping[str, Any]) -> Iterator[Record]:
    pending = sorted(envelope)
    claimless = [p for p in collector.parties if p.errors and not p.claims]
    for party in claimless:
        pending.append((party.first_segment, f"subscriber loop at segment {party.first_segment}"
                                             f": {'; '.join(party.errors)}"))
    pending.sort()
    if not collector.claims and not pending:
        yield Reject(name, "the file holds no claims (no CLM segment)")
        return
    at = 0  # the envelope and subscriber rejects go where they stand in the file
    for claim in collector.claims:
        while at < len(pending) and pending[at][0] < claim.first_segment:
            yield Reject(f"{name} segment {pending[at][0]}", pending[at][1])
            at += 1
        yield from _claim_records(name, claim, payers, defaults)
    for number, reason in pending[at:]:
        yield Reject(f"{name} segment {number}", reason)


def _claim_records(name: str, claim: _Claim, payers: Mapping[str, str],
                   defaults: Mapping[str, Any]) -> Iterator[Record]:
    position = (f"{name} claim {claim.claim_id or '?'} "
                f"(segments {claim.first_segment}-{claim.last_segment})")
    errors = claim.party.errors + claim.errors
    if errors:
        yield Reject(position, "; ".join(errors))
        return
    if not claim.lines:
        yield Reject(position, "the claim has no service lines")
        return
    if claim.frequency == "8":
        yield Reject(position, "CLM05-3 is 8: the claim voids an earlier one, there is no "
                               "visit to check")
        return
    problems = [f"line {ln.number}: {p}" for ln in claim.lines for p in ln.problems]
    problems += [f"line {ln.number} (segment {ln.segment}): no procedure code (SV101-2)"
                 for ln in claim.lines if not ln.code]
    if problems:
        yield Reject(position, "; ".join(problems))
        return
    undated = [ln for ln in claim.lines if ln.day is None and claim.claim_day is None]
    if undated:
        yield Reject(position, f"line {undated[0].number} (segment {undated[0].segment}) has no "
                               "service date (DTP*472) and the claim has none")
        return
    by_day: dict[date, list[_Line]] = {}
    for line in claim.lines:
        day = line.day or claim.claim_day
        assert day is not None
        by_day.setdefault(day, []).append(line)
    payer, payer_note = _payer(claim.party, payers)
    patient_id = _patient_id(claim)
    shared_notes = [MINUTES_NOTE, payer_note]
    if claim.party.responsibility and claim.party.responsibility != "P":
        shared_notes.append(f"SBR01 is {claim.party.responsibility}: billed to this payer as "
                            "other than primary; checked as if it were primary")
    if "locality" not in defaults:
        shared_notes.append("locality not in an 837P: national GPCIs unless a locality is set")
    if claim.place_of_service:
        shared_notes.append(f"place of service {claim.place_of_service}")
    if claim.frequency == "7":
        shared_notes.append("CLM05-3 is 7: the claim replaces an earlier one of the same "
                            "visit")
    for day, lines in sorted(by_day.items()):
        visit_id = (claim.claim_id if len(by_day) == 1
                    else f"{claim.claim_id}-{day.isoformat()}")
        notes = list(shared_notes)
        visit_lines = [_visit_line(line, notes) for line in lines]
        rendering = {line.rendering or claim.rendering for line in lines}
        if len(rendering) == 1 and None not in rendering:
            notes.append(f"rendering provider {rendering.pop()}")
        else:
            notes.extend(f"line {line.number} ({line.code}): rendering provider "
                         f"{line.rendering or claim.rendering}"
                         for line in lines if line.rendering or claim.rendering)
        visit: dict[str, Any] = {"visit_id": visit_id, "patient_id": patient_id,
                                 "date_of_service": day.isoformat(), "payer": payer}
        disciplines: dict[str, int] = {}
        for line_dict in visit_lines:
            if "discipline" in line_dict:
                key = line_dict["discipline"]
                disciplines[key] = disciplines.get(key, 0) + 1
        if disciplines:  # the most frequent; the first named wins a tie
            visit["discipline"] = max(disciplines, key=disciplines.__getitem__)
        for key, val in defaults.items():
            visit.setdefault(key, val)
        visit["lines"] = visit_lines
        first, last = lines[0].segment, lines[-1].last_segment
        where = position if len(by_day) == 1 else (
            f"{name} claim {claim.claim_id or '?'} {day.isoformat()} (segments {first}-{last})")
        yield VisitRecord(visit, where, tuple(notes))


def _visit_line(line: _Line, notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"code": line.code, "modifiers": list(line.modifiers)}
    disciplines = [_DISCIPLINE_MODIFIERS[m] for m in line.modifiers
                   if m in _DISCIPLINE_MODIFIERS]
    if len(disciplines) == 1:
        out["discipline"] = disciplines[0]
    if line.charge is not None:
        out["charge"] = line.charge
    count = _quantity(line.quantity)
    key = "minutes" if line.unit_basis == "MJ" else "units"
    out[key] = count
    if key == "minutes":
        notes.append(f"line {line.number} ({line.code}): SV103 is MJ, the quantity is minutes")
    if line.day_note:
        notes.append(f"line {line.number} ({line.code}): {line.day_note}")
    return out


def _quantity(text: str | None) -> int | str | None:
    """Whole units as an int; anything else as given, for the engine to report."""
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return int(number) if number == number.to_integral_value() else text


def _payer(party: _Party, payers: Mapping[str, str]) -> tuple[str, str]:
    given = f"{party.payer_name or '?'} (payer id {party.payer_id or '?'}, SBR09 " \
            f"{party.filing_code or '?'})"
    if party.filing_code == _MEDICARE_PART_B:
        return "medicare", f"payer {given}: Medicare Part B, checked as 'medicare'"
    for key in (party.payer_id, party.payer_name):
        if key and key in payers:
            return payers[key], f"payer {given}: mapped to '{payers[key]}'"
    slug = payer_slug(party.payer_name) or party.payer_id.lower() or "unknown"
    return slug, f"payer {given}: checked as '{slug}'"


def payer_slug(name: str) -> str:
    """The therabill payer id an 837P payer name maps to when no mapping is given."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _patient_id(claim: _Claim) -> str:
    member = claim.party.member_id or claim.party.name or "?"
    patient = claim.patient
    if patient is claim.party:
        return member
    return "/".join(p for p in (member, patient.name, patient.birth_date) if p)


def _service_day(qualifier: str | None, text: str | None) -> tuple[date | None, str | None]:
    if not text:
        return None, None
    first, _, last = text.partition("-")
    try:
        day = date(int(first[:4]), int(first[4:6]), int(first[6:8]))
    except ValueError:
        return None, None  # reported by the caller, and by the map validation
    if qualifier == "RD8" and last and last != first:
        return day, f"dated the range {first}-{last}; checked on its first day"
    return day, None


def _int(text: Any, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default
