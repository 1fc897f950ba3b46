"""``compare``: codes side by side, what separates their payment, and whether both can be paid.

The payment gap between the first two codes is split by RVU component after GPCI × CF (work,
practice expense, malpractice), so the answer names what drives it - for 97124 vs 97140 it is
practice expense, the component CMS revalued in the CY2018 RVU file. Whether two codes may be
billed together comes from the NCCI PTP table held for the date (either orientation) and the
payer's own denied pairs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import Literal

from therabill import sources
from therabill.guide.explain import coverage_notes
from therabill.guide.facts import (
    NATIONAL,
    NCCI_UNLOCK,
    GuideError,
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
from therabill.money import usd, usd_signed
from therabill.payers.policy import PayerPolicy
from therabill.payers.published import ncci_basis
from therabill.reference.store import ReferenceData

COMPONENT_WORDS = {"work": "work", "pe": "practice expense", "mp": "malpractice"}
HUNDRED = Decimal(100)


class CodeSide(Model):
    code: str
    summary: str | None
    therapy: str | None
    rvu: RvuEntry | None
    national: Price
    local: Price | None
    payer_price: PayerPrice | None  # non-Medicare payer, at the chosen place
    coverage: list[Sourced]


class ComponentGap(Model):
    component: Literal["work", "pe", "mp"]
    first: Decimal
    second: Decimal
    difference: Decimal


class Difference(Model):
    """First code minus second code, one unit with PE paid in full."""

    place: str
    first: str
    second: str
    first_amount: Decimal
    second_amount: Decimal
    dollars: Decimal
    percent: Decimal  # of the second code's amount
    components: list[ComponentGap]
    driver: Literal["work", "pe", "mp"]
    text: str
    source: str


class Together(Model):
    codes: tuple[str, str]
    verdict: Literal["yes", "with_modifier", "no"]
    edits: list[PairEdit]
    payer_pairs: list[Sourced]
    text: str
    source: str


class Comparison(Model):
    codes: list[str]
    date_of_service: date
    payer: PayerRef
    locality: str
    sides: list[CodeSide]
    differences: list[Difference]
    together: list[Together]
    notes: list[str]


def signed(amount: Decimal) -> str:
    return usd_signed(amount)


def difference(first: str, second: str, a: Price, b: Price) -> Difference | None:
    """Split the gap by component; None when either code has no fee schedule amount."""
    if a.full is None or b.full is None or a.components is None or b.components is None:
        return None
    gaps = [ComponentGap(component=name, first=getattr(a.components, name),
                         second=getattr(b.components, name),
                         difference=getattr(a.components, name) - getattr(b.components, name))
            for name in ("work", "pe", "mp")]
    driver = max(gaps, key=lambda gap: abs(gap.difference))
    dollars = a.full - b.full
    percent = (dollars / b.full * HUNDRED).quantize(Decimal("0.1")) if b.full else Decimal(0)
    more = "more" if dollars >= 0 else "less"
    text = (f"{first} pays {usd(abs(dollars))} ({abs(percent)}%) {more} than {second} a unit "
            f"({a.place.name}); the largest gap is {COMPONENT_WORDS[driver.component]}: "
            f"{signed(driver.difference)} after GPCI × CF")
    return Difference(place=a.place.locality, first=first, second=second, first_amount=a.full,
                      second_amount=b.full, dollars=dollars, percent=percent, components=gaps,
                      driver=driver.component, text=text, source=a.source)


def together(first: str, second: str, day: date, policy: PayerPolicy,
             reference: ReferenceData) -> Together:
    """May both codes be paid for one patient and day by this payer?"""
    edits: list[PairEdit] = []
    ptp_source = ""
    if policy.ncci_on(day):
        dated = reference.edit_table(day)
        if dated is not None:
            table = dated.value
            for pair in ((first, second), (second, first)):
                edits.extend(pair_edit(e)
                             for e in edits_between(table.by_pair.get(pair, ()), day))
            release = table.release
            ptp_source = (f"NCCI PTP practitioner edits {release.release_id} (effective "
                          f"{release.effective_from}); {sources.NCCI_I_E}")
            if dated.note:
                ptp_source += f"; {dated.note}"
    payer_pairs = [Sourced(text=f"{policy.name} denies {p.column_2} with {p.column_1}"
                                + ("; a modifier unlocks it" if p.modifier_unlocks
                                   else "; no modifier unlocks it"), source=p.source)
                   for p in policy.denied_pairs
                   if {p.column_1, p.column_2} == {first, second}]
    hard = [e for e in edits if e.modifier_indicator == 0]
    soft = [e for e in edits if e.modifier_indicator == 1]
    payer_hard = [p for p in policy.denied_pairs
                  if {p.column_1, p.column_2} == {first, second} and not p.modifier_unlocks]
    if hard or payer_hard:
        verdict = "no"
        if hard:
            edit = hard[0]
            text = (f"No: {edit.column_2} is not paid with {edit.column_1} the same day under "
                    f"{policy.name}, even with {NCCI_UNLOCK} (NCCI modifier indicator 0)")
        else:
            text = f"No: {payer_pairs[0].text}"
    elif soft or payer_pairs:
        verdict = "with_modifier"
        if soft:
            edit = soft[0]
            text = (f"Only with a modifier: {edit.column_2} is paid with {edit.column_1} only "
                    f"when it carries {NCCI_UNLOCK} and the two were distinct services "
                    "(separate time blocks or body regions) shown in the notes (indicator 1)")
        else:
            text = f"Only with a modifier: {payer_pairs[0].text}"
    else:
        verdict = "yes"
        text = ("Yes: no NCCI edit or payer pair in force for this pair on this date; two "
                "therapy services still cannot claim the same minutes (NCCI-XI §P)"
                if policy.ncci_on(day) else
                f"Yes as far as {policy.name}'s file goes: it does not apply NCCI edits and has "
                "no pair rule for these codes")
    basis = ncci_basis(policy, day)  # the payer's own word on NCCI, when it has published it
    if basis is not None:
        text += f" ({basis[0]})"
    source = "; ".join(filter(None, [ptp_source, *(p.source for p in payer_pairs),
                                     sources.NCCI_XI_P if verdict == "yes" else "",
                                     basis[1] if basis else ""]))
    return Together(codes=(first, second), verdict=verdict, edits=edits,
                    payer_pairs=payer_pairs, text=text, source=source or f"payer {policy.id}")


def compare_codes(codes: list[str], day: date, locality: str, payer: str,
                  reference: ReferenceData) -> Comparison:
    """Compare two or more codes on ``day`` (raises GuideError when it cannot)."""
    parsed = [parse_code(code, reference) for code in codes]
    if len(set(parsed)) < 2:
        raise GuideError("compare needs at least two different codes")
    policy = resolve_payer(payer)
    release = rvu_release_for(reference, day)
    sides = []
    for code in parsed:
        info = reference.catalogue.get(code)
        national = price_code(reference, release, code, day, NATIONAL)
        local = (price_code(reference, release, code, day, locality)
                 if locality != NATIONAL else None)
        sides.append(CodeSide(code=code, summary=info.summary if info else None,
                              therapy=info.therapy if info else None,
                              rvu=rvu_entry(release, code), national=national, local=local,
                              payer_price=payer_price(policy, code, local or national),
                              coverage=coverage_notes(code, info, policy)))
    first, second = sides[0], sides[1]
    differences = [d for d in (
        difference(first.code, second.code, first.national, second.national),
        difference(first.code, second.code, first.local, second.local)
        if first.local and second.local else None) if d is not None]
    notes = [f"{side.code}: {side.national.note}" for side in sides if not side.national.payable]
    return Comparison(codes=parsed, date_of_service=day, payer=payer_ref(policy),
                      locality=locality, sides=sides, differences=differences,
                      together=[together(a, b, day, policy, reference)
                                for a, b in combinations(parsed, 2)],
                      notes=notes)
