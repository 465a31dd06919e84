"""Edits at the source: a post's row is always the version screens may show.

An edit that changes what a person reads is judged by the rules like a new post. When they
do not approve it, the new version waits in `Post.pending_edit` for a moderator while the
row, the version staff approved, stays on the screens; approving the edit copies it onto
the row. Counts, the live state and the link change without anyone's approval.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import datetime
from typing import Any

from aggregator.draft import Draft
from aggregator.models import Post

# What a person reads: changing any of it needs the rules', or a moderator's, approval.
READABLE = (
    "title", "text", "html", "language", "media", "content_warning", "sensitive",
    "author_name", "author_avatar", "edited_at",
)  # fmt: skip
FREE = ("url", "likes", "shares", "replies", "live_state")
EDITABLE = READABLE + FREE
_DATES = ("edited_at",)


def encode(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe: dates as ISO strings."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else copy.deepcopy(value)
        for name, value in values.items()
    }


def decode(values: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(values)
    for name in _DATES:
        if isinstance(decoded.get(name), str):
            decoded[name] = datetime.fromisoformat(decoded[name])
    return decoded


def pending(post: Post) -> dict[str, Any]:
    """The held edit's values (empty when none waits)."""
    return decode(post.pending_edit["values"]) if post.pending_edit else {}


def latest(post: Post) -> dict[str, Any]:
    """The newest version the source sent: the row, with a held edit over it."""
    return {name: getattr(post, name) for name in EDITABLE} | pending(post)


def readable(post: Post | Draft) -> dict[str, Any]:
    return {name: copy.deepcopy(getattr(post, name)) for name in READABLE}


def hold(post: Post, values: dict[str, Any], reason: str | None) -> None:
    post.pending_edit = {"values": encode(values), "reason": reason}


def apply(post: Post, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(post, name, value)


def settle(post: Post) -> None:
    """The held edit becomes the row: approved by a moderator, or the post leaves the screens
    (then there is no approved version left to protect)."""
    apply(post, pending(post))
    post.pending_edit = None


def snapshot(post: Post) -> dict[str, Any]:
    """What undoing a decision on this post must put back besides its status and flags."""
    return readable(post) | {"pending_edit": copy.deepcopy(post.pending_edit)}


def version(post: Post) -> str:
    """A short tag of the newest version: a decision made on an older one is refused."""
    encoded = json.dumps(encode(latest(post)), sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:12]
