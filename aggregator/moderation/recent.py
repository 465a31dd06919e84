"""The recent posts the flood rule compares an arrival with, kept in memory by the pipeline.

Loaded from the store once, then updated as the pipeline judges and stores posts, so a batch
is judged without one query per post. Another writer (a webhook in `serve`, a second worker,
a moderator) moves the store's stamp — its highest post id and change number — and the next
batch that needs the window reloads it; a batch that fails drops it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.models import Change, Post
from aggregator.moderation.flood import LOOKBACK, flood_text
from aggregator.moderation.rules import normalize_handle

Stamp = tuple[int, int]


@dataclass(frozen=True)
class Recent:
    """One post as the flood rule compares it."""

    author: str  # normalised handle
    text: str  # as stored: a reload reuses `words` when it did not change
    words: str  # flood_text of the text
    collected_at: datetime


def recent(author_handle: str, text: str, collected_at: datetime) -> Recent:
    return Recent(normalize_handle(author_handle), text, flood_text(text), collected_at)


def stamp(session: Session) -> Stamp:
    """What moves whenever anyone stores a post or a change: two index lookups, one query."""
    changes = sa.select(sa.func.max(col(Change.seq))).scalar_subquery()
    row = session.execute(sa.select(sa.func.max(col(Post.id)), changes)).one()
    return int(row[0] or 0), int(row[1] or 0)


class RecentPosts:
    """The newest `size` posts by id, stored or judged in the current transaction (the flood
    rule keeps those of its last minutes)."""

    def __init__(self, size: int = LOOKBACK) -> None:
        self.size = size
        self._stored: OrderedDict[int, Recent] = OrderedDict()
        self._judged: list[Recent] = []  # judged in this transaction, not inserted yet
        self._stamp: Stamp | None = None
        self._session: Session | None = None
        self._synced = False

    def begin(self, session: Session) -> None:
        """A writing transaction starts: the window is checked against it when first needed."""
        self._session, self._synced, self._judged = session, False, []

    def end(self) -> None:
        """The transaction is about to commit with everything it stored in the window, so the
        stamp read now is the one the store will show (writers are serialized)."""
        if self._synced and self._session is not None:
            self._stamp = stamp(self._session)
        self._session, self._judged = None, []

    def drop(self) -> None:
        """The transaction failed: what was added may not be in the store."""
        self._stored.clear()
        self._judged, self._stamp, self._session = [], None, None

    def posts(self) -> list[Recent]:
        if not self._synced and self._session is not None:
            self._sync(self._session)
        newest = [*self._stored.values(), *self._judged]
        return newest[-self.size :]

    def judged(self, author_handle: str, text: str, collected_at: datetime) -> None:
        """A new post judged, to be inserted with the batch: the next one is compared with it."""
        self._judged.append(recent(author_handle, text, collected_at))

    def inserted(self, post_ids: list[int]) -> None:
        """The judged posts were inserted, in order, with these ids."""
        for post_id, seen in zip(post_ids, self._judged, strict=True):
            self._stored[post_id] = seen
        self._judged = []
        while len(self._stored) > self.size:
            self._stored.popitem(last=False)

    def edited(self, post_id: int, text: str) -> None:
        known = self._stored.get(post_id)
        if known is not None and known.text != text:
            self._stored[post_id] = Recent(known.author, text, flood_text(text), known.collected_at)

    def _sync(self, session: Session) -> None:
        self._synced = True
        now = stamp(session)
        if now == self._stamp:
            return
        query = (
            select(Post.id, Post.author_handle, Post.text, Post.collected_at)
            .order_by(col(Post.id).desc())
            .limit(self.size)
        )
        loaded: OrderedDict[int, Recent] = OrderedDict()
        for post_id, handle, text, collected_at in reversed(list(session.exec(query))):
            assert post_id is not None
            known = self._stored.get(post_id)
            same = known is not None and known.text == text
            loaded[post_id] = known if same and known else recent(handle, text, collected_at)
        self._stored, self._stamp = loaded, now
