"""``explain_code`` on the bundled CMS data: status, performers, price, NCCI, MUE, errors."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from therabill.guide.explain import CodeExplanation, explain_code
from therabill.guide.facts import GuideError
from therabill.reference.store import ReferenceData, default_reference

REPO = Path(__file__).resolve().parents[2]
JUNE_2025 = date(2025, 6, 1)


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return default_reference()


def explain(code: str, reference: ReferenceData, day: date = JUNE_2025,
            locality: str = "national", payer: str = "medicare") -> CodeExplanation:
    return explain_code(code, day, locality, payer, reference)


def answer(result: CodeExplanation, who: str) -> tuple[str, str, str]:
    found = next(p for p in result.performers if p.who.startswith(who))
    return found.may_furnish, found.text, found.source


# ------------------------------------------------------------------- catalogue and status
def test_97124_catalogue_facts_and_status(reference: ReferenceData) -> None:
    result = explain("97124", reference)
    assert result.catalogue is not None
    assert result.catalogue.timing.basis == "timed"
    assert result.catalogue.timing.unit_minutes == 15
    assert result.catalogue.disciplines == ["PT", "OT"]
    assert result.catalogue.therapy == "always"
    assert "catalogue" in result.catalogue.source
    assert (result.medicare.status, result.medicare.rvu_release) == ("A", "RVU25A")
    assert "status indicator" in result.medicare.source


def test_97014_is_not_valid_and_points_to_g0283(reference: ReferenceData) -> None:
    result = explain("97014", reference)
    assert result.medicare.status == "I"
    assert result.medicare.use_instead == "G0283"
    assert "G0283" in result.medicare.meaning
    assert not result.price.payable and result.price.full is None
    assert "status I" in result.price.note
    everyone = result.performers[0]
    assert everyone.who == "everyone" and "G0283" in everyone.text


def test_97010_is_bundled(reference: ReferenceData) -> None:
    result = explain("97010", reference, date(2019, 2, 1))
    assert result.medicare.status == "B"
    assert "bundled" in result.medicare.meaning
    assert result.medicare.rvu_release == "RVU19A"


# ---------------------------------------------------------------------------- performers
def test_97124_massage_therapist_may_not_bill_medicare(reference: ReferenceData) -> None:
    result = explain("97124", reference)
    may, text, source = answer(result, "massage therapist")
    assert may == "no"
    assert "not a Medicare therapy provider" in text
    assert source == "CMS Pub 100-02 ch.15 §230.1"
    for who in ("aide", "athletic trainer"):
        assert answer(result, who)[0] == "no"
    assert answer(result, "therapist")[0] == "yes"
    may, text, _ = answer(result, "assistant")
    assert may == "yes, under supervision"
    assert "85%" in text and "general supervision" in text
    assert "State practice acts differ" in answer(result, "state law")[1]


def test_assistant_terms_follow_the_date(reference: ReferenceData) -> None:
    assert "no CQ/CO" in answer(explain("97110", reference, date(2019, 5, 1)), "assistant")[1]
    assert "100%" in answer(explain("97110", reference, date(2021, 5, 1)), "assistant")[1]


def test_slp_has_no_assistant_under_medicare(reference: ReferenceData) -> None:
    may, _, source = answer(explain("92507", reference), "assistant")
    assert may == "no" and source == "CMS Pub 100-02 ch.15 §230.3.C"


def test_dry_needling_not_by_therapists(reference: ReferenceData) -> None:
    result = explain("20560", reference)
    assert answer(result, "therapist")[0] == "no"
    assert answer(result, "assistant")[0] == "no"


def test_commercial_performers_come_from_the_policy_file(reference: ReferenceData) -> None:
    massage = explain("97124", reference, payer="commercial-cpt")
    may, _, source = answer(massage, "massage therapist")
    assert may == "yes" and "commercial-cpt" in source
    manual = explain("97140", reference, payer="commercial-cpt")
    assert answer(manual, "massage therapist")[0] == "no"
    assert "State practice acts differ" in answer(manual, "state law")[1]


def test_commercial_replacement_and_exclusion_are_coverage_notes(reference: ReferenceData
                                                                 ) -> None:
    swap = explain("97014", reference, payer="commercial-mppr")
    assert "bill G0283" in swap.coverage[0].text
    excluded = explain("20560", reference, payer="commercial-mppr")
    assert "does not cover 20560" in excluded.coverage[0].text


# ---------------------------------------------------------------------------------- price
def test_price_national_and_los_angeles(reference: ReferenceData) -> None:
    national = explain("97124", reference).price
    assert (national.full, national.reduced) == (Decimal("29.76"), Decimal("20.70"))
    assert national.conversion_factor.value == Decimal("32.3465")
    assert national.mppr_applies
    local = explain("97124", reference, locality="01182-18").price
    assert local.full == Decimal("33.65")  # CMS PFCA252 payment file, LA, 2025
    assert local.place.gpci_release == "GPCI2025"
    assert (local.place.work_gpci, local.place.pe_gpci, local.place.mp_gpci) == (
        Decimal("1.042"), Decimal("1.194"), Decimal("0.690"))
    assert "RVU25A" in local.source


def test_work_floor_applied_in_2018(reference: ReferenceData) -> None:
    price = explain("97110", reference, date(2018, 6, 1), locality="02402-99").price
    assert price.place.work_gpci == Decimal("1.0")
    assert "0.997 raised to the 1.0 floor" in price.place.note


def test_payer_price_from_policy(reference: ReferenceData) -> None:
    percent = explain("97124", reference, payer="commercial-cpt").payer_price
    assert percent is not None and percent.full == Decimal("32.74")  # 110% of $29.76
    table = explain("97124", reference, payer="commercial-mppr").payer_price
    assert table is not None and table.full == Decimal("27.00")
    assert explain("97124", reference).payer_price is None


# ----------------------------------------------------------------------------------- NCCI
def test_ptp_pairs_in_force_with_indicator_and_unlock(reference: ReferenceData) -> None:
    ptp = explain("97124", reference).ptp
    assert ptp is not None
    assert ptp.release == "PTP-v302r0"
    assert "newest held" in ptp.note and ptp.caveat
    hard = next(e for e in ptp.edits if (e.column_1, e.column_2) == ("97140", "97124"))
    assert hard.modifier_indicator == 0
    assert hard.unlock.startswith("none")
    soft = next(e for e in ptp.edits if e.modifier_indicator == 1)
    assert "59, XE, XS, XP or XU on " + soft.column_2 in soft.unlock
    # Indicator 9 edits are not in force and are not listed.
    assert all(e.modifier_indicator in (0, 1) for e in ptp.edits)


def test_ptp_before_the_oldest_table_says_so(reference: ReferenceData) -> None:
    ptp = explain("97124", reference, date(2018, 6, 1)).ptp
    assert ptp is not None and ptp.release == "PTP-v301r0"
    assert "oldest edit table" in ptp.note


def test_deleted_edit_is_not_listed_after_its_deletion(reference: ReferenceData) -> None:
    def pairs(day: date) -> set[tuple[str, str]]:
        ptp = explain("97530", reference, day).ptp
        assert ptp is not None
        return {(e.column_1, e.column_2) for e in ptp.edits}

    assert ("97140", "97530") in pairs(date(2019, 6, 1))
    assert ("97140", "97530") not in pairs(date(2021, 6, 1))  # deleted 2019-12-31


def test_mue(reference: ReferenceData) -> None:
    mue = explain("97124", reference).mue
    assert mue is not None
    assert (mue.release, mue.value, mue.mai) == ("MUE-2024-07-01", 4, 3)
    assert "clinical" in mue.mai_meaning


# --------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("code", "day", "locality", "payer", "message"), [
    ("99999", JUNE_2025, "national", "medicare", "unknown code 99999"),
    ("9712", JUNE_2025, "national", "medicare", "is not a code"),
    ("97124", date(2016, 6, 1), "national", "medicare", "no CMS RVU file is held for 2016"),
    ("97124", date(2027, 2, 1), "national", "medicare", "no CMS RVU file is held for 2027"),
    ("97124", JUNE_2025, "99999-99", "medicare", "locality '99999-99' is not in GPCI2025"),
    ("97124", JUNE_2025, "national", "aetna", "unknown payer 'aetna'"),
])
def test_errors(reference: ReferenceData, code: str, day: date, locality: str, payer: str,
                message: str) -> None:
    with pytest.raises(GuideError, match=message):
        explain_code(code, day, locality, payer, reference)


# ---------------------------------------------------------------- no CPT descriptor text
def _descriptors(cms_dir: Path, codes: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((cms_dir / "pprrvu").glob("*/*.csv")):
        with path.open(encoding="latin-1", newline="") as handle:
            rows = list(csv.reader(handle))
        start = next(i for i, row in enumerate(rows) if row and row[0] == "HCPCS")
        column = rows[start].index("DESCRIPTION")
        for row in rows[start + 1:]:
            if row and row[0] in codes and len(row[column].strip()) >= 14:
                found[row[column].strip().lower()] = row[0]
    return found


def test_no_descriptor_text_in_the_guide_files(cms_dir: Path, reference: ReferenceData) -> None:
    descriptors = _descriptors(cms_dir, set(reference.catalogue.codes()))
    assert len(descriptors) > 150
    files = [*(REPO / "src" / "therabill" / "guide").glob("*.py"),
             *(REPO / "tests" / "guide").glob("test_*.py")]
    for path in files:
        text = path.read_text(encoding="utf-8").lower()
        hits = sorted(f"{code}: {d!r}" for d, code in descriptors.items() if d in text)
        assert not hits, f"{path.name} contains CMS descriptor text: {hits}"
