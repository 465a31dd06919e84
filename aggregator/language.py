"""Language detection for posts whose network says nothing, limited to the event's languages.

Two steps, chosen by measurement on the bundled demo posts (README, "Language detection"):
a vote of common words (« le », « des », "the", "with"…) settles most posts in microseconds;
the few it cannot settle (too few such words, or a mix) go to lingua in its low-accuracy
mode, restricted to the event's languages and loaded at start by `warm_detector`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES = {"fr": Language.FRENCH, "en": Language.ENGLISH}
# Below this many letters a guess is noise ("Bravo!" is both French and English).
MIN_LETTERS = 12


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Words frequent in one language and rare in the other's posts (English "a", "on", "in" and
# French "a", "on", "en" are left out: each is common in both).
COMMON_WORDS = {
    "fr": _words(
        "le la les un une des du de et est sont pour avec dans sur au aux ce cette ces qui que "
        "pas plus nous vous il elle ils très mais ou je tu merci bonne bon notre nos votre vos "
        "leur leurs été être avoir fait aussi tout tous toutes comme par ne se sa son ses lors "
        "entre après avant chez"
    ),
    "en": _words(
        "the an and is are for with at this that these those who what not more we you he she "
        "they it of to from our your their be been have has was were but or my thanks great "
        "good all as by will can about after before today"
    ),
}
# A vote settles when the winner has at least this many words and this many times the other's.
VOTES, MARGIN = 2, 3
_WORD = re.compile(r"[^\W\d_]+")  # letters only: « l'Assemblée » is « l », « assemblée »


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


@cache
def _detector(languages: tuple[str, ...]) -> LanguageDetector:
    known = [_CODES[code] for code in languages if code in _CODES]
    return (
        LanguageDetectorBuilder.from_languages(*known)
        .with_minimum_relative_distance(0.1)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def warm_detector(languages: tuple[str, ...]) -> None:
    """Load the models now (at start), not when the first post of the event arrives."""
    if len(languages) >= 2:
        _detector(tuple(sorted(languages))).detect_language_of("Bienvenue, welcome")


def vote(words: list[str], languages: tuple[str, ...]) -> str | None:
    """The language whose common words clearly outnumber the others', if one does."""
    lists = [(code, COMMON_WORDS[code]) for code in languages if code in COMMON_WORDS]
    if len(lists) != len(languages):
        return None  # a language without a list could be the one: let the detector say
    counts = {code: sum(map(common.__contains__, words)) for code, common in lists}
    (first, most), *others = sorted(counts.items(), key=lambda item: -item[1])
    runner_up = others[0][1] if others else 0
    return first if most >= VOTES and most >= MARGIN * runner_up else None


def detect_language(text: str, languages: tuple[str, ...]) -> str | None:
    """The ISO 639-1 code of the text's language among `languages`, or None when unsure."""
    return detect_languages([text], languages)[0]


def detect_languages(texts: Sequence[str], languages: tuple[str, ...]) -> list[str | None]:
    """`detect_language` of each text: the common words' vote for each, then lingua for those
    it leaves open, together, on every core (a batch's texts, in Rust, without the GIL)."""
    found: list[str | None] = []
    undecided: list[int] = []
    for index, text in enumerate(texts):
        words = words_of(text)
        if sum(map(len, words)) < MIN_LETTERS or len(languages) < 2:
            found.append(languages[0] if len(languages) == 1 else None)
            continue
        voted = vote(words, languages)
        found.append(voted)
        if voted is None:
            undecided.append(index)
    if not undecided:
        return found
    detector = _detector(tuple(sorted(languages)))
    if len(undecided) == 1:
        detected = [detector.detect_language_of(texts[undecided[0]])]
    else:
        detected = detector.detect_languages_in_parallel_of([texts[i] for i in undecided])
    for index, language in zip(undecided, detected, strict=True):
        found[index] = None if language is None else language.iso_code_639_1.name.lower()
    return found
