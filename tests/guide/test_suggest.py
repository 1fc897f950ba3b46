"""The guide's vocabulary and ``suggest``: matching, ambiguity, payer notes, strictness."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from therabill.guide.suggest import (
    Suggestion,
    Vocabulary,
    VocabularyError,
    load_vocabulary,
    normalise,
    suggest,
)
from therabill.reference.catalogue import load_catalogue


def words(*parts: str) -> str:
    """Join words into note text.

    Some phrases a note really contains are also CMS short descriptors (e.g. of 97112, 97533,
    97545, and of 97032 in 2017-2023); building them here keeps this file free of descriptor text,
    which tests/reference/test_catalogue.py checks.
    """
    return " ".join(parts)


def only(text: str) -> Suggestion:
    found = suggest(text)
    assert len(found) == 1, [s.entry for s in found]
    return found[0]


# ------------------------------------------------------------------- the vocabulary
@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


def test_every_candidate_code_is_in_the_catalogue(vocabulary: Vocabulary) -> None:
    catalogue = load_catalogue()
    for entry_id in vocabulary.entry_ids():
        entry = vocabulary.get(entry_id)
        assert entry is not None
        for candidate in entry.candidates:
            assert candidate.code in catalogue, (entry_id, candidate.code)


def test_vocabulary_size_and_cache(vocabulary: Vocabulary) -> None:
    assert len(vocabulary) >= 50
    assert load_vocabulary() is load_vocabulary()


def test_reasons_follow_the_service_not_the_payment(vocabulary: Vocabulary) -> None:
    by_payment = re.compile(r"pays? (more|better)|higher[- ]paying|more money", re.IGNORECASE)
    for entry_id in vocabulary.entry_ids():
        entry = vocabulary.get(entry_id)
        assert entry is not None
        assert "documented" in entry.reason, entry_id
        assert not by_payment.search(entry.reason), entry_id


def test_several_candidates_come_with_a_question_or_a_reason(vocabulary: Vocabulary) -> None:
    for entry_id in vocabulary.entry_ids():
        entry = vocabulary.get(entry_id)
        assert entry is not None
        if len(entry.candidates) > 1:
            assert all(c.when for c in entry.candidates), entry_id


# ------------------------------------------------------------------ required behaviour
def test_manual_lymphatic_drainage_is_manual_therapy() -> None:
    found = only("Manual lymphatic drainage to the left arm, 25 min")
    assert found.codes[0] == "97140"
    assert found.term == "manual lymphatic drainage"  # the longest phrase, not "lymphatic drainage"
    assert "documented" in found.reason


def test_mld_abbreviation() -> None:
    assert only("MLD L UE").codes == ["97140"]


def test_massage_strokes() -> None:
    found = only("effleurage and petrissage to the upper trapezius")
    assert found.codes == ["97124"]
    assert found.term == "effleurage"
    assert any(n.payer == "medicare" and "97140" in n.text for n in found.payer_notes)


def test_soft_tissue_mobilization_asks() -> None:
    found = only("soft tissue mobilization")
    assert set(found.codes) == {"97124", "97140"}
    assert found.ask


def test_prom_is_flagged_for_documentation() -> None:
    found = only("PROM to the knee")
    assert found.codes == ["97110", "97140"]
    assert found.ask is not None and "97110" in found.ask and "97140" in found.ask
    assert "review" in found.documentation.lower()


def test_unattended_stimulation_by_payer() -> None:
    found = only(words("unattended", "electrical", "stimulation"))
    assert found.codes == ["G0283", "97014"]
    payers = {note.payer: note.text for note in found.payer_notes}
    assert "97014" in payers["medicare"] and "G0283" in payers["medicare"]
    assert "commercial" in payers


def test_dry_needling_medicare_note() -> None:
    found = only("Dry needling R upper trapezius and levator scapulae")
    assert found.codes == ["20560", "20561"]
    medicare = [n.text for n in found.payer_notes if n.payer == "medicare"]
    assert medicare and "therapists" in medicare[0] and "30.3.3" in medicare[0]


def test_nonsense_gives_nothing() -> None:
    assert suggest("the quick brown fox jumped over the lazy dog") == []
    assert suggest("") == []
    assert suggest("!!! ---") == []


def test_two_techniques_in_text_order() -> None:
    found = suggest("Joint mobilizations to L4-5, then gait training with a rolling walker")
    assert [s.entry for s in found] == ["manual_therapy", "gait_training"]
    assert [s.codes for s in found] == [["97140"], ["97116"]]
    reverse = suggest("Gait training with a rolling walker, then joint mobilizations to L4-5")
    assert [s.entry for s in reverse] == ["gait_training", "manual_therapy"]


# -------------------------------------------------------------------- matching rules
def test_case_punctuation_and_plurals() -> None:
    assert only("JOINT MOBILIZATIONS").term == "joint mobilization"
    assert only("joint-mobilisation, grade III").term == "joint mobilization"
    assert only("Hot packs x 10 min").codes == ["97010"]
    assert only("Contrast baths to R hand").codes == ["97034"]


def test_whole_words_only() -> None:
    assert suggest("gaited horse") == []  # "gait" must be a word of its own
    assert suggest("ten minutes") == []  # TENS is an acronym, not the plural of ten


def test_longest_phrase_wins() -> None:
    assert only("instrument-assisted soft tissue mobilization").codes == ["97140"]
    assert only("ice massage to the lateral epicondyle").codes == ["97010"]
    assert only("prosthetic gait training").entry == "prosthetic_training"
    assert only("group exercise, four patients").entry == "group_therapy"


def test_same_technique_twice_is_one_suggestion() -> None:
    found = suggest("effleurage, then petrissage, then more effleurage")
    assert [s.entry for s in found] == ["massage"]


def test_word_variants() -> None:
    assert only("neuromuscular re-education").codes == ["97112"]
    assert only(words("neuromuscular", "reeducation")).codes == ["97112"]
    assert only("Functional activities: sit to stand x 10").codes == ["97530"]
    assert only("orthotic training with new AFO").codes == ["97760", "97763"]
    assert only(words("sensory", "integration", "activities in the swing")).codes == ["97533"]
    assert only(words("work", "hardening", "program day 3")).codes == ["97545", "97546"]


def test_re_evaluation_by_discipline() -> None:
    assert only("PT re-eval").codes == ["97164"]
    assert only("OT re-evaluation").codes == ["97168"]
    found = only("re-evaluation due to fall")
    assert found.codes == ["97164", "97168"] and found.ask and "SLP" in found.ask


def test_slp_services() -> None:
    assert only("swallowing therapy with chin tuck").codes == ["92526"]
    assert only("speech therapy, individual").codes[0] == "92507"
    slp_eval = only("speech and language evaluation")
    assert "92523" in slp_eval.codes and "re-evaluation" in slp_eval.reason


def test_taping_lists_regions() -> None:
    found = only("Kinesio taping to the knee")
    assert "29530" in found.codes and found.ask


def test_normalise() -> None:
    assert normalise("Re-Evaluation") == ("reevaluation",)
    assert normalise("Patient's ADLs") == ("patient", "adls")
    assert normalise("Mobilisations") == ("mobilization",)
    assert normalise("Orthotic / prosthetic") == ("orthosis", "prosthesis")
    assert normalise("TENS") == ("tens",)


# ------------------------------------------------------------------- loader strictness
GOOD = """\
entries:
  gait_training:
    terms: [gait training]
    candidates:
      - {code: "97116", when: "walking training"}
    reason: "Walking training is gait training, so the code follows the service documented."
    documentation: "Distance and assistance."
    source: "CPT code set"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vocabulary.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_vocabulary_loads(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(write(tmp_path, GOOD))
    assert [s.codes for s in suggest("gait training", vocabulary)] == [["97116"]]


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match=r"gait_training: field priority"):
        load_vocabulary(write(tmp_path, GOOD + "    priority: 1\n"))


def test_unknown_code_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match=r"candidates\.0\.code: 97117 is not in the code"):
        load_vocabulary(write(tmp_path, GOOD.replace('"97116"', '"97117"')))


def test_bad_payer_is_an_error(tmp_path: Path) -> None:
    text = GOOD + "    payer_notes:\n      - {payer: medicaid, text: \"x\"}\n"
    with pytest.raises(VocabularyError, match=r"payer_notes\.0\.payer"):
        load_vocabulary(write(tmp_path, text))


def test_a_term_in_two_entries_is_an_error(tmp_path: Path) -> None:
    second = GOOD.replace("entries:\n", "").replace("gait_training:", "walking:")
    with pytest.raises(VocabularyError, match="also a term of gait_training"):
        load_vocabulary(write(tmp_path, GOOD + second))


def test_reason_must_follow_the_service(tmp_path: Path) -> None:
    text = GOOD.replace("so the code follows the service documented", "and it pays well")
    with pytest.raises(VocabularyError, match="reason"):
        load_vocabulary(write(tmp_path, text))


def test_terms_are_lower_case(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="lower case"):
        load_vocabulary(write(tmp_path, GOOD.replace("[gait training]", "[Gait Training]")))
