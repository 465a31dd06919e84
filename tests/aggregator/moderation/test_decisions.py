from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from aggregator.ingest import Pipeline
from aggregator.models import Change, ModerationEntry, Post
from aggregator.moderation.decisions import (
    ModerationError,
    decide,
    decide_all,
    restore,
    restore_all,
)
from aggregator.moderation.rules import Rules
from aggregator.store import Store
from tests.aggregator.test_ingest import statements
from tests.builders import candidate, result, source


def held_post(store: Store) -> int:
    Pipeline(store, Rules(mode="pre")).ingest(source(), result(candidate("1")))
    with store.read() as session:
        post = session.exec(select(Post)).one()
    assert post.id is not None and post.status == "pending"
    return post.id


def changes(store: Store) -> list[tuple[str, int | None]]:
    """The changes screens act on (the console's "queue" changes are not theirs)."""
    with store.read() as session:
        found = session.exec(select(Change).order_by(col(Change.seq)))
        return [(c.kind, c.post_id) for c in found if c.kind != "queue"]


def test_approve_then_retract_publishes_show_then_remove(store: Store) -> None:
    post_id = held_post(store)
    published: list[int] = []
    store.on_change(published.append)  # what the store publishes once each decision commits
    shown = decide(store, post_id, "approve", "marie")
    hidden = decide(store, post_id, "retract", "marie")
    assert (shown.status, hidden.status) == ("approved", "retracted")
    assert changes(store) == [("post", post_id), ("remove", post_id)]
    assert published == [shown.seq, hidden.seq]


def test_pin_on_a_pending_post_changes_no_screen(store: Store) -> None:
    post_id = held_post(store)
    assert decide(store, post_id, "pin", "marie").seq is None
    assert changes(store) == []


def test_decisions_are_logged_and_nothing_is_deleted(store: Store) -> None:
    post_id = held_post(store)
    decide(store, post_id, "reject", "marie")
    with store.read() as session:
        assert session.get(Post, post_id) is not None
        actions = [(e.actor, e.action) for e in session.exec(select(ModerationEntry))]
    assert ("marie", "reject") in actions


def test_second_moderator_gets_a_conflict(store: Store) -> None:
    post_id = held_post(store)
    outcomes: list[object] = []

    def act(name: str, action: str) -> None:
        try:
            outcomes.append(decide(store, post_id, action, name, expected_status="pending"))
        except ModerationError as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=act, args=a) for a in (("marie", "approve"), ("paul", "reject"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [o for o in outcomes if isinstance(o, ModerationError)]
    assert len(errors) == 1 and "already" in errors[0].message


def test_undo_restores_status_and_screens(store: Store) -> None:
    post_id = held_post(store)
    outcome = decide(store, post_id, "approve", "marie")
    restore(store, outcome, "marie")
    with store.read() as session:
        post = session.get(Post, post_id)
    assert post is not None and post.status == "pending"
    assert changes(store) == [("post", post_id), ("remove", post_id)]


def test_errors_have_http_statuses(store: Store) -> None:
    with pytest.raises(ModerationError) as missing:
        decide(store, 999, "approve", "marie")
    assert missing.value.status == 404
    with pytest.raises(ModerationError) as unknown:
        decide(store, 1, "explode", "marie")
    assert unknown.value.status == 400


def held_posts(store: Store, count: int) -> list[int]:
    Pipeline(store, Rules(mode="pre")).ingest(
        source(), result(*(candidate(str(n), f"Message {n} aux #AssisesUMQ") for n in range(count)))
    )
    with store.read() as session:
        return [p for p in session.exec(select(Post.id).order_by(col(Post.id))) if p is not None]


def test_a_selection_is_decided_in_one_transaction_and_a_conflict_is_refused_alone(
    store: Store,
) -> None:
    first, taken, third, quiet = held_posts(store, 4)
    decide(store, taken, "reject", "paul")  # decided by another moderator meanwhile
    published: list[int] = []
    store.on_change(published.append)
    wanted = [(first, "pending", None), (taken, "pending", None), (999, "pending", None),
              (third, "pending", None)]  # fmt: skip
    outcomes, refused = decide_all(store, wanted, "approve", "marie")
    pinned, _ = decide_all(store, [(quiet, None, None)], "pin", "marie")
    assert [o.post_id for o in outcomes] == [first, third]
    assert refused[taken].status == 409 and "already rejected (by paul)" in refused[taken].message
    assert refused[999].status == 404
    assert len(published) == 2  # one commit for the four approvals, one for the pin
    assert changes(store) == [("post", first), ("post", third)]
    with store.read() as session:
        queue = session.exec(select(Change.post_id).where(col(Change.kind) == "queue")).all()
    assert pinned[0].seq is None and quiet in queue  # no screen saw it; the queues do


def test_undo_of_a_selection_restores_every_post_in_one_transaction(store: Store) -> None:
    ids = held_posts(store, 3)
    outcomes, _ = decide_all(store, [(i, "pending", None) for i in ids], "approve", "marie")
    published: list[int] = []
    store.on_change(published.append)
    restored = restore_all(store, outcomes, "marie")
    assert [o.post_id for o in restored] == ids[::-1] and len(published) == 1
    with store.read() as session:
        assert {session.get(Post, i).status for i in ids} == {"pending"}  # type: ignore[union-attr]
    assert changes(store)[-3:] == [("remove", i) for i in ids[::-1]]


def test_undo_of_a_selection_skips_a_post_pruned_since(store: Store) -> None:
    kept, pruned = held_posts(store, 2)
    outcomes, _ = decide_all(
        store, [(i, "pending", None) for i in (kept, pruned)], "reject", "marie"
    )
    with store.write() as session:  # as retention prunes a post
        session.execute(sa.delete(ModerationEntry).where(col(ModerationEntry.post_id) == pruned))
        session.execute(sa.delete(Change).where(col(Change.post_id) == pruned))
        session.delete(session.get(Post, pruned))
    restored = restore_all(store, outcomes, "marie")
    assert [o.post_id for o in restored] == [kept]
    with store.read() as session:
        assert session.get(Post, kept).status == "pending"  # type: ignore[union-attr]
    with pytest.raises(ModerationError) as missing:
        restore(store, outcomes[1], "marie")
    assert missing.value.status == 404


def test_a_selection_takes_as_many_statements_whatever_its_size(store: Store) -> None:
    """One query reads the selection's posts and their changes go in together: twenty posts
    cost the store the statements two do (an executemany counts once)."""
    ids = held_posts(store, 22)
    sent = statements(store)
    decide_all(store, [(i, "pending", None) for i in ids[:2]], "approve", "marie")
    two = len(sent)
    outcomes, _ = decide_all(store, [(i, "pending", None) for i in ids[2:]], "approve", "marie")
    assert len(sent) - two == two
    assert [kind for kind, _ in changes(store)] == ["post"] * 22
    assert len({o.seq for o in outcomes}) == 20  # each post its own change
    with store.read() as session:
        stored = {p.id: p.seq for p in session.exec(select(Post))}
    assert all(stored[o.post_id] == o.seq for o in outcomes)  # each row carries its number
