from __future__ import annotations

import pytest

from aggregator.language import (
    _detector,
    detect_language,
    detect_languages,
    vote,
    warm_detector,
    words_of,
)
from aggregator.sanitize import clean_html, plain_text
from collectors.demo import bundled_posts

EVENT = ("fr", "en")


def test_common_words_settle_most_posts_and_the_detector_the_rest() -> None:
    assert (
        vote(words_of("Très belle conférence sur le financement des infrastructures"), EVENT)
        == "fr"
    )
    assert (
        vote(words_of("Great panel about climate adaptation for small towns this morning"), EVENT)
        == "en"
    )
    # Too few common words, or as many of each: the detector decides.
    assert vote(words_of("Infrastructures municipales: financement durable"), EVENT) is None
    assert detect_language("Infrastructures municipales: financement durable", EVENT) == "fr"
    assert vote(words_of("Le panel with the maire de la ville and the mayor"), EVENT) is None


def test_a_language_without_a_word_list_leaves_it_to_the_detector() -> None:
    assert vote(words_of("Le panel de la ville, très bien"), ("fr", "es")) is None


@pytest.mark.parametrize("languages", [("fr",), ("en", "fr")])
def test_one_language_or_too_few_letters(languages: tuple[str, ...]) -> None:
    expected = "fr" if len(languages) == 1 else None
    assert detect_language("Bravo!", languages) == expected


def test_every_demo_post_whose_network_gives_its_language_is_found_the_same() -> None:
    posts = [p for p in bundled_posts() if p.get("language")]
    texts = [plain_text(clean_html(p["html"])) if p.get("html") else p["text"] for p in posts]
    found = [detect_language(text, EVENT) for text in texts]
    assert found == [p["language"] for p in posts] and len(found) > 80


def test_a_batch_is_detected_as_each_of_its_texts_alone() -> None:
    """The vote for each text, lingua for the undecided together (in parallel): the same
    answers as one text at a time, in the batch's order, the undecided among the others."""
    posts = [p for p in bundled_posts() if p.get("language")]
    texts = [plain_text(clean_html(p["html"])) if p.get("html") else p["text"] for p in posts]
    texts += ["Infrastructures municipales: financement durable", "Bravo!", ""]
    texts += ["Le panel with the maire de la ville and the mayor"]
    undecided = [t for t in texts if len(words_of(t)) > 2 and vote(words_of(t), EVENT) is None]
    assert len(undecided) >= 2  # lingua's batch call, not its one-text call
    assert detect_languages(texts, EVENT) == [detect_language(t, EVENT) for t in texts]
    assert detect_languages([], EVENT) == []


def test_warming_builds_the_detector_of_the_event_languages() -> None:
    _detector.cache_clear()
    warm_detector(("en", "fr"))
    assert _detector.cache_info().currsize == 1
    detect_language("Infrastructures municipales: financement durable", ("fr", "en"))
    assert _detector.cache_info().misses == 1  # the first post found it built
