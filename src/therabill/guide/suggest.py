"""Suggest candidate codes for the techniques a visit note documents.

The curated vocabulary (``vocabulary.yaml`` beside this module) maps the words clinicians write -
"effleurage", "joint mobilizations", "PROM" - to the codes they may belong to, with the reason,
what the note must show, and a question to ask when the words alone cannot decide. A suggestion
never picks a code for what it pays: every reason says the code follows the service documented,
and ambiguous techniques come back with all their candidates and an ``ask``.

Matching works on whole words after normalising both the vocabulary and the text the same way
(see ``normalise``), so "Joint Mobilisations" finds "joint mobilization" and "re-eval" finds
"reeval". When phrases overlap the longest wins ("manual lymphatic drainage" over "lymphatic
drainage"); several techniques give several suggestions, in the order the text mentions them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from therabill.reference.catalogue import CODE_PATTERN, Catalogue, load_catalogue

__all__ = [
    "VOCABULARY_PATH",
    "Candidate",
    "PayerNote",
    "Suggestion",
    "Vocabulary",
    "VocabularyEntry",
    "VocabularyError",
    "load_vocabulary",
    "normalise",
    "suggest",
    "unmatched_phrases",
]

VOCABULARY_PATH = Path(__file__).resolve().parent / "vocabulary.yaml"

PayerKind = Literal["medicare", "commercial"]

# Noun/adjective and plural forms notes use interchangeably; both sides map to one spelling.
_WORD_FORMS: dict[str, str] = {
    "electrical": "electric",
    "integrative": "integration",
    "orthotic": "orthosis",
    "orthotics": "orthosis",
    "orthoses": "orthosis",
    "prosthetic": "prosthesis",
    "prosthetics": "prosthesis",
    "prostheses": "prosthesis",
}
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Where a note's text breaks into phrases: punctuation only (vocabulary terms hold "and", "with").
_PHRASE_BREAK = re.compile(r"[,;:()\n]|\.(?!\d)")
# Words that name no technique: a phrase of only these (and numbers) is not reported unmatched.
_FILLER_WORDS = (
    "a", "an", "the", "and", "or", "then", "to", "of", "for", "with", "on", "at", "in", "by",
    "x", "min", "mins", "minute", "minutes", "hr", "hour", "set", "sets", "rep", "reps", "unit",
    "units", "session", "left", "right", "bilateral", "both", "side", "sides", "patient", "pt",
    "tolerated", "well", "today", "also", "plus", "each", "per", "total")
# Short words are mostly acronyms (TENS, FEES, ADLs): stripping an "s" would turn TENS into "ten".
_MIN_PLURAL_LENGTH = 5


def _word_form(word: str) -> str:
    if word in _WORD_FORMS:
        return _WORD_FORMS[word]
    word = word.replace("isation", "ization")
    if len(word) >= _MIN_PLURAL_LENGTH:
        if word.endswith("ies"):
            word = word[:-3] + "y"
        elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
    return _WORD_FORMS.get(word, word)


_FILLER = frozenset(_word_form(word) for word in _FILLER_WORDS)


def normalise(text: str) -> tuple[str, ...]:
    """The words of ``text`` in the form matching uses.

    Lower case, accents and apostrophes dropped, punctuation and hyphens as word breaks, a
    detached "re" joined to its word (re-evaluation, re evaluation, reevaluation are one word),
    British -isation as -ization, simple plurals made singular, and a few noun/adjective pairs
    (orthotic/orthosis, prosthetic/prosthesis, electrical/electric) folded together.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    raw = [w for w in _NON_WORD.split(ascii_text.lower().replace("'", "")) if w]
    words: list[str] = []
    index = 0
    while index < len(raw):
        word = raw[index]
        if word == "re" and index + 1 < len(raw):
            word, index = word + raw[index + 1], index + 1
        words.append(_word_form(word))
        index += 1
    return tuple(words)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Candidate(_Strict):
    """A code the documented technique may belong to, and when it is the right one."""

    code: str = Field(pattern=CODE_PATTERN)
    when: str = Field(min_length=1)


class PayerNote(_Strict):
    payer: PayerKind
    text: str = Field(min_length=1)


class VocabularyEntry(_Strict):
    """One technique or service: the words for it and the codes it may be billed with."""

    terms: list[str] = Field(min_length=1)
    candidates: list[Candidate] = Field(min_length=1)
    reason: str = Field(min_length=1)
    documentation: str = Field(min_length=1)
    ask: str | None = None
    payer_notes: list[PayerNote] = Field(default_factory=list)
    source: str = Field(min_length=1)

    @field_validator("terms")
    @classmethod
    def _terms_are_plain(cls, terms: list[str]) -> list[str]:
        for term in terms:
            if term != term.lower() or not normalise(term):
                raise ValueError(f"term {term!r} must be lower case and contain a word")
        forms = [normalise(term) for term in terms]
        if len(set(forms)) != len(forms):
            raise ValueError("two terms normalise to the same words")
        return terms

    @field_validator("candidates")
    @classmethod
    def _codes_once(cls, candidates: list[Candidate]) -> list[Candidate]:
        codes = [c.code for c in candidates]
        if len(set(codes)) != len(codes):
            raise ValueError("a code is listed twice")
        return candidates

    @field_validator("reason")
    @classmethod
    def _reason_follows_service(cls, reason: str) -> str:
        # The guide explains codes by the service, never by what they pay.
        if "documented" not in reason:
            raise ValueError("the reason must say the code follows the service documented")
        return reason


class Suggestion(_Strict):
    """What the guide says about one technique found in the text."""

    entry: str  # vocabulary entry id
    term: str  # the vocabulary term that matched, as written in the vocabulary
    candidates: list[Candidate]
    reason: str
    documentation: str
    ask: str | None
    payer_notes: list[PayerNote]
    source: str

    @property
    def codes(self) -> list[str]:
        return [candidate.code for candidate in self.candidates]


class VocabularyError(ValueError):
    """A vocabulary file that does not load; the message names the file, entry and field."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


class Vocabulary:
    """The vocabulary entries and an index from first word to the phrases starting with it."""

    def __init__(self, entries: Mapping[str, VocabularyEntry]) -> None:
        self._entries = dict(entries)
        self._phrases: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
        for entry_id, entry in self._entries.items():
            for term in entry.terms:
                words = normalise(term)
                self._phrases.setdefault(words[0], []).append((words, entry_id, term))

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> VocabularyEntry | None:
        return self._entries.get(entry_id)

    def entry_ids(self) -> list[str]:
        return list(self._entries)

    def match(self, text: str) -> list[Suggestion]:
        words = normalise(text)
        found: list[tuple[int, int, str, str]] = []  # start, length, entry id, term
        for start, word in enumerate(words):
            for phrase, entry_id, term in self._phrases.get(word, ()):
                if words[start:start + len(phrase)] == phrase:
                    found.append((start, len(phrase), entry_id, term))
        # Longest phrase first, then earliest: a shorter phrase inside a longer one is dropped.
        taken = [False] * len(words)
        chosen: list[tuple[int, str, str]] = []
        for start, length, entry_id, term in sorted(found, key=lambda m: (-m[1], m[0])):
            if not any(taken[start:start + length]):
                taken[start:start + length] = [True] * length
                chosen.append((start, entry_id, term))
        suggestions: list[Suggestion] = []
        seen: set[str] = set()
        for _, entry_id, term in sorted(chosen):
            if entry_id in seen:
                continue
            seen.add(entry_id)
            entry = self._entries[entry_id]
            suggestions.append(Suggestion(
                entry=entry_id, term=term, candidates=entry.candidates, reason=entry.reason,
                documentation=entry.documentation, ask=entry.ask,
                payer_notes=entry.payer_notes, source=entry.source))
        return suggestions


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(entry)"


def _parse(raw: Any, catalogue: Catalogue) -> tuple[dict[str, VocabularyEntry], list[str]]:
    if not isinstance(raw, dict) or set(raw) != {"entries"} or not isinstance(raw["entries"], dict):
        return {}, ["the file must hold one top-level mapping, 'entries', of id -> entry"]
    entries: dict[str, VocabularyEntry] = {}
    problems: list[str] = []
    owner: dict[tuple[str, ...], str] = {}
    for entry_id, body in raw["entries"].items():
        if not isinstance(entry_id, str) or not re.match(r"^[a-z][a-z0-9_]*$", entry_id):
            problems.append(f"entry {entry_id!r}: field (key): must be a snake_case id")
            continue
        try:
            entry = VocabularyEntry.model_validate(body)
        except ValidationError as error:
            for detail in error.errors():
                problems.append(f"entry {entry_id}: field {_location(detail['loc'])}: "
                                f"{detail['msg']}")
            continue
        for number, candidate in enumerate(entry.candidates):
            if candidate.code not in catalogue:
                problems.append(f"entry {entry_id}: field candidates.{number}.code: "
                                f"{candidate.code} is not in the code catalogue")
        for term in entry.terms:
            # One phrase, one meaning: a term in two entries would make matches arbitrary.
            words = normalise(term)
            if words in owner:
                problems.append(f"entry {entry_id}: field terms: {term!r} is also a term of "
                                f"{owner[words]}")
            owner[words] = entry_id
        entries[entry_id] = entry
    return entries, problems


def _read(path: Path, catalogue: Catalogue) -> Vocabulary:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise VocabularyError(path, [f"not valid YAML: {error}"]) from None
    entries, problems = _parse(raw, catalogue)
    if problems:
        raise VocabularyError(path, problems)
    return Vocabulary(entries)


@lru_cache(maxsize=1)
def _bundled() -> Vocabulary:
    return _read(VOCABULARY_PATH, load_catalogue())


def load_vocabulary(path: Path | None = None, catalogue: Catalogue | None = None) -> Vocabulary:
    """The bundled vocabulary (read once per process), or the file at ``path`` (read every call).

    Every candidate code is checked against ``catalogue`` (the bundled catalogue by default).
    """
    if path is None and catalogue is None:
        return _bundled()
    return _read(path or VOCABULARY_PATH, catalogue or load_catalogue())


def unmatched_phrases(text: str, vocabulary: Vocabulary | None = None) -> list[str]:
    """The phrases of ``text`` (split at punctuation) in which no vocabulary term was found.

    Phrases of only numbers and filler words ("25 min", "then") are left out: they name no
    technique. Each phrase is returned as written, trimmed.
    """
    vocabulary = vocabulary or load_vocabulary()
    missed = []
    for phrase in _PHRASE_BREAK.split(text):
        words = normalise(phrase)
        if all(word.isdigit() or word in _FILLER for word in words):
            continue
        if not vocabulary.match(phrase):
            missed.append(" ".join(phrase.split()))
    return missed


def suggest(text: str, vocabulary: Vocabulary | None = None) -> list[Suggestion]:
    """Candidate codes for each technique ``text`` documents, in the order it mentions them."""
    return (vocabulary or load_vocabulary()).match(text)
