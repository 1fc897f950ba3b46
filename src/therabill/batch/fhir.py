"""Checked visits as FHIR R4B ExplanationOfBenefit resources, and an NDJSON writer for them.

Why ExplanationOfBenefit rather than ClaimResponse: a ClaimResponse only points at the items of
a Claim resource that would have to be written alongside it (its items carry no code, modifier,
units or date), and its ``error`` list is meant for processing errors, not for the edits and
pricing decisions therabill makes. An ExplanationOfBenefit carries the claim and its
adjudication together: each item has its code, modifiers, units and date of service with its
amounts, so one resource stands on its own in an NDJSON file.

How a ``CheckResult`` maps:

- ``use`` is ``predetermination`` (an expected adjudication, not a payer's), ``type``
  professional or institutional, ``status`` active; ``identifier`` the visit id (the resource
  ``id`` is the visit id made FHIR-safe); ``patient`` the patient id; ``insurer`` and the one
  ``insurance`` entry the therabill payer id; ``billablePeriod`` and each ``servicedDate`` the
  date of service; ``created`` the date given to the builder (today by default).
- one ``item`` per claim line: ``productOrService`` (CPT or HCPCS code, no descriptor text),
  ``modifier``, ``quantity`` (units) and ``adjudication`` amounts. Categories from the FHIR
  adjudication code system: ``submitted`` (charge), ``eligible`` (allowed), ``deductible``,
  ``benefit`` (payer paid). Others from therabill's own system (``ADJUDICATION_SYSTEM``):
  ``patient-responsibility``, ``fee-schedule``, ``reductions``, ``mppr-reduction``,
  ``assistant-reduction``, ``coinsurance``, ``sequestration``, ``threshold-amount``. A line
  that is not payable has its status and the deciding rule as the ``eligible`` entry's
  ``reason`` (rule ids from ``RULE_SYSTEM``).
- findings, and line steps that are warnings or errors, become ``processNote`` entries
  (``[severity rule] message (source)``); an item lists its notes in ``noteNumber``.
- ``outcome``: ``error`` when a finding is an error and no line could be read or a payable
  line could not be priced (no data for the date), ``partial`` when a line is not payable or
  a finding is an error, ``complete`` otherwise.
- ``total`` and ``payment`` from the result's totals.

``explanation_of_benefit`` builds and validates the fhir.resources model (about 3 ms a visit);
``eob_json`` writes the same NDJSON line from plain data, byte for byte (held to it by a
property test over random checked visits), about thirty times faster, for large batches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from therabill.decision import Decision
from therabill.model import CheckResult, ClaimLine

ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
ADJUDICATION_SYSTEM = "urn:therabill:adjudication"
RULE_SYSTEM = "urn:therabill:rule"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "urn:oid:2.16.840.1.113883.6.285"
VISIT_ID_SYSTEM = "urn:therabill:visit-id"
PATIENT_ID_SYSTEM = "urn:therabill:patient-id"
PAYER_SYSTEM = "urn:therabill:payer"
NPI = "http://hl7.org/fhir/sid/us-npi"

# ClaimLine money fields, in the order written, with their adjudication category.
LINE_AMOUNTS: tuple[tuple[str, str, str], ...] = (
    ("charge", ADJUDICATION, "submitted"),
    ("fee_schedule_amount", ADJUDICATION_SYSTEM, "fee-schedule"),
    ("mppr_reduction", ADJUDICATION_SYSTEM, "mppr-reduction"),
    ("allowed", ADJUDICATION, "eligible"),
    ("deductible", ADJUDICATION, "deductible"),
    ("coinsurance", ADJUDICATION_SYSTEM, "coinsurance"),
    ("assistant_reduction", ADJUDICATION_SYSTEM, "assistant-reduction"),
    ("sequestration", ADJUDICATION_SYSTEM, "sequestration"),
    ("reductions", ADJUDICATION_SYSTEM, "reductions"),
    ("payer_paid", ADJUDICATION, "benefit"),
    ("patient_owes", ADJUDICATION_SYSTEM, "patient-responsibility"),
    ("threshold_amount", ADJUDICATION_SYSTEM, "threshold-amount"),
)
_TOTALS: tuple[tuple[str, str, str], ...] = (
    ("allowed", ADJUDICATION, "eligible"),
    ("payer_paid", ADJUDICATION, "benefit"),
    ("patient_owes", ADJUDICATION_SYSTEM, "patient-responsibility"),
)
_SAFE_ID = re.compile(r"[^A-Za-z0-9.\-]")
_RENDERING_NOTE = re.compile(r"rendering provider (\d{10})$")


def explanation_of_benefit(result: CheckResult, *, created: date | datetime | None = None,
                           provider_npi: str | None = None, notes: Sequence[str] = (),
                           claim_type: str = "professional") -> Any:
    """The ExplanationOfBenefit (fhir.resources R4B model, validated) for one checked visit.

    ``provider_npi`` names the rendering or billing provider when known (by default the NPI of
    a ``rendering provider NPI`` note, as the 837P reader writes); ``notes`` are added as
    process notes (what the input could not say);
    ``claim_type`` is the visit's (``professional`` or ``institutional``)."""
    from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

    return ExplanationOfBenefit.model_validate(
        eob_data(result, created=created, provider_npi=provider_npi, notes=notes,
                 claim_type=claim_type))


def eob_data(result: CheckResult, *, created: date | datetime | None = None,
             provider_npi: str | None = None, notes: Sequence[str] = (),
             claim_type: str = "professional") -> dict[str, Any]:
    """The ExplanationOfBenefit as plain JSON-ready data (``explanation_of_benefit`` validates
    it into the fhir.resources model)."""
    if provider_npi is None:  # a reader's note can name the one rendering provider
        provider_npi = next((m.group(1) for text in notes
                             if (m := _RENDERING_NOTE.match(text))), None)
    process_notes: list[dict[str, Any]] = []

    def note(text: str) -> int:
        process_notes.append({"number": len(process_notes) + 1, "type": "display",
                              "text": text})
        return len(process_notes)

    for finding in result.findings:
        note(_decision_text(finding))
    for text in notes:
        note(text)
    items = [_item(i, line, result, note) for i, line in enumerate(result.lines, start=1)]
    day = result.date_of_service
    payer = result.payer or "unknown"
    made = created if created is not None else date.today()
    # Keys in FHIR's element order, as fhir.resources writes them: eob_json's text is then
    # byte for byte the validated model's (a property test holds it to that).
    data: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit",
        "id": fhir_id(result.visit_id or "unnamed"),
        "identifier": [{"system": VISIT_ID_SYSTEM,
                        "value": fhir_string(result.visit_id or "unnamed")}],
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": claim_type}]},
        "use": "predetermination",
        "patient": _reference(PATIENT_ID_SYSTEM, result.patient_id, "patient not stated"),
    }
    if day is not None:
        data["billablePeriod"] = {"start": day.isoformat(), "end": day.isoformat()}
    data["created"] = made.isoformat()
    data["insurer"] = _reference(PAYER_SYSTEM, payer, payer)
    data["provider"] = _reference(NPI, provider_npi, "provider not stated")
    data["outcome"] = _outcome(result)
    data["insurance"] = [{"focal": True,
                          "coverage": {"identifier": {"system": PAYER_SYSTEM, "value": payer},
                                       "display": f"{payer} coverage"}}]
    if items:
        data["item"] = items
    totals = [{"category": _concept(system, code), "amount": _money(amount)}
              for name, system, code in _TOTALS
              if (amount := getattr(result.totals, name, None)) is not None]
    charges = [line.charge for line in result.lines]
    if charges and all(c is not None for c in charges):
        totals.insert(0, {"category": _concept(ADJUDICATION, "submitted"),
                          "amount": _money(sum((c for c in charges if c is not None),
                                               Decimal(0)))})
    if totals:
        data["total"] = totals
    paid = getattr(result.totals, "payer_paid", None)
    if paid is not None:
        data["payment"] = ({"date": day.isoformat()} if day is not None else {})
        data["payment"]["amount"] = _money(paid)
    if process_notes:
        data["processNote"] = process_notes
    return data


def _item(sequence: int, line: ClaimLine, result: CheckResult, note: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"sequence": sequence, "productOrService": _code_concept(line.code)}
    if line.modifiers:
        item["modifier"] = [_code_concept(m) for m in line.modifiers]
    if result.date_of_service is not None:
        item["servicedDate"] = result.date_of_service.isoformat()
    item["quantity"] = {"value": line.units}
    numbers = [note(f"line {sequence} ({line.code}): {_decision_text(step)}")
               for step in line.steps if step.severity != "info"]
    if numbers:
        item["noteNumber"] = numbers
    adjudication = []
    for name, system, code in LINE_AMOUNTS:
        amount = getattr(line, name, None)
        if isinstance(amount, Decimal | int):
            adjudication.append({"category": _concept(system, code),
                                 "amount": _money(Decimal(amount))})
    if line.status != "payable":
        deciding = next((s for s in line.steps if s.severity == "error"), None)
        reason = {"coding": [{"system": RULE_SYSTEM,
                              "code": deciding.rule if deciding else line.status}],
                  "text": line.status}
        at = next((i for i, a in enumerate(adjudication)
                   if a["category"]["coding"][0]["code"] == "eligible"), None)
        if at is None:
            adjudication.append({"category": _concept(ADJUDICATION, "eligible"),
                                 "reason": reason})
        else:
            adjudication[at] = {"category": adjudication[at]["category"], "reason": reason,
                                "amount": adjudication[at]["amount"]}
    item["adjudication"] = adjudication or [{"category": _concept(ADJUDICATION, "eligible"),
                                             "reason": {"text": "not priced"}}]
    return item


def _outcome(result: CheckResult) -> str:
    errors = any(f.severity == "error" for f in result.findings)
    unpriced = any(line.status == "payable" and line.allowed is None for line in result.lines)
    if errors and (unpriced or all(line.status == "invalid" for line in result.lines)):
        return "error"
    if errors or any(line.status != "payable" for line in result.lines):
        return "partial"
    return "complete"


def _decision_text(decision: Decision) -> str:
    text = f"[{decision.severity} {decision.rule}] {decision.message}"
    return f"{text} ({decision.source})" if decision.source else text


def _reference(system: str, value: str | None, missing: str) -> dict[str, Any]:
    if not value:
        return {"display": missing}
    return {"identifier": {"system": system, "value": fhir_string(value)}}


# Whitespace a FHIR string may not hold (Unicode's White_Space but a space, tab or line break).
_ODD_SPACE = dict.fromkeys(map(ord, "\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003"
                                    "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028"
                                    "\u2029\u202f\u205f\u3000"), " ")


def fhir_string(value: str) -> str:
    """``value`` as FHIR's string type carries it: other whitespace (a no-break space, say)
    written as a plain space."""
    return value.translate(_ODD_SPACE)


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _code_concept(code: str) -> dict[str, Any]:
    """A procedure code or modifier: CPT when it is all digits (and CPT's numeric modifiers),
    HCPCS level II otherwise. Codes only: descriptors are not ours to copy."""
    return _concept(CPT if code.isdigit() else HCPCS, code)


def _money(amount: Decimal) -> dict[str, Any]:
    return {"value": amount, "currency": "USD"}


def fhir_id(text: str) -> str:
    """A resource id FHIR accepts ([A-Za-z0-9.-], at most 64) for a visit id: the id itself
    when it already fits, otherwise a cleaned one with a short digest to keep ids distinct."""
    if len(text) <= 64 and not _SAFE_ID.search(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
    return f"{_SAFE_ID.sub('-', text)[:53]}-{digest}"


def ndjson_line(resource: Any) -> str:
    """One resource as one line of NDJSON (no newline inside, none at the end): a
    fhir.resources model, or text already made by ``eob_json``."""
    if isinstance(resource, str):
        return resource
    text: str = resource.model_dump_json(exclude_none=True)
    return text


def eob_json(result: CheckResult, *, created: date | datetime | None = None,
             provider_npi: str | None = None, notes: Sequence[str] = (),
             claim_type: str = "professional") -> str:
    """The same NDJSON line as ``ndjson_line(explanation_of_benefit(...))``, byte for byte,
    without building the model: about thirty times faster, for large batches. The shapes
    it writes are the ones the tests validate with fhir.resources."""
    return json.dumps(eob_data(result, created=created, provider_npi=provider_npi, notes=notes,
                               claim_type=claim_type),
                      separators=(",", ":"), ensure_ascii=False, default=_json_number)


def _json_number(value: Any) -> Any:
    """A Decimal as fhir.resources writes a FHIR decimal: a whole number without a fraction
    part (``60``) as an integer, any other through float (``80.00`` as ``80.0``)."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0 and value.is_finite():
            return int(value)
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def write_ndjson(resources: Iterable[Any], path: Path) -> int:
    """Write resources (fhir.resources models or ``eob_json`` lines) to ``path`` as NDJSON,
    atomically (a temporary file in the same folder, renamed when complete); returns how many
    were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                         dir=path.parent)
    count = 0
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            for resource in resources:
                out.write(ndjson_line(resource))
                out.write("\n")
                count += 1
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
