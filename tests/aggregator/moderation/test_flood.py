from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.moderation.flood import flood_text, similar
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
