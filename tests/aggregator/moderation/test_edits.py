"""Edits at the source are judged again: screens keep the version staff approved until a
moderator approves the new one (pre mode), or until the rules do (post mode)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from aggregator.ingest import Pipeline
from aggregator.models import Change, ModerationEntry, Post
from aggregator.moderation import edits
from aggregator.moderation.decisions import ModerationError, decide, restore
from aggregator.moderation.rules import BlockedWords, Rules
from aggregator.store import Store
from collectors.base import Author, Media
from tests.builders import candidate, result, source

FIRST = "Belle journée aux #AssisesUMQ, bravo aux élus"
EDITED = "Belle journée aux #AssisesUMQ, quel niaiseux ce maire"
BLOCKED = BlockedWords({"fr": ("niaiseux",)})


def pipeline(store: Store, mode: str, **rules: Any) -> Pipeline:
    return Pipeline(store, Rules(mode=mode, blocked=BLOCKED, **rules), ("fr", "en"))


def the_post(store: Store) -> Post:
    with store.read() as session:
        return session.exec(select(Post)).one()


def screen_changes(store: Store) -> list[tuple[str, int | None]]:
    with store.read() as session:
        query = select(Change).where(col(Change.kind).in_(("post", "remove")))
        return [(c.kind, c.post_id) for c in session.exec(query.order_by(col(Change.seq)))]


def approved(store: Store, mode: str, text: str = FIRST) -> Post:
    """A post on the screens: approved by the rules (post mode) or by a moderator (pre)."""
    pipeline(store, mode).ingest(source(), result(candidate("1", text)))
    post = the_post(store)
    if post.status == "pending":
        assert post.id is not None
        decide(store, post.id, "approve", "marie")
    return the_post(store)


def edit(store: Store, mode: str, text: str, **fields: Any) -> Post:
    report = pipeline(store, mode).ingest(source(), result(candidate("1", text, **fields)))
    assert report.updated == 1
    return the_post(store)


def test_pre_mode_edit_waits_while_screens_keep_the_approved_words(store: Store) -> None:
    approved(store, "pre")
    before = screen_changes(store)
    post = edit(store, "pre", "Belle journée, texte corrigé par son auteur")
    # The row, which screens, the API and the digest read, is still what marie approved.
    assert (post.status, post.text, post.visible) == ("approved", FIRST, True)
    assert edits.pending(post)["text"] == "Belle journée, texte corrigé par son auteur"
    assert screen_changes(store) == before  # nothing sent to any screen
    assert post.id is not None
    decide(store, post.id, "approve", "marie")
    post = the_post(store)
    assert (post.text, post.pending_edit) == ("Belle journée, texte corrigé par son auteur", None)
    assert screen_changes(store)[-1] == ("post", post.id)


def test_pre_mode_insult_after_approval_never_reaches_a_screen(store: Store) -> None:
    approved(store, "pre")
    post = edit(store, "pre", EDITED)
    assert post.text == FIRST and post.visible
    assert post.pending_edit is not None
    assert post.pending_edit["reason"] == "blocked word « niaiseux » (fr)"
    assert post.id is not None
    decide(store, post.id, "reject", "marie", expected_status="approved")
    post = the_post(store)
    assert (post.status, post.text, post.visible) == ("rejected", EDITED, False)
    assert screen_changes(store)[-1] == ("remove", post.id)


def test_post_mode_edit_with_a_blocked_word_stays_off_the_screens(store: Store) -> None:
    approved(store, "post")
    post = edit(store, "post", EDITED)
    assert (post.status, post.text) == ("approved", FIRST)
    assert edits.pending(post)["text"] == EDITED
    with store.read() as session:
        logged = session.exec(select(ModerationEntry.action)).all()
    assert "rules:edit-held" in logged


def test_post_mode_clean_edit_goes_live_at_once(store: Store) -> None:
    post = approved(store, "post")
    seq = post.seq
    post = edit(store, "post", "Belle journée, corrigée")
    assert (post.text, post.pending_edit, post.visible) == ("Belle journée, corrigée", None, True)
    assert post.seq > seq


@pytest.mark.parametrize("mode", ["pre", "post"])
def test_an_edit_by_a_banned_author_takes_the_post_down(store: Store, mode: str) -> None:
    approved(store, mode)
    troll = Author(handle="@troll@x.example", name="Troll")
    Pipeline(store, Rules(mode=mode, banned=frozenset({"troll@x.example"}))).ingest(
        source(), result(candidate("1", "autre chose", author=troll))
    )
    post = the_post(store)
    assert (post.status, post.visible) == ("rejected", False)
    assert screen_changes(store)[-1] == ("remove", post.id)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("author", Author(handle="@lucie@mastodon.example", name="Lucie niaiseux")),
        ("content_warning", "attention niaiseux"),
        ("media", [Media(url="https://cdn.example/a.jpg", alt="un niaiseux")]),
    ],
)
def test_every_readable_part_of_an_edit_is_judged(store: Store, field: str, value: Any) -> None:
    approved(store, "post")
    post = edit(store, "post", FIRST, **{field: value})
    assert post.pending_edit is not None, "the edit should be held"
    assert post.pending_edit["reason"] == "blocked word « niaiseux » (fr)"
    assert post.author_name == "Lucie Tremblay" and post.content_warning is None
    assert post.media == []


def test_counts_change_on_screens_while_the_words_wait(store: Store) -> None:
    approved(store, "pre")
    post = edit(store, "pre", "Texte modifié", likes=12)
    assert (post.likes, post.text) == (12, FIRST)
    assert edits.pending(post)["text"] == "Texte modifié"
    assert screen_changes(store)[-1] == ("post", post.id)  # the new count, old words


def test_reverting_to_the_approved_words_clears_the_waiting_edit(store: Store) -> None:
    approved(store, "pre")
    edit(store, "pre", EDITED)
    post = edit(store, "pre", FIRST)
    assert post.pending_edit is None and post.text == FIRST


def test_a_newer_edit_replaces_the_waiting_one(store: Store) -> None:
    approved(store, "pre")
    edit(store, "pre", "Première correction")
    post = edit(store, "pre", "Deuxième correction")
    assert edits.pending(post)["text"] == "Deuxième correction" and post.text == FIRST


def test_a_pending_post_edited_is_judged_as_new(store: Store) -> None:
    pipeline(store, "post").ingest(source(), result(candidate("1", EDITED)))
    assert the_post(store).status == "pending"  # held for the blocked word
    post = edit(store, "post", FIRST)
    assert (post.status, post.text, post.status_reason) == ("approved", FIRST, None)
    assert screen_changes(store)[-1] == ("post", post.id)


def test_a_decision_on_an_older_version_is_refused(store: Store) -> None:
    approved(store, "pre")
    post = the_post(store)
    seen = edits.version(post)
    edit(store, "pre", EDITED)
    assert post.id is not None
    with pytest.raises(ModerationError) as refused:
        decide(store, post.id, "approve", "marie", "approved", expected_version=seen)
    assert refused.value.kind == "edited"
    current = edits.version(the_post(store))
    decide(store, post.id, "approve", "marie", "approved", expected_version=current)
    assert the_post(store).text == EDITED


def test_approving_an_approved_post_without_an_edit_is_a_conflict(store: Store) -> None:
    post = approved(store, "post")
    assert post.id is not None
    with pytest.raises(ModerationError):
        decide(store, post.id, "approve", "marie")


def test_undo_puts_the_waiting_edit_back(store: Store) -> None:
    approved(store, "pre")
    post = edit(store, "pre", "Texte corrigé")
    assert post.id is not None
    outcome = decide(store, post.id, "approve", "marie")
    restore(store, outcome, "marie")
    post = the_post(store)
    assert (post.text, edits.pending(post)["text"]) == (FIRST, "Texte corrigé")
