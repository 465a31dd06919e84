"""Blocked words cannot hide behind invisible or look-alike characters; what is displayed is
the text as written."""

from __future__ import annotations

import pytest
from sqlmodel import select

from aggregator.ingest import Pipeline
from aggregator.models import Post
from aggregator.moderation.folding import fold, looks_plain
from aggregator.moderation.rules import BlockedWords, Rules
from aggregator.store import Store
from collectors.base import Author
from tests.builders import candidate, result, source

RULES = Rules(
    mode="post",
    blocked=BlockedWords({"fr": ("niaiseux", "crétin", "connard"), "en": ("idiot", "loser")}),
    trusted=frozenset({"umq@mastodon.example"}),
    banned=frozenset({"troll@mastodon.example"}),
)

DISGUISES = [
    ("id\u200biot", "idiot"),  # zero-width space
    ("id\u00adiot", "idiot"),  # soft hyphen
    ("idi\u2060ot", "idiot"),  # word joiner
    ("\u0456diot", "idiot"),  # Cyrillic і
    ("id\u03b9ot", "idiot"),  # Greek iota
    ("ＩＤＩＯＴ", "idiot"),  # fullwidth
    ("𝐢𝐝𝐢𝐨𝐭", "idiot"),  # mathematical bold
    ("\u202eidiot\u202c", "idiot"),  # bidi override
    ("lo\ufe0fser", "loser"),  # variation selector
    ("LŌSÉR", "loser"),  # combining marks, capitals
    ("ΙDΙΟΤ", "idiot"),  # Greek capitals
    ("c\u043enn\u0430rd", "connard"),  # Cyrillic о and а
    ("con\u200dnard", "connard"),  # zero-width joiner
    ("cre\u0301tin", "crétin"),  # a decomposed accent
    ("CRETIN", "crétin"),  # no accent at all
    ("niai\u00adseux", "niaiseux"),  # soft hyphen, French
    ("ｎｉａｉｓｅｕｘ", "niaiseux"),  # fullwidth, French
    ("niaı̇seux", "niaiseux"),  # dotless i with a combining dot
]


@pytest.mark.parametrize(("disguised", "word"), DISGUISES)
def test_a_disguised_blocked_word_is_held(disguised: str, word: str) -> None:
    decision = RULES.decide("m", "@lucie@x.example", f"Quel {disguised} ce matin")
    assert decision.status == "pending"
    assert decision.reason is not None and f"« {word} »" in decision.reason


@pytest.mark.parametrize("innocent", ["Idiomatique!", "Élus réunis", "closer", "niaise"])
def test_words_that_only_contain_a_blocked_word_pass(innocent: str) -> None:
    assert RULES.decide("m", "@lucie@x.example", innocent).status == "approved"


def test_the_original_text_is_what_is_stored_and_displayed(store: Store) -> None:
    text = "Quel id\u200biot ce matin"
    Pipeline(store, RULES).ingest(source(), result(candidate("1", text)))
    with store.read() as session:
        post = session.exec(select(Post)).one()
    assert (post.status, post.text) == ("pending", text)


def test_fold_is_idempotent_and_keeps_plain_ascii() -> None:
    for disguised, _word in DISGUISES:
        assert fold(fold(disguised)) == fold(disguised)
    assert fold("Assises UMQ 2026 #AssisesUMQ") == "assises umq 2026 #assisesumq"


def test_a_banned_author_disguised_is_still_banned() -> None:
    decision = RULES.decide("m", "@tr\u043ell@mastodon.example", "bonjour")
    assert decision.status == "rejected"


def test_a_look_alike_of_a_trusted_author_is_held_not_trusted() -> None:
    assert RULES.decide("m", "@umq@mastodon.example", "bonjour").status == "approved"
    impostor = RULES.decide("m", "@um\u051b@mastodon.example", "bonjour")  # Cyrillic ԛ
    hidden = RULES.decide("m", "@u\u200bmq@mastodon.example", "bonjour")
    assert impostor.status == hidden.status == "pending"
    assert impostor.reason == "looks like a trusted author"


def test_looks_plain_accepts_accents_and_refuses_disguises() -> None:
    assert looks_plain("Élise Côté")
    assert not looks_plain("\u0415lise")  # Cyrillic Е
    assert not looks_plain("Eli\u200bse")


def test_author_name_alt_text_and_warning_are_matched_too(store: Store) -> None:
    disguised = "\u0456diot"
    posts = [
        candidate("1", author=Author(handle="@a@x.example", name=f"Le {disguised}")),
        candidate("2", content_warning=f"un {disguised}"),
        candidate("3", title=f"Titre {disguised}"),
        candidate("4", html=f'<p>Voir <a href="https://x.example/">ce {disguised}</a></p>'),
    ]
    Pipeline(store, RULES).ingest(source(), result(*posts))
    with store.read() as session:
        statuses = {p.external_id: p.status for p in session.exec(select(Post))}
    assert statuses == {"1": "pending", "2": "pending", "3": "pending", "4": "pending"}


def test_the_table_maps_no_ascii_character() -> None:
    """`fold` looks up only the runs of non-ASCII characters: the table must hold none."""
    from aggregator.moderation.folding import _table

    assert min(_table()) >= 128
