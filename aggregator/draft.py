"""A post prepared for the store and not in it yet: `Post`'s columns in a plain object.

The pipeline builds one per candidate; an ORM instance costs about twenty times as much to
build (its attributes are instrumented), and a new post of a batch is inserted as a row with
`executemany`, never through the ORM. tests/aggregator/test_draft.py keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any


@dataclass(slots=True)
class Draft:
    source: str
    external_id: str
    network: str
    author_handle: str
    created_at: datetime
    collected_at: datetime
    kind: str = "post"
    url: str | None = None
    author_name: str = ""
    author_avatar: str | None = None
    author_url: str | None = None
    title: str | None = None
    text: str = ""
    html: str = ""
    language: str | None = None
    edited_at: datetime | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    likes: int = 0
    shares: int = 0
    replies: int = 0
    content_warning: str | None = None
    sensitive: bool = False
    reveal: bool = False
    status: str = "pending"
    status_reason: str | None = None
    pinned: bool = False
    featured: bool = False
    official: bool = False
    live_state: str | None = None
    deleted: bool = False
    deleted_at: datetime | None = None
    dedupe_key: str | None = None
    fingerprint: str | None = None
    duplicate_of: int | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    seq: int = 0
    pending_edit: dict[str, Any] | None = None
    id: int | None = None  # known once inserted

    @property
    def visible(self) -> bool:
        """Whether a screen may show it: approved and not deleted (as `Post.visible`)."""
        return self.status == "approved" and not self.deleted

    def values(self) -> tuple[Any, ...]:
        """The values of its row in `ROW`'s order, id aside (the store gives it)."""
        return _values(self)

    def row(self) -> dict[str, Any]:
        """The values of its row, id aside (the store gives it)."""
        return dict(zip(ROW, _values(self), strict=True))


ROW = tuple(f.name for f in fields(Draft) if f.name != "id")
_values = attrgetter(*ROW)
