"""Staff decisions on posts: approve, reject, retract, pin, feature, reveal — logged, never deleting.

A decision, or a moderator's whole selection, runs in one writing transaction, and writing
transactions are serialized (store.py), so two moderators acting on the same post are decided
one after the other: the second sees the first's result and gets a Conflict when it no longer
applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from aggregator.driver_rows import DriverRows
from aggregator.models import LOGGED, MODERATION_LOG, LogRow, Post, utcnow
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
    wanted = (post_id, expected_status, expected_version)
    outcomes, refused = decide_all(store, [wanted], action, actor)
    if refused:
        raise refused[post_id]
    return outcomes[0]


def decide_all(
    store: Store, wanted: Sequence[Wanted], action: str, actor: str
) -> tuple[list[Outcome], dict[int, ModerationError]]:
    """A moderator's selection, decided in one transaction: each post as `decide` would, and
    one that no longer applies is refused alone (its error, by post id), the others decided.

    One transaction rather than one per post: a selection of twenty waited twenty times for
    the store's writer's turn while webhooks were arriving. Its posts are read with one query
    and their changes recorded together (`_record`): a handful of statements whatever its size.
    """
    _check_action(action)
    decided: list[Decided] = []
    refused: dict[int, ModerationError] = {}
    with store.write() as session:
        posts = _load(session, [post_id for post_id, _, _ in wanted])
        for one in wanted:
            try:  # every refusal is raised before the post is touched: nothing to undo
                decided.append(_decide_in(session, posts.get(one[0]), one, action, actor))
            except ModerationError as exc:
                refused[one[0]] = exc
        outcomes = _record(store, session, decided)
    return outcomes, refused


@dataclass(frozen=True)
class Decided:
    """One decision taken in the transaction, its change not recorded yet."""

    post: Post
    action: str
    status: str  # the post's, right after this decision
    shown: bool  # whether screens showed the post before it, or show it after
    previous: dict[str, object]
    logged: LogRow


def _load(session: Session, ids: list[int]) -> dict[int, Post]:
    """The selection's posts, read with one query (and kept by the session for the rest)."""
    found = session.exec(select(Post).where(col(Post.id).in_(set(ids)))).all()
    return {post.id: post for post in found if post.id is not None}


def _record(store: Store, session: Session, decided: list[Decided]) -> list[Outcome]:
    """The changes of what was decided, one per post: screens get one for each post they
    showed or now show (`post` or `remove`, as it is now), the moderators' queues one for
    each other post. Each post's new change number goes in with its new state."""
    seen = {d.post.id: d.post for d in decided if d.shown and d.post.id is not None}
    quiet = dict.fromkeys(d.post.id for d in decided if d.post.id not in seen)
    changes = [("post" if post.visible else "remove", post_id) for post_id, post in seen.items()]
    for post, seq in zip(seen.values(), store.add_changes(session, changes), strict=True):
        post.seq = seq
        session.add(post)
    store.add_changes(session, [("queue", post_id) for post_id in quiet if post_id is not None])
    DriverRows(session).insert(MODERATION_LOG, LOGGED, [d.logged for d in decided])
    return [
        Outcome(d.post.id, d.action, d.status, d.post.seq if d.shown else None, d.previous)
        for d in decided
        if d.post.id is not None
    ]


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ModerationError(f"unknown action {action!r}", status=400)


def _decide_in(
    session: Session, post: Post | None, wanted: Wanted, action: str, actor: str
) -> Decided:
    post_id, expected_status, expected_version = wanted
    if post is None:
        raise ModerationError(f"post {post_id} does not exist", status=404)
    if expected_version is not None and edits.version(post) != expected_version:
        raise ModerationError(
            f"post {post_id} was edited at its source since it was shown", kind="edited"
        )
    return _apply(session, post, action, actor, expected_status)


def _apply(session: Session, post: Post, action: str, actor: str, expected: str | None) -> Decided:
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
    logged = (utcnow(), actor, action, post.id, None)
    return Decided(post, action, post.status, was_visible or post.visible, previous, logged)


def restore(store: Store, outcome: Outcome, actor: str) -> Outcome:
    """Undo a decision: put back the post's status and flags as they were before it."""
    restored = restore_all(store, [outcome], actor)
    if not restored:
        raise ModerationError(f"post {outcome.post_id} does not exist", status=404)
    return restored[0]


def restore_all(store: Store, outcomes: list[Outcome], actor: str) -> list[Outcome]:
    """Undo decisions, the last first, in one transaction: what was restored (a post pruned
    since is skipped, the others restored), with its changes recorded as a decision's are."""
    with store.write() as session:
        posts = _load(session, [outcome.post_id for outcome in outcomes])
        restored = [
            _restore_in(session, post, outcome, actor)
            for outcome in reversed(outcomes)
            if (post := posts.get(outcome.post_id)) is not None
        ]
        return _record(store, session, restored)


def _restore_in(session: Session, post: Post, outcome: Outcome, actor: str) -> Decided:
    was_visible = post.visible
    for name, value in outcome.previous.items():
        setattr(post, name, value)
    session.add(post)
    logged = (utcnow(), actor, "undo", post.id, outcome.action)
    status = str(outcome.previous["status"])
    return Decided(post, "undo", status, was_visible or post.visible, {}, logged)
