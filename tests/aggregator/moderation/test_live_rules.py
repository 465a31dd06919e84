from __future__ import annotations

from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.models import Change, ModerationEntry, Post
from aggregator.moderation import live_rules
from aggregator.moderation.decisions import decide
from collectors.base import Author
from tests.builders import candidate, result, source


def ingest(
    livewall: Livewall, external_id: str, text: str, handle: str = "@lucie@mastodon.example"
) -> Post:
    author = Author(handle=handle, name="Quelqu'un")
    livewall.pipeline.ingest(source(), result(candidate(external_id, text, author=author)))
    with livewall.store.read() as session:
        return session.exec(select(Post).where(Post.external_id == external_id)).one()


def test_the_pipeline_follows_rules_edited_live(livewall: Livewall) -> None:
    store = livewall.store
    assert ingest(livewall, "1", "Bonjour").status == "pending"
    live_rules.add_entry(store, "trusted", "lucie@mastodon.example", "ada")
    assert ingest(livewall, "2", "Bonjour encore").status == "approved"
    live_rules.add_entry(store, "blocked_word", "Élu", "ada", "fr")
    held = ingest(livewall, "3", "Un ELU a parlé", "@paul@x.example")
    assert (held.status, held.status_reason) == ("pending", "blocked word « Élu » (fr)")
    live_rules.set_mode(store, "post", "ada")
    assert ingest(livewall, "4", "Belle plénière", "@paul@x.example").status == "approved"
    with store.read() as session:
        logged = [
            e.action for e in session.exec(select(ModerationEntry)) if e.action.startswith("rule:")
        ]
    assert logged[:3] == ["rule:add-trusted", "rule:add-blocked_word", "rule:set-mode"]


def test_banning_rejects_new_posts_and_retracts_shown_ones_at_once(livewall: Livewall) -> None:
    store = livewall.store
    shown = ingest(livewall, "1", "Premier message", "@troll@x.example")
    waiting = ingest(livewall, "2", "Deuxième message", "@troll@x.example")
    decide(store, shown.id or 0, "approve", "ada")
    taken = live_rules.ban(store, "troll@x.example", "ada")
    assert sorted(taken) == sorted([shown.id, waiting.id])
    with store.read() as session:
        assert session.get(Post, shown.id).status == "retracted"  # type: ignore[union-attr]
        assert session.get(Post, waiting.id).status == "rejected"  # type: ignore[union-attr]
        changes = [
            (c.kind, c.post_id) for c in session.exec(select(Change).order_by(col(Change.seq)))
        ]
    # The screens take the shown one down; the moderators' queues drop the waiting one.
    assert set(changes[-2:]) == {("remove", shown.id), ("queue", waiting.id)}
    assert ingest(livewall, "3", "Encore moi", "@Troll@x.example").status == "rejected"


def test_queue_changes_announce_held_posts_but_not_to_screens(livewall: Livewall) -> None:
    post = ingest(livewall, "1", "En attente")
    with livewall.store.read() as session:
        change = session.exec(select(Change)).one()
    assert (change.kind, change.post_id) == ("queue", post.id)


def test_bad_rule_values_are_refused_clearly(livewall: Livewall) -> None:
    import pytest

    with pytest.raises(live_rules.RuleError, match="language code"):
        live_rules.add_entry(livewall.store, "blocked_word", "mot", "ada", "")
    with pytest.raises(live_rules.RuleError, match="pre or post"):
        live_rules.set_mode(livewall.store, "maybe", "ada")
    live_rules.add_entry(livewall.store, "banned", "@a@b.example", "ada")
    with pytest.raises(live_rules.RuleError, match="already"):
        live_rules.add_entry(livewall.store, "banned", "a@b.example", "ada")
