"""Language detection for posts whose network says nothing, limited to the event's languages."""

from __future__ import annotations

from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_CODES = {"fr": Language.FRENCH, "en": Language.ENGLISH}
# Below this many letters a guess is noise ("Bravo!" is both French and English).
MIN_LETTERS = 12


@cache
def _detector(languages: tuple[str, ...]) -> LanguageDetector:
    known = [_CODES[code] for code in languages if code in _CODES]
    return (
        LanguageDetectorBuilder.from_languages(*known).with_minimum_relative_distance(0.1).build()
    )


def detect_language(text: str, languages: tuple[str, ...]) -> str | None:
    """The ISO 639-1 code of the text's language among `languages`, or None when unsure."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS or len(languages) < 2:
        return languages[0] if len(languages) == 1 else None
    found = _detector(tuple(sorted(languages))).detect_language_of(text)
    if found is None:
        return None
    return found.iso_code_639_1.name.lower()
