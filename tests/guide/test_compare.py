"""``compare_codes``: payment gaps split by component, and whether two codes can both be paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from therabill.guide.compare import Comparison, compare_codes
from therabill.guide.facts import GuideError
from therabill.reference.store import ReferenceData, default_reference


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return default_reference()


def compare(codes: list[str], reference: ReferenceData, day: date, locality: str = "national",
            payer: str = "medicare") -> Comparison:
    return compare_codes(codes, day, locality, payer, reference)


# National figures: CMS RVU files × CF (PROVENANCE.md table); LA 2025: CMS PFCA252 payment file.
@pytest.mark.parametrize(("day", "massage", "manual", "driver"), [
    (date(2017, 6, 1), "26.56", "30.51", "work"),
    (date(2018, 6, 1), "31.32", "28.44", "pe"),
    (date(2025, 6, 1), "29.76", "27.17", "pe"),
])
def test_97124_vs_97140_by_year(reference: ReferenceData, day: date, massage: str, manual: str,
                                driver: str) -> None:
    result = compare(["97124", "97140"], reference, day)
    first, second = result.sides
    assert (first.national.full, second.national.full) == (Decimal(massage), Decimal(manual))
    gap = result.differences[0]
    assert gap.dollars == Decimal(massage) - Decimal(manual)
    assert gap.driver == driver


def test_2025_gap_detail(reference: ReferenceData) -> None:
    result = compare(["97124", "97140"], reference, date(2025, 6, 1), "01182-18")
    national, local = result.differences
    assert (national.place, local.place) == ("national", "01182-18")
    assert national.percent == Decimal("9.5")
    parts = {g.component: g.difference for g in national.components}
    assert parts == {"work": Decimal("-2.59"), "pe": Decimal("5.17"), "mp": Decimal("0.00")}
    assert "practice expense" in national.text
    assert (local.first_amount, local.second_amount) == (Decimal("33.65"), Decimal("30.17"))
    assert local.driver == "pe"
    assert result.sides[0].rvu is not None and result.sides[0].rvu.release == "RVU25A"


def test_97124_97140_never_together_under_medicare(reference: ReferenceData) -> None:
    for day in (date(2018, 6, 1), date(2025, 6, 1)):
        pair = compare(["97124", "97140"], reference, day).together[0]
        assert pair.verdict == "no"
        assert [(e.column_1, e.column_2, e.modifier_indicator) for e in pair.edits] == [
            ("97140", "97124", 0)]
        assert "even with 59" in pair.text
        assert "PTP-v30" in pair.source


def test_modifier_pair_while_in_force_then_deleted(reference: ReferenceData) -> None:
    in_force = compare(["97530", "97140"], reference, date(2018, 6, 1)).together[0]
    assert in_force.verdict == "with_modifier"
    assert in_force.edits[0].modifier_indicator == 1
    assert compare(["97530", "97140"], reference, date(2025, 6, 1)).together[0].verdict == "yes"


def test_payer_denied_pair(reference: ReferenceData) -> None:
    pair = compare(["97140", "97530"], reference, date(2025, 6, 1),
                   payer="commercial-cpt").together[0]
    assert pair.verdict == "no"
    assert pair.payer_pairs and "no modifier unlocks it" in pair.payer_pairs[0].text
    assert "Plan edit" in pair.source


def test_every_pair_and_unpriced_codes(reference: ReferenceData) -> None:
    result = compare(["97014", "G0283", "97032"], reference, date(2025, 6, 1))
    assert [p.codes for p in result.together] == [("97014", "G0283"), ("97014", "97032"),
                                                  ("G0283", "97032")]
    assert result.differences == []  # 97014 has no Medicare amount (status I)
    assert any("status I" in note for note in result.notes)


def test_payer_price_uses_the_chosen_place(reference: ReferenceData) -> None:
    result = compare(["97124", "97140"], reference, date(2025, 6, 1), "01182-18",
                     payer="commercial-cpt")
    price = result.sides[0].payer_price
    assert price is not None and price.full == Decimal("37.02")  # 110% of $33.65


@pytest.mark.parametrize(("codes", "message"), [
    (["97124"], "at least two different codes"),
    (["97124", "97124"], "at least two different codes"),
    (["97124", "00000"], "unknown code 00000"),
])
def test_errors(reference: ReferenceData, codes: list[str], message: str) -> None:
    with pytest.raises(GuideError, match=message):
        compare(codes, reference, date(2025, 6, 1))
