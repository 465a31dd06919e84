"""Staff decisions on posts: approve, reject, retract, pin, feature, reveal — logged, never deleting.

A decision, or a moderator's whole selection, runs in one writing transaction, and writing
transactions are serialized (store.py), so two moderators acting on the same post are decided
one after the other: the second sees the first's result and gets a Conflict when it no longer
applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from aggregator.models import ModerationEntry, Post, utcnow
from aggregator.moderation import edits
from aggregator.store import Store

ACTIONS = (
    "approve",
    "reject",
    "retract",
    "pin",
    "unpin",
    "feature",
    "unfeature",
    "reveal",
    "cover",
)
# Which statuses each status-changing action may start from (approving an approved post
# approves the edit it holds, if any).
ALLOWED_FROM = {
    "approve": ("pending", "rejected", "retracted", "approved"),
    "reject": ("pending", "approved"),
    "retract": ("approved",),
}
NEW_STATUS = {"approve": "approved", "reject": "rejected", "retract": "retracted"}
FLAGS = {
    "pin": ("pinned", True),
    "unpin": ("pinned", False),
    "feature": ("featured", True),
    "unfeature": ("featured", False),
    "reveal": ("reveal", True),
    "cover": ("reveal", False),
}


class ModerationError(Exception):
    """A decision that cannot be taken; `status` is the HTTP status a route should answer."""

    def __init__(self, message: str, status: int = 409, kind: str = "decided") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind  # decided (by someone else), edited (at the source since shown)…


@dataclass(frozen=True)
class Outcome:
    post_id: int
    action: str
    status: str
    seq: int | None  # the change screens receive, if any
    previous: dict[str, object]  # what undo restores


# One post of a selection: its id, and the status and version the moderator saw (None: any).
Wanted = tuple[int, str | None, str | None]


def decide(
    store: Store,
    post_id: int,
    action: str,
    actor: str,
    expected_status: str | None = None,
    expected_version: str | None = None,
) -> Outcome:
    """Apply one staff action to one post; raise ModerationError when it no longer applies.

    `expected_version` is the version the moderator saw (`edits.version`): a post edited at
    its source since then is refused, so nobody approves words they have not read.
    """
    _check_action(action)
    with store.write() as session:
        return _decide_in(
            store, session, (post_id, expected_status, expected_version), action, actor
        )


def decide_all(
    store: Store, wanted: Sequence[Wanted], action: str, actor: str
) -> tuple[list[Outcome], dict[int, ModerationError]]:
    """A moderator's selection, decided in one transaction: each post as `decide` would, and
    one that no longer applies is refused alone (its error, by post id), the others decided.

    One transaction rather than one per post: a selection of twenty waited twenty times for
    the store's writer's turn while webhooks were arriving. A post no screen ever sees gets a
    change for the other moderators' queues, in the same transaction.
    """
    _check_action(action)
    outcomes: list[Outcome] = []
    refused: dict[int, ModerationError] = {}
    with store.write() as session:
        for one in wanted:
            try:  # every refusal is raised before the post is touched: nothing to undo
                outcomes.append(_decide_in(store, session, one, action, actor))
            except ModerationError as exc:
                refused[one[0]] = exc
        _tell_queues(store, session, outcomes)
    return outcomes, refused


def _tell_queues(store: Store, session: Session, outcomes: list[Outcome]) -> None:
    """The posts no screen saw change get a change all the same, for the moderators' queues."""
    quiet = dict.fromkeys(outcome.post_id for outcome in outcomes if outcome.seq is None)
    store.add_changes(session, [("queue", post_id) for post_id in quiet])


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ModerationError(f"unknown action {action!r}", status=400)


def _decide_in(store: Store, session: Session, wanted: Wanted, action: str, actor: str) -> Outcome:
    post_id, expected_status, expected_version = wanted
    post = session.get(Post, post_id)
    if post is None:
        raise ModerationError(f"post {post_id} does not exist", status=404)
    if expected_version is not None and edits.version(post) != expected_version:
        raise ModerationError(
            f"post {post_id} was edited at its source since it was shown", kind="edited"
        )
    return _apply(store, session, post, action, actor, expected_status)


def _apply(
    store: Store, session: Session, post: Post, action: str, actor: str, expected: str | None
) -> Outcome:
    if expected is not None and post.status != expected:
        raise ModerationError(
            f"post {post.id} is already {post.status} (by {post.decided_by or 'the rules'})"
        )
    previous = {
        "status": post.status,
        "pinned": post.pinned,
        "featured": post.featured,
        "reveal": post.reveal,
        **edits.snapshot(post),
    }
    was_visible = post.visible
    if action in NEW_STATUS:
        if post.status not in ALLOWED_FROM[action] or (
            action == "approve" and post.status == "approved" and not post.pending_edit
        ):
            raise ModerationError(f"cannot {action} post {post.id}: it is {post.status}")
        edits.settle(post)
        post.status = NEW_STATUS[action]
        post.decided_at, post.decided_by = utcnow(), actor
    else:
        name, value = FLAGS[action]
        setattr(post, name, value)
    session.add(post)
    session.add(ModerationEntry(at=utcnow(), actor=actor, action=action, post_id=post.id))
    seq = _screen_change(store, session, post, was_visible)
    assert post.id is not None
    return Outcome(post.id, action, post.status, seq, previous)


def _screen_change(store: Store, session: Session, post: Post, was_visible: bool) -> int | None:
    """The change screens get when a post appears, changes or leaves; None if they never saw it."""
    if not (was_visible or post.visible):
        return None
    session.flush()
    post.seq = store.add_change(session, "post" if post.visible else "remove", post_id=post.id)
    session.add(post)
    return post.seq


def restore(store: Store, outcome: Outcome, actor: str) -> Outcome:
    """Undo a decision: put back the post's status and flags as they were before it."""
    restored = restore_all(store, [outcome], actor)
    if not restored:
        raise ModerationError(f"post {outcome.post_id} does not exist", status=404)
    return restored[0]


def restore_all(store: Store, outcomes: list[Outcome], actor: str) -> list[Outcome]:
    """Undo decisions, the last first, in one transaction: what was restored (a post pruned
    since is skipped, the others restored). A post no screen sees gets a change for the other
    moderators' queues."""
    with store.write() as session:
        restored = [
            done
            for outcome in reversed(outcomes)
            if (done := _restore_in(store, session, outcome, actor)) is not None
        ]
        _tell_queues(store, session, restored)
    return restored


def _restore_in(store: Store, session: Session, outcome: Outcome, actor: str) -> Outcome | None:
    post = session.get(Post, outcome.post_id)
    if post is None:
        return None
    was_visible = post.visible
    for name, value in outcome.previous.items():
        setattr(post, name, value)
    session.add(post)
    session.add(
        ModerationEntry(
            at=utcnow(), actor=actor, action="undo", post_id=post.id, detail=outcome.action
        )
    )
    seq = _screen_change(store, session, post, was_visible)
    return Outcome(outcome.post_id, "undo", str(outcome.previous["status"]), seq, {})
