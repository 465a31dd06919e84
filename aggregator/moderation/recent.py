"""The recent posts the flood rule compares an arrival with, kept in memory by the pipeline.

Loaded from the store once, then updated as the pipeline judges and stores posts, so a batch
is judged without one query per post. Another writer (a webhook in `serve`, a second worker,
a moderator) moves the store's stamp — its highest post id and change number — and the next
batch that needs the window reloads it; a batch that fails drops it.
"""

from __future__ import annotations

import secrets
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.models import Change, Post
from aggregator.moderation.flood import LOOKBACK, SHARED, flood_text, sketch
from aggregator.moderation.rules import normalize_handle

Stamp = tuple[int, int]


@dataclass(frozen=True)
class Recent:
    """One post as the flood rule compares it."""

    author: str  # normalised handle
    text: str  # as stored: a reload reuses `words` when it did not change
    words: str  # flood_text of the text
    collected_at: datetime
    sketch: frozenset[int]  # what its near copies are found by (flood.sketch)


# What moves whenever anyone stores a post or a change: two index lookups, one query (built
# once: it runs twice a batch).
_STAMP = sa.select(
    sa.func.max(col(Post.id)), sa.select(sa.func.max(col(Change.seq))).scalar_subquery()
)


def stamp(session: Session) -> Stamp:
    row = session.connection().execute(_STAMP).one()
    return int(row[0] or 0), int(row[1] or 0)


class RecentPosts:
    """The newest `size` posts by id, and those judged in the current transaction (the flood
    rule keeps those of its last minutes), indexed by their sketches: a new post is compared
    only with those sharing sketched pairs of words with it, not with all of them.

    `seed` keys the sketches' hash: drawn at random unless a test fixes it.
    """

    def __init__(self, size: int = LOOKBACK, seed: int | None = None) -> None:
        self.size = size
        self.seed = secrets.randbits(32) if seed is None else seed
        self._stored: OrderedDict[int, Recent] = OrderedDict()
        self._judged: list[Recent] = []  # judged in this transaction, not inserted yet
        # The window's entries by id(), and the ids of those holding each sketched pair.
        self._entries: dict[int, Recent] = {}
        self._by_pair: dict[int, set[int]] = {}
        self._stamp: Stamp | None = None
        self._session: Session | None = None
        self._synced = False

    def recent(self, author_handle: str, text: str, collected_at: datetime) -> Recent:
        words = flood_text(text)
        author = normalize_handle(author_handle)
        return Recent(author, text, words, collected_at, sketch(words, self.seed))

    def begin(self, session: Session) -> None:
        """A writing transaction starts: the window is checked against it when first needed."""
        self._forget_judged()
        self._session, self._synced = session, False

    def end(self) -> None:
        """The transaction is about to commit with everything it stored in the window, so the
        stamp read now is the one the store will show (writers are serialized)."""
        if self._synced and self._session is not None:
            self._stamp = stamp(self._session)
        self._forget_judged()
        self._session = None

    def drop(self) -> None:
        """The transaction failed: what was added may not be in the store."""
        self._stored.clear()
        self._entries.clear()
        self._by_pair.clear()
        self._judged, self._stamp, self._session = [], None, None

    def near(self, words: str) -> list[Recent]:
        """The posts of the window sharing two sketched pairs of words with `words` (one, when
        it has only one): every near copy (flood.sketch), and few others."""
        self._ensure_synced()
        mine = sketch(words, self.seed)
        holders = [self._by_pair[pair] for pair in mine if pair in self._by_pair]
        counted = Counter(chain.from_iterable(holders))  # counted in C
        needed = min(SHARED, len(mine))
        return [self._entries[key] for key, count in counted.items() if count >= needed]

    def judged(self, author_handle: str, text: str, collected_at: datetime) -> None:
        """A new post judged, to be inserted with the batch: the next one is compared with it."""
        entry = self.recent(author_handle, text, collected_at)
        self._judged.append(entry)
        self._index(entry)

    def inserted(self, post_ids: list[int]) -> None:
        """The judged posts were inserted, in order, with these ids."""
        for post_id, seen in zip(post_ids, self._judged, strict=True):
            self._stored[post_id] = seen
        self._judged = []
        while len(self._stored) > self.size:
            self._unindex(self._stored.popitem(last=False)[1])

    def edited(self, post_id: int, text: str) -> None:
        known = self._stored.get(post_id)
        if known is not None and known.text != text:
            self._unindex(known)
            self._stored[post_id] = self.recent(known.author, text, known.collected_at)
            self._index(self._stored[post_id])

    def _index(self, entry: Recent) -> None:
        key = id(entry)
        self._entries[key] = entry
        for pair in entry.sketch:
            self._by_pair.setdefault(pair, set()).add(key)

    def _unindex(self, entry: Recent) -> None:
        key = id(entry)
        if self._entries.pop(key, None) is None:
            return
        for pair in entry.sketch:
            holders = self._by_pair[pair]
            holders.discard(key)
            if not holders:
                del self._by_pair[pair]

    def _forget_judged(self) -> None:
        for entry in self._judged:  # judged and never inserted: not in the store
            self._unindex(entry)
        self._judged = []

    def _ensure_synced(self) -> None:
        if not self._synced and self._session is not None:
            self._sync(self._session)

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
            loaded[post_id] = known if same and known else self.recent(handle, text, collected_at)
        self._stored, self._stamp = loaded, now
        self._entries, self._by_pair = {}, {}
        for entry in (*loaded.values(), *self._judged):
            self._index(entry)
