"""``explain``: what one code is, who may furnish it, what it pays and what it collides with.

Everything is looked up for one date of service: the RVU release, conversion factor and GPCIs in
force that day, the NCCI tables held for it. Each fact carries its source (CMS file release id,
dated parameter source, manual section, or the therabill catalogue for our own summaries).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from therabill import sources
from therabill.guide.facts import (
    PAYABLE_STATUSES,
    STATUS_WORDS,
    Model,
    PairEdit,
    PayerPrice,
    PayerRef,
    Price,
    RvuEntry,
    Sourced,
    edits_between,
    pair_edit,
    parse_code,
    payer_price,
    payer_ref,
    price_code,
    resolve_payer,
    rvu_entry,
    rvu_release_for,
)
from therabill.payers.policy import PayerPolicy
from therabill.payers.published import code_notes
from therabill.reference.catalogue import CodeInfo
from therabill.reference.records import RvuRelease
from therabill.reference.store import ReferenceData
from therabill.rules.ncci import MAI_WORDS

CATALOGUE_SOURCE = "therabill code catalogue (our own plain-language summary, not CPT text)"
THERAPY_WORDS = {
    "always": "always therapy: billed with GP, GO or GN whoever furnishes it",
    "sometimes": "sometimes therapy: therapy only when furnished under a therapy plan of care",
    "never": "not an outpatient therapy service",
}
THERAPY_SOURCE = "CMS outpatient therapy code list, as recorded in the therabill catalogue"
STATE_LAW = ("State practice acts differ on who may furnish a service and what may be delegated; "
             "check the state's PT, OT or SLP practice act and the payer's credentialing.")


# ------------------------------------------------------------------------------ NCCI
class PtpFacts(Model):
    release: str
    effective_from: date
    caveat: str
    note: str  # non-empty when the table is applied outside the quarter it was published for
    payer_applies_ncci: bool
    edits: list[PairEdit]
    source: str


def ptp_facts(reference: ReferenceData, code: str, day: date, policy: PayerPolicy
              ) -> PtpFacts | None:
    dated = reference.edit_table(day)
    if dated is None:
        return None
    table = dated.value
    seen: set[tuple[str, str]] = set()
    found: list[PairEdit] = []
    for edit in edits_between(table.by_code.get(code, ()), day):
        pair = (edit.column_1, edit.column_2)
        other = edit.column_2 if edit.column_1 == code else edit.column_1
        if pair in seen or other not in reference.catalogue:
            continue
        seen.add(pair)
        found.append(pair_edit(edit))
    found.sort(key=lambda e: (e.modifier_indicator, e.column_1, e.column_2))
    release = table.release
    return PtpFacts(release=release.release_id, effective_from=release.effective_from,
                    caveat=release.caveat, note=dated.note, payer_applies_ncci=policy.ncci,
                    edits=found,
                    source=f"NCCI PTP practitioner edits {release.release_id} "
                           f"({release.source.file_name}); {sources.NCCI_I_E}")


class MueFacts(Model):
    release: str
    effective_from: date
    value: int | None
    mai: int | None
    mai_meaning: str
    rationale: str
    caveat: str
    note: str
    source: str


def mue_facts(reference: ReferenceData, code: str, day: date) -> MueFacts | None:
    dated = reference.mue_release(day)
    if dated is None:
        return None
    release = dated.value
    record = release.records.get(code)
    return MueFacts(release=release.release_id, effective_from=release.effective_from,
                    value=record.value if record else None, mai=record.mai if record else None,
                    mai_meaning=MAI_WORDS.get(record.mai, "") if record else
                    f"no MUE is published for {code} in this table",
                    rationale=record.rationale if record else "", caveat=release.caveat,
                    note=dated.note,
                    source=f"CMS MUE practitioner table {release.release_id} "
                           f"({release.source.file_name}); {sources.NCCI_MUE}")


# -------------------------------------------------------------------- catalogue facts
class Timing(Model):
    basis: str
    unit_minutes: int | None
    add_on: str | None
    primary: str | None
    text: str


class CatalogueFacts(Model):
    summary: str
    family: str
    timing: Timing
    disciplines: list[str]
    therapy: Literal["always", "sometimes", "never"]
    therapy_meaning: str
    evaluation: bool
    source: str


def timing_words(info: CodeInfo) -> str:
    time = info.time
    words = {
        "timed": f"timed: one unit per {time.unit_minutes} minutes",
        "timed_primary": f"timed: the first {time.unit_minutes} minutes; each further block is "
                         f"{time.add_on}",
        "timed_add_on": f"timed add-on: each further {time.unit_minutes} minutes after "
                        f"{time.primary}",
        "untimed": "untimed: one unit per session, whatever its length",
        "per_item": "counted per item (instrument, limb or area), not by time",
    }[time.basis]
    if time.basis == "per_item" and (time.add_on or time.primary):
        words += f"; paired with {time.add_on or time.primary}"
    return words


def catalogue_facts(info: CodeInfo) -> CatalogueFacts:
    time = info.time
    return CatalogueFacts(
        summary=info.summary, family=info.family,
        timing=Timing(basis=time.basis, unit_minutes=time.unit_minutes, add_on=time.add_on,
                      primary=time.primary, text=timing_words(info)),
        disciplines=list(info.disciplines), therapy=info.therapy,
        therapy_meaning=THERAPY_WORDS[info.therapy], evaluation=info.evaluation,
        source=CATALOGUE_SOURCE)


class MedicareStatus(Model):
    status: str | None
    meaning: str
    use_instead: str | None
    rvu_release: str
    facts: Sourced | None  # the catalogue's Medicare facts for the code
    source: str


def medicare_status(release: RvuRelease, code: str, info: CodeInfo | None) -> MedicareStatus:
    record = release.records.get((code, ""))
    facts = info.medicare if info is not None else None
    if record is None:
        meaning = (f"not in {release.release_id}: the code has no Medicare status in the RVU "
                   "file for this date")
    else:
        meaning = STATUS_WORDS.get(record.status, "see the RVU file layout")
    use_instead = facts.use_instead if facts else None
    if use_instead:
        meaning += f"; bill {use_instead} instead"
    return MedicareStatus(status=record.status if record else None, meaning=meaning,
                          use_instead=use_instead, rvu_release=release.release_id,
                          facts=Sourced(text=facts.text, source=facts.source) if facts else None,
                          source=f"{sources.RVU_STATUS} ({release.release_id})")


# ------------------------------------------------------------------------ performers
Answer = Literal["yes", "yes, under supervision", "no", "not applicable"]


class PerformerAnswer(Model):
    who: str
    may_furnish: Answer
    text: str
    source: str


NOT_THERAPY_PROVIDERS = (("massage therapist", "massage_therapist"), ("aide", "aide"),
                         ("athletic trainer", "athletic_trainer"))


def _assistant_terms(reference: ReferenceData, day: date) -> tuple[str, str]:
    """What the CQ/CO rules were on ``day`` (dated parameter assistant_payment_rate)."""
    rate = reference.parameters.at("assistant_payment_rate", day)
    if rate is None:
        return "no CQ/CO modifier existed yet on this date", sources.BPM15_230_1
    supervision = ("general supervision in private practice from 2025 (CY2025 PFS final rule)"
                   if day.year >= 2025 else "direct supervision in private practice")
    return (f"with CQ (PTA) or CO (OTA), paid at {rate.value:.0%} of the amount; {supervision}",
            f"{sources.BPM15_230_1}; {rate.source}")


def _medicare_performers(code: str, info: CodeInfo | None, reference: ReferenceData, day: date
                         ) -> list[PerformerAnswer]:
    facts = info.medicare if info is not None else None
    if facts is not None and facts.not_payable_to_therapists:
        therapist = PerformerAnswer(who="therapist (PT, OT, SLP)", may_furnish="no",
                                    text=facts.text, source=facts.source)
    else:
        therapist = PerformerAnswer(
            who="therapist (PT, OT, SLP)", may_furnish="yes",
            text="a qualified therapist within their discipline, under a certified plan of care",
            source=f"{sources.BPM15_220}, §230")
    if therapist.may_furnish == "no":
        assistant = PerformerAnswer(who="assistant (PTA, OTA)", may_furnish="no",
                                    text="not where the therapist may not: " + therapist.text,
                                    source=therapist.source)
    elif info is not None and info.disciplines == ["SLP"]:
        assistant = PerformerAnswer(
            who="assistant", may_furnish="no",
            text="Medicare does not recognise speech-language pathology assistants",
            source="CMS Pub 100-02 ch.15 §230.3.C")
    else:
        terms, source = _assistant_terms(reference, day)
        assistant = PerformerAnswer(
            who="assistant (PTA, OTA)", may_furnish="yes, under supervision",
            text=f"under a therapist's supervision, {terms}", source=source)
    answers = [therapist, assistant,
               PerformerAnswer(who="physician or NPP", may_furnish="yes",
                               text="physicians and NPPs may furnish therapy under a plan of care",
                               source=sources.BPM15_220)]
    for who, _ in NOT_THERAPY_PROVIDERS:
        answers.append(PerformerAnswer(
            who=who, may_furnish="no",
            text=f"not a Medicare therapy provider: {code} furnished by {_article(who)} cannot "
                 "be billed to Medicare as therapy (aide-level services are not therapy)",
            source=sources.BPM15_230_1))
    return answers


def _article(who: str) -> str:
    return f"an {who}" if who[0] in "aeiou" else f"a {who}"


def _payer_performers(code: str, policy: PayerPolicy) -> list[PerformerAnswer]:
    answers = []
    file = f"payer policy {policy.id}"
    for who, performer in (("therapist (PT, OT, SLP)", "therapist"),
                           ("physician", "physician"), *NOT_THERAPY_PROVIDERS):
        rule = policy.performer_allowed(performer, code)
        if rule is not None:
            limited = f" (this performer only for {', '.join(rule.codes)})" if rule.codes else ""
            answers.append(PerformerAnswer(who=who, may_furnish="yes",
                                           text=f"credentialed by {policy.name}{limited}",
                                           source=f"{rule.source} ({file})"))
        else:
            answers.append(PerformerAnswer(who=who, may_furnish="no",
                                           text=f"{policy.name} does not credential "
                                                f"{_article(who)} for {code}", source=file))
    therapist = policy.performer_allowed("therapist", code)
    # The policy model has no assistant performer: assistants bill under the therapist's rule.
    answers.insert(1, PerformerAnswer(
        who="assistant (PTA, OTA)",
        may_furnish="yes, under supervision" if therapist else "no",
        text="under a therapist's supervision, as the plan's therapist rule allows"
        if therapist else f"{policy.name} does not credential therapists for {code}",
        source=f"{therapist.source} ({file})" if therapist else file))
    return answers


def performers(code: str, info: CodeInfo | None, policy: PayerPolicy, reference: ReferenceData,
               day: date, status: MedicareStatus) -> list[PerformerAnswer]:
    """Who may furnish ``code`` as therapy for this payer; always ends with the state-law caveat."""
    if info is not None and info.therapy == "never":
        answers = [PerformerAnswer(
            who="anyone", may_furnish="not applicable",
            text=f"{code} is not an outpatient therapy service; therapy performer rules do not "
                 "apply" + (f": {info.medicare.text}" if info.medicare else ""),
            source=info.medicare.source if info.medicare else THERAPY_SOURCE)]
    elif policy.medicare_coverage:
        answers = _medicare_performers(code, info, reference, day)
    else:
        answers = _payer_performers(code, policy)
    if policy.medicare_coverage and status.status not in PAYABLE_STATUSES:
        # Who may furnish it does not make it payable: the RVU status applies to everyone.
        answers.insert(0, PerformerAnswer(
            who="everyone", may_furnish="not applicable",
            text=f"whoever furnishes it, Medicare makes no fee schedule payment for {code} on "
                 f"this date: {status.meaning}", source=status.source))
    answers.append(PerformerAnswer(who="state law", may_furnish="not applicable", text=STATE_LAW,
                                   source="state PT, OT and SLP practice acts"))
    return answers


# ------------------------------------------------------------------------- coverage
def coverage_notes(code: str, info: CodeInfo | None, policy: PayerPolicy) -> list[Sourced]:
    notes = [Sourced(text=n.text, source=n.source) for n in info.notes] if info else []
    if info is not None and info.medicare is not None:
        notes.insert(0, Sourced(text=f"Medicare: {info.medicare.text}",
                                source=info.medicare.source))
    for rule in policy.not_covered:
        if rule.code == code:
            notes.insert(0, Sourced(text=f"{policy.name} does not cover {code}: {rule.reason}",
                                    source=rule.source))
    for swap in policy.replacements:
        if swap.code == code:
            notes.insert(0, Sourced(text=f"{policy.name} does not accept {code}: bill "
                                         f"{swap.use_instead}", source=swap.source))
    notes[:0] = [Sourced(text=text, source=source) for text, source in code_notes(code, policy)]
    return notes


# ---------------------------------------------------------------------------- explain
class CodeExplanation(Model):
    code: str
    date_of_service: date
    payer: PayerRef
    catalogue: CatalogueFacts | None
    medicare: MedicareStatus
    coverage: list[Sourced]
    performers: list[PerformerAnswer]
    rvu: RvuEntry | None
    price: Price
    payer_price: PayerPrice | None
    ptp: PtpFacts | None
    mue: MueFacts | None


def explain_code(code: str, day: date, locality: str, payer: str, reference: ReferenceData
                 ) -> CodeExplanation:
    """Everything the guide knows about ``code`` on ``day`` (raises GuideError when it cannot)."""
    code = parse_code(code, reference)
    policy = resolve_payer(payer)
    release = rvu_release_for(reference, day)
    info = reference.catalogue.get(code)
    price = price_code(reference, release, code, day, locality)
    status = medicare_status(release, code, info)
    return CodeExplanation(
        code=code, date_of_service=day, payer=payer_ref(policy),
        catalogue=catalogue_facts(info) if info else None,
        medicare=status, coverage=coverage_notes(code, info, policy),
        performers=performers(code, info, policy, reference, day, status),
        rvu=rvu_entry(release, code), price=price, payer_price=payer_price(policy, code, price),
        ptp=ptp_facts(reference, code, day, policy), mue=mue_facts(reference, code, day))
