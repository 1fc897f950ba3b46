"""The code catalogue: completeness, schema strictness, timing facts, and no CPT descriptor text."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from therabill.reference.catalogue import (
    CATALOGUE_PATH,
    Catalogue,
    CatalogueError,
    CodeInfo,
    load_catalogue,
)

# Every code in the CMS RVU files 2017-2026 within the therapy ranges.
_EXPECTED_TEXT = """
0552T 20560 20561 29200 29240 29260 29280 29305 29325 29345 29355 29358 29365 29405 29425 29435
29440 29445 29450 29505 29515 29520 29530 29540 29550 29580 29581 29582 29583 29584 64550 92507
92508 92511 92512 92516 92517 92518 92519 92520 92521 92522 92523 92524 92526 92531 92532 92533
92534 92537 92538 92540 92541 92542 92544 92545 92546 92547 92548 92549 92550 92551 92552 92553
92555 92556 92557 92558 92559 92560 92561 92562 92563 92564 92565 92567 92568 92570 92571 92572
92575 92576 92577 92579 92582 92583 92584 92585 92586 92587 92588 92590 92591 92592 92593 92594
92595 92596 92597 92601 92602 92603 92604 92605 92606 92607 92608 92609 92610 92611 92612 92613
92614 92615 92616 92617 92618 92620 92621 92622 92623 92625 92626 92627 92630 92633 95831 95832
95833 95834 95836 95851 95852 95992 96105 96110 96111 96112 96113 96116 96118 96119 96120 96121
96125 96127 97010 97012 97014 97016 97018 97022 97024 97026 97028 97032 97033 97034 97035 97036
97037 97039 97110 97112 97113 97116 97124 97127 97129 97130 97139 97140 97150 97151 97152 97153
97154 97155 97156 97157 97158 97161 97162 97163 97164 97165 97166 97167 97168 97169 97170 97171
97172 97530 97532 97533 97535 97537 97542 97545 97546 97550 97551 97552 97597 97598 97602 97605
97606 97607 97608 97610 97750 97755 97760 97761 97762 97763 97799 98940 98941 98942 98943 G0151
G0152 G0153 G0155 G0156 G0157 G0158 G0159 G0160 G0161 G0281 G0282 G0283
"""
# G0329 (electromagnetic wound therapy) is an always-therapy code outside the listed ranges.
EXPECTED_CODES = frozenset(_EXPECTED_TEXT.split()) | {"G0329"}

REPO = Path(__file__).resolve().parents[2]
# Files of ours that must never carry CPT descriptor text.
SCANNED_FILES = [
    CATALOGUE_PATH,
    REPO / "src" / "therabill" / "reference" / "catalogue.py",
    REPO / "src" / "therabill" / "guide" / "vocabulary.yaml",
    REPO / "src" / "therabill" / "guide" / "suggest.py",
    Path(__file__),
    REPO / "tests" / "guide" / "test_suggest.py",
]
MIN_DESCRIPTOR_LENGTH = 14


def rvu_rows(path: Path) -> list[dict[str, str]]:
    """Data rows of a PPRRVU CSV as dicts; the header row is the one starting with HCPCS."""
    with path.open(encoding="latin-1", newline="") as handle:
        rows = list(csv.reader(handle))
    start = next(i for i, row in enumerate(rows) if row and row[0] == "HCPCS")
    # Column names span two header rows ("PCTC" over "IND", "MULT" over "PROC").
    above = rows[start - 1] + [""] * len(rows[start])
    names = [f"{top.strip()} {name.strip()}".strip()
             for top, name in zip(above, rows[start], strict=False)]
    return [dict(zip(names, row, strict=False)) for row in rows[start + 1:] if row and row[0]]


def therapy_descriptors(path: Path) -> dict[str, str]:
    """Descriptor (lower case) -> code, for the catalogue's codes, long enough to matter."""
    found: dict[str, str] = {}
    for row in rvu_rows(path):
        text = row.get("DESCRIPTION", "").strip()
        if row["HCPCS"] in EXPECTED_CODES and len(text) >= MIN_DESCRIPTOR_LENGTH:
            found[text.lower()] = row["HCPCS"]
    return found


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def rvu_2025(cms_dir: Path) -> dict[str, dict[str, str]]:
    path = cms_dir / "pprrvu" / "2025_oct" / "PPRRVU2025_Oct.csv"
    return {row["HCPCS"]: row for row in rvu_rows(path) if not row.get("MOD")}


# ------------------------------------------------------------------ completeness and API
def test_every_expected_code_and_nothing_else(catalogue: Catalogue) -> None:
    assert len(EXPECTED_CODES) == 237
    assert set(catalogue.codes()) == EXPECTED_CODES


def test_api(catalogue: Catalogue) -> None:
    assert catalogue.codes() == sorted(catalogue.codes())
    assert "97140" in catalogue
    assert "99999" not in catalogue
    info = catalogue.get("97140")
    assert isinstance(info, CodeInfo)
    assert info.code == "97140"
    assert catalogue.get("99999") is None
    assert len(catalogue) == 237
    assert [i.code for i in catalogue] == catalogue.codes()


def test_bundled_catalogue_is_cached() -> None:
    assert load_catalogue() is load_catalogue()


def test_every_code_is_in_some_rvu_file(cms_dir: Path) -> None:
    seen: set[str] = set()
    for path in sorted((cms_dir / "pprrvu").glob("*/*.csv")):
        seen.update(row["HCPCS"] for row in rvu_rows(path))
    assert not EXPECTED_CODES - seen


# ----------------------------------------------------------------------- descriptors
def test_no_2025_descriptor_in_our_files(cms_dir: Path) -> None:
    descriptors = therapy_descriptors(cms_dir / "pprrvu" / "2025_oct" / "PPRRVU2025_Oct.csv")
    assert len(descriptors) > 150  # the check must actually have something to look for
    for path in SCANNED_FILES:
        text = path.read_text(encoding="utf-8").lower()
        hits = sorted(f"{code}: {d!r}" for d, code in descriptors.items() if d in text)
        assert not hits, f"{path.name} contains CMS descriptor text: {hits}"


def test_no_descriptor_of_any_year_in_our_files(cms_dir: Path) -> None:
    # Older releases used other short descriptors for the same codes; none may appear either.
    descriptors: dict[str, str] = {}
    for path in sorted((cms_dir / "pprrvu").glob("*/*.csv")):
        descriptors.update(therapy_descriptors(path))
    for path in SCANNED_FILES:
        text = path.read_text(encoding="utf-8").lower()
        hits = sorted(f"{code}: {d!r}" for d, code in descriptors.items() if d in text)
        assert not hits, f"{path.name} contains CMS descriptor text: {hits}"


# -------------------------------------------------------------------- timing facts
def test_97110_timed_15_pt_ot_always(catalogue: Catalogue) -> None:
    info = catalogue.get("97110")
    assert info is not None
    assert (info.time.basis, info.time.unit_minutes) == ("timed", 15)
    assert info.disciplines == ["PT", "OT"]
    assert info.therapy == "always"


def test_92507_untimed_slp(catalogue: Catalogue) -> None:
    info = catalogue.get("92507")
    assert info is not None
    assert info.time.basis == "untimed" and info.time.unit_minutes is None
    assert info.disciplines == ["SLP"]
    assert info.therapy == "always"


@pytest.mark.parametrize(("primary", "add_on", "first", "further"), [
    ("97129", "97130", 15, 15),
    ("97545", "97546", 120, 60),
    ("96112", "96113", 60, 30),
    ("96116", "96121", 60, 60),
    ("92626", "92627", 60, 15),
    ("92607", "92608", 60, 30),
    ("92605", "92618", 60, 30),
    ("92620", "92621", 60, 15),
    ("97550", "97551", 30, 15),
])
def test_primary_add_on_pairs(catalogue: Catalogue, primary: str, add_on: str, first: int,
                              further: int) -> None:
    main, extra = catalogue.get(primary), catalogue.get(add_on)
    assert main is not None and extra is not None
    assert (main.time.basis, main.time.add_on, main.time.unit_minutes) == (
        "timed_primary", add_on, first)
    assert (extra.time.basis, extra.time.primary, extra.time.unit_minutes) == (
        "timed_add_on", primary, further)


def test_every_pair_points_both_ways(catalogue: Catalogue) -> None:
    for info in catalogue:
        if info.time.add_on:
            partner = catalogue.get(info.time.add_on)
            assert partner is not None and partner.time.primary == info.code
        if info.time.primary:
            partner = catalogue.get(info.time.primary)
            assert partner is not None and partner.time.add_on == info.code


def test_hourly_and_untimed_codes(catalogue: Catalogue) -> None:
    for code in ("96105", "96125"):
        info = catalogue.get(code)
        assert info is not None and (info.time.basis, info.time.unit_minutes) == ("timed", 60)
    for code in ("97150", "97010", "97012", "G0283", "92526", "97161", "97164", "92521"):
        info = catalogue.get(code)
        assert info is not None and info.time.basis == "untimed", code
    for code in ("97032", "97035", "97112", "97116", "97124", "97140", "97530", "97760"):
        info = catalogue.get(code)
        assert info is not None and (info.time.basis, info.time.unit_minutes) == ("timed", 15)
    wound = catalogue.get("97597")
    assert wound is not None and (wound.time.basis, wound.time.add_on) == ("per_item", "97598")


# ------------------------------------------------------------------ coverage facts
def test_97014_medicare_uses_g0283(catalogue: Catalogue) -> None:
    info = catalogue.get("97014")
    assert info is not None and info.medicare is not None
    assert info.medicare.use_instead == "G0283"
    assert "G0283" in catalogue


def test_dry_needling_not_payable_to_therapists(catalogue: Catalogue) -> None:
    for code in ("20560", "20561"):
        info = catalogue.get(code)
        assert info is not None and info.medicare is not None
        assert info.medicare.not_payable_to_therapists
        assert "30.3.3" in info.medicare.source


def test_athletic_training_evaluations(catalogue: Catalogue) -> None:
    for code in ("97169", "97170", "97171", "97172"):
        info = catalogue.get(code)
        assert info is not None and info.medicare is not None
        assert info.medicare.not_therapy_provider == "athletic_trainer"
        assert info.evaluation and info.therapy == "never"


def test_evaluations_belong_to_one_discipline(catalogue: Catalogue) -> None:
    owners = {"PT": ("97161", "97162", "97163", "97164"),
              "OT": ("97165", "97166", "97167", "97168"),
              "SLP": ("92521", "92522", "92523", "92524")}
    expected = {code: [discipline] for discipline, codes in owners.items() for code in codes}
    for code, disciplines in expected.items():
        info = catalogue.get(code)
        assert info is not None and info.evaluation and info.disciplines == disciplines, code
    swallow = catalogue.get("92610")
    assert swallow is not None and swallow.evaluation
    treatment = catalogue.get("97110")
    assert treatment is not None and not treatment.evaluation


def test_slp_evaluation_has_no_re_evaluation_code(catalogue: Catalogue) -> None:
    info = catalogue.get("92523")
    assert info is not None
    assert any("no SLP re-evaluation code" in note.text for note in info.notes)


def test_massage_and_manual_therapy_notes(catalogue: Catalogue) -> None:
    manual, massage = catalogue.get("97140"), catalogue.get("97124")
    assert manual is not None and massage is not None
    assert any("lymphatic drainage" in note.text for note in manual.notes)
    assert any("indicator 0" in note.text for note in massage.notes)


def test_always_therapy_follows_the_rvu_proxy(catalogue: Catalogue,
                                              rvu_2025: dict[str, dict[str, str]]) -> None:
    # PCTC 7 with the therapy reduction (MULT PROC 5) marks an always-therapy code.
    for code, row in rvu_2025.items():
        if code in catalogue and row["PCTC IND"] == "7" and row["MULT PROC"] == "5":
            info = catalogue.get(code)
            assert info is not None and info.therapy == "always", code


def test_medicare_status_has_a_catalogue_fact(catalogue: Catalogue,
                                              rvu_2025: dict[str, dict[str, str]]) -> None:
    # Codes Medicare bundles, refuses or replaces carry an explanation in the catalogue.
    for code, row in rvu_2025.items():
        if code in catalogue and row["STATUS CODE"] in ("B", "I", "N", "X"):
            info = catalogue.get(code)
            assert info is not None and info.medicare is not None, code
            if row["STATUS CODE"] == "B":
                assert "Bundled" in info.medicare.text, code


def test_therapy_codes_name_their_disciplines(catalogue: Catalogue) -> None:
    for info in catalogue:
        if info.therapy != "never":
            assert info.disciplines, info.code
        for note in info.notes:
            assert note.source


# ----------------------------------------------------------------- schema strictness
GOOD_ENTRY = """\
  "97110":
    summary: "Exercise."
    family: therapeutic_procedure
    time: {basis: timed, unit_minutes: 15}
    disciplines: [PT, OT]
    therapy: always
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text("codes:\n" + body, encoding="utf-8")
    return path


def test_a_minimal_file_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, GOOD_ENTRY))
    assert catalogue.codes() == ["97110"]


def test_unknown_key_names_code_and_field(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write(tmp_path, GOOD_ENTRY + "    colour: blue\n"))
    assert "97110" in str(caught.value) and "colour" in str(caught.value)


def test_unknown_key_inside_time(tmp_path: Path) -> None:
    body = GOOD_ENTRY.replace("unit_minutes: 15}", "unit_minutes: 15, minutes: 15}")
    with pytest.raises(CatalogueError, match=r"97110.*time\.minutes"):
        load_catalogue(write(tmp_path, body))


def test_bad_basis_names_code_and_field(tmp_path: Path) -> None:
    body = GOOD_ENTRY.replace("basis: timed,", "basis: hourly,")
    with pytest.raises(CatalogueError, match=r"code 97110: field time\.basis"):
        load_catalogue(write(tmp_path, body))


@pytest.mark.parametrize(("old", "new", "field"), [
    ("disciplines: [PT, OT]", "disciplines: [PT, RT]", "disciplines.1"),
    ("therapy: always", "therapy: often", "therapy"),
])
def test_bad_enum_values(tmp_path: Path, old: str, new: str, field: str) -> None:
    with pytest.raises(CatalogueError, match=rf"97110: field {field}"):
        load_catalogue(write(tmp_path, GOOD_ENTRY.replace(old, new)))


def test_timed_primary_needs_add_on(tmp_path: Path) -> None:
    body = GOOD_ENTRY.replace("basis: timed,", "basis: timed_primary,")
    with pytest.raises(CatalogueError, match=r"97110: field time: .*needs add_on"):
        load_catalogue(write(tmp_path, body))


def test_timed_needs_unit_minutes(tmp_path: Path) -> None:
    body = GOOD_ENTRY.replace("{basis: timed, unit_minutes: 15}", "{basis: timed}")
    with pytest.raises(CatalogueError, match="needs unit_minutes"):
        load_catalogue(write(tmp_path, body))


def test_add_on_must_point_back(tmp_path: Path) -> None:
    body = """\
  "97129":
    summary: "First block."
    family: cognitive
    time: {basis: timed_primary, unit_minutes: 15, add_on: "97130"}
    disciplines: [OT]
    therapy: sometimes
  "97130":
    summary: "Further blocks."
    family: cognitive
    time: {basis: timed_add_on, unit_minutes: 15, primary: "97110"}
    disciplines: [OT]
    therapy: sometimes
""" + GOOD_ENTRY
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write(tmp_path, body))
    assert "code 97129: field time.add_on: 97130 does not name 97129" in str(caught.value)


def test_add_on_must_exist(tmp_path: Path) -> None:
    body = GOOD_ENTRY.replace("{basis: timed, unit_minutes: 15}",
                              '{basis: timed_primary, unit_minutes: 15, add_on: "97999"}')
    with pytest.raises(CatalogueError, match="97999 is not in the catalogue"):
        load_catalogue(write(tmp_path, body))


@pytest.mark.parametrize("key", ["97110", "9711", '"97110x"'])
def test_code_keys_are_quoted_five_characters(tmp_path: Path, key: str) -> None:
    with pytest.raises(CatalogueError, match="code"):
        load_catalogue(write(tmp_path, GOOD_ENTRY.replace('"97110"', key)))


def test_medicare_block_needs_text_and_source(tmp_path: Path) -> None:
    body = GOOD_ENTRY + '    medicare: {use_instead: "G0283"}\n'
    with pytest.raises(CatalogueError, match=r"97110: field medicare\.text"):
        load_catalogue(write(tmp_path, body))


def test_therapy_code_needs_a_discipline(tmp_path: Path) -> None:
    body = GOOD_ENTRY.replace("disciplines: [PT, OT]", "disciplines: []")
    with pytest.raises(CatalogueError, match="needs at least one discipline"):
        load_catalogue(write(tmp_path, body))


def test_explicit_path_is_read_fresh(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ENTRY)
    first = load_catalogue(path)
    path.write_text("codes:\n" + GOOD_ENTRY.replace("97110", "97112"), encoding="utf-8")
    assert load_catalogue(path).codes() == ["97112"]
    assert first.codes() == ["97110"]
