"""Language detection on the bundled demo posts: accuracy and time per post of each way.

The demo posts whose network gives a language are the answers; each way is asked about their
text alone. Lingua in both modes, restricted to French and English as an event would be, and
livewall's own (aggregator/language.py): the vote of common words, lingua's low-accuracy
mode for what the vote leaves.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lingua import Language, LanguageDetectorBuilder

from aggregator.language import COMMON_WORDS, detect_language, vote, words_of
from aggregator.sanitize import clean_html, plain_text
from collectors.demo import bundled_posts

EVENT = ("fr", "en")
ROUNDS = 5


def labelled() -> list[tuple[str, str]]:
    return [
        (plain_text(clean_html(p["html"])) if p.get("html") else p.get("text", ""), p["language"])
        for p in bundled_posts()
        if p.get("language")
    ]


def lingua(low: bool) -> Callable[[str], str | None]:
    builder = LanguageDetectorBuilder.from_languages(Language.FRENCH, Language.ENGLISH)
    builder = builder.with_minimum_relative_distance(0.1)
    detector = (builder.with_low_accuracy_mode() if low else builder).build()

    def detect(text: str) -> str | None:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    detect("Bienvenue, welcome")  # models loaded before timing
    return detect


def measure(name: str, detect: Callable[[str], str | None], posts: list[tuple[str, str]]) -> str:
    started = time.process_time()
    for _ in range(ROUNDS):
        found = [detect(text) for text, _ in posts]
    micros = (time.process_time() - started) / ROUNDS / len(posts) * 1e6
    right = sum(f == language for f, (_, language) in zip(found, posts, strict=True))
    unsure = found.count(None)
    return (
        f"  {name:<36} {right}/{len(posts)} right, {unsure} unsure, {micros:,.0f} µs CPU per post"
    )


def main() -> None:
    posts = labelled()
    settled = sum(vote(words_of(text), EVENT) is not None for text, _ in posts)
    print(f"language detection, {len(posts)} demo posts whose network gives the language:")
    print(measure("lingua, high accuracy (before)", lingua(low=False), posts))
    print(measure("lingua, low accuracy", lingua(low=True), posts))
    print(
        measure("common words, then lingua low (now)", lambda t: detect_language(t, EVENT), posts)
    )
    print(f"  the vote of common words ({len(COMMON_WORDS['fr'])} French, "
          f"{len(COMMON_WORDS['en'])} English) settles {settled} of {len(posts)} alone")  # fmt: skip


if __name__ == "__main__":
    main()
