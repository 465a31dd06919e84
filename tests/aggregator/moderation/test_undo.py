"""Undo kept in the store: what one web process remembers, another can restore, once."""

from __future__ import annotations

from datetime import timedelta

from aggregator.moderation import edits, undo
from aggregator.moderation.decisions import decide, restore
from aggregator.store import Store
from tests.aggregator.moderation.test_edits import FIRST, approved, edit, the_post

LIFETIME = timedelta(seconds=12)


def test_decisions_remembered_by_one_store_are_restored_through_another(
    store: Store, database_url: str
) -> None:
    approved(store, "pre")
    post = edit(store, "pre", "Texte corrigé")  # a waiting edit: undo must put it back
    assert post.id is not None
    outcome = decide(store, post.id, "approve", "marie")
    undo.remember(store, "session-7", [outcome], LIFETIME)
    other = Store(database_url)  # another web process
    try:
        taken = undo.take(other, "session-7")
        assert undo.take(other, "session-7") == []  # once only, whichever process asks
        for found in taken:
            restore(other, found, "marie")
    finally:
        other.dispose()
    assert taken == [outcome]
    post = the_post(store)
    assert (post.text, edits.pending(post)["text"]) == (FIRST, "Texte corrigé")


def test_an_expired_undo_or_another_sessions_is_nothing(store: Store) -> None:
    post = approved(store, "post")
    assert post.id is not None
    outcome = decide(store, post.id, "retract", "marie")
    undo.remember(store, "session-7", [outcome], timedelta(seconds=-1))
    assert undo.take(store, "session-7") == []
    undo.remember(store, "session-7", [outcome], LIFETIME)
    assert undo.take(store, "session-8") == []
    undo.remember(store, "session-7", [], LIFETIME)  # a newer decision replaces the older
    assert undo.take(store, "session-7") == []
    assert the_post(store).status == "retracted"
