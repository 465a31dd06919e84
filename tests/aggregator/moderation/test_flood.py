from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.moderation.flood import MIN_LENGTH, flood_text, similar
from aggregator.moderation.recent import RecentPosts
from collectors.base import Author
from collectors.demo import bundled_posts
from tests.builders import candidate, result, source

SPAM = "Gagnez un iPhone gratuit, cliquez vite sur ce lien {}"


def test_tags_links_and_digits_do_not_hide_a_copy() -> None:
    a = flood_text("Gagnez un iPhone 15 gratuit! https://x.example/a #AssisesUMQ @umq")
    b = flood_text("gagnez un IPHONE 16 gratuit https://y.example/b #Assises")
    assert a == b
    assert similar(flood_text(SPAM.format("maintenant")), flood_text(SPAM.format("vite")), 0.85)
    assert not similar(
        "bravo pour la plénière de ce matin", "quel accueil chaleureux à québec", 0.85
    )


def test_the_third_account_posting_the_same_text_is_held(livewall: Livewall) -> None:
    from aggregator.moderation import live_rules

    live_rules.set_mode(livewall.store, "post", "ada")
    for index in range(4):
        author = Author(handle=f"@bot{index}@x.example", name=f"Bot {index}")
        text = SPAM.format(f"https://spam.example/{index} #AssisesUMQ")
        livewall.pipeline.ingest(source(), result(candidate(f"s{index}", text, author=author)))
    # Short, common cheers from many people are not a flood.
    for index in range(4):
        author = Author(handle=f"@fan{index}@x.example", name=f"Fan {index}")
        livewall.pipeline.ingest(source(), result(candidate(f"b{index}", "Bravo!", author=author)))
    with livewall.store.read() as session:
        rows = list(session.exec(select(Post).order_by(col(Post.id))))
    assert [p.status for p in rows[:4]] == ["approved", "approved", "pending", "pending"]
    assert rows[2].status_reason == "flood: the same text from 3 accounts within 10 min"
    assert all(p.status == "approved" for p in rows[4:])


def difflib_only(a: str, b: str, threshold: float) -> bool:
    """The rule as first written: difflib decides every pair of comparable lengths."""
    from difflib import SequenceMatcher

    if min(len(a), len(b)) < threshold * max(len(a), len(b)):
        return a == b
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


@given(st.text(alphabet="abcdeéà ", max_size=60), st.text(alphabet="abcdeéà ", max_size=60))
def test_the_quick_filter_never_changes_what_is_similar(a: str, b: str) -> None:
    for threshold in (0.5, 0.85):
        assert similar(a, b, threshold) == difflib_only(a, b, threshold)


def test_the_quick_filter_agrees_on_the_demo_posts() -> None:
    texts = [flood_text(p.get("text") or p.get("html") or "") for p in bundled_posts()[:60]]
    pairs = [(a, b) for a in texts for b in texts]
    assert [similar(a, b, 0.85) for a, b in pairs] == [difflib_only(a, b, 0.85) for a, b in pairs]


def variants(text: str, n: int) -> list[str]:
    """What a flood's copies look like: other tags, links and digits; a word changed, added
    or dropped; two typos."""
    words = text.split()
    middle = len(words) // 2
    typo = list(text)
    for at in (len(text) // 3, 2 * len(text) // 3):
        typo[at] = "x"
    return [
        f"{text} #Assises{n} https://spam.example/{n} 2026",
        " ".join([*words[:middle], "vraiment", *words[middle + 1 :]]),
        " ".join([*words[:middle], "absolument", *words[middle:]]),
        " ".join(words[:middle] + words[middle + 1 :]),
        "".join(typo),
    ]


def demo_window(seed: int) -> tuple[RecentPosts, list[str]]:
    """A window holding the demo posts' texts, each by an author of its own."""
    window = RecentPosts(seed=seed)
    texts = [str(p["text"]) for p in bundled_posts() if p.get("text")]
    now = datetime.now(UTC)
    for n, text in enumerate(texts):
        window.judged(f"@author{n}@x.example", text, now)
    return window, texts


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_near_copy_is_compared(seed: int) -> None:
    """The window compares a post only with those sharing sketched words: no copy the rule
    calls similar may be left out of those, whatever the seed."""
    window, texts = demo_window(seed)
    found = missed = 0
    for n, text in enumerate(texts):
        for copy in variants(text, n):
            words = flood_text(copy)
            if len(words) < MIN_LENGTH or not similar(words, flood_text(text), 0.85):
                continue
            near = {entry.text for entry in window.near(words)}
            found, missed = found + (text in near), missed + (text not in near)
    assert missed == 0 and found > 400


def test_few_others_are_compared() -> None:
    """Two posts on the same subject are rarely compared: about the event's posts, a new
    one is compared with a few of the window's, not with all of them."""
    window, texts = demo_window(seed=1)
    compared = [len(window.near(flood_text(text))) - 1 for text in texts]  # not itself
    assert sum(compared) / len(texts) < 0.05 * len(texts)
