"""The flood rule: the same or nearly the same text from many accounts within minutes is held.

This is what hashtag hijacking looks like: a burst of copies of one message, from fresh
accounts, riding the event's hashtag. Hashtags, mentions, links and digits are ignored
when comparing, since spammers vary exactly those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from difflib import SequenceMatcher

from rapidfuzz.distance import Indel

from aggregator.draft import Draft
from aggregator.models import Post, utcnow
from aggregator.moderation.folding import fold
from aggregator.moderation.rules import Compared, normalize_handle

# Short cheers ("Bravo à tous !") from many real people are not a flood.
MIN_LENGTH = 25
# How many recent posts one arrival is compared with: bounds the cost at peak times.
LOOKBACK = 400
_NOISE = re.compile(r"https?://\S+|[#@][\w.@-]+|\d+|[^\w\s]")


def flood_text(text: str) -> str:
    """What is compared: the words, folded, without tags, mentions, links, digits or punctuation."""
    return " ".join(_NOISE.sub(" ", fold(text)).split())


def similar(a: str, b: str, threshold: float) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < threshold * max(len(a), len(b)):
        return False
    # difflib's ratio counts matching blocks, a common subsequence: never more than the
    # longest one, whose ratio rapidfuzz computes in C. Below the threshold there, below here
    # too; most pairs stop at this line, where difflib would take a millisecond.
    if Indel.normalized_similarity(a, b) < threshold:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold


@dataclass(frozen=True)
class FloodRule:
    accounts: int = 3
    minutes: int = 10
    similarity: float = 0.85

    def check(self, post: Post | Draft, recent: Iterable[Compared]) -> str | None:
        """Why this post is part of a flood, or None; `recent` are the newest posts stored."""
        if self.accounts < 2:
            return None
        mine = flood_text(post.text)
        if len(mine) < MIN_LENGTH:
            return None
        since = utcnow() - timedelta(minutes=self.minutes)
        authors = {normalize_handle(post.author_handle)}
        for other in recent:
            # An author already counted counts once, however many copies: no need to compare.
            if other.author in authors or other.collected_at < since:
                continue
            if similar(mine, other.words, self.similarity):
                authors.add(other.author)
        if len(authors) < self.accounts:
            return None
        return f"flood: the same text from {len(authors)} accounts within {self.minutes} min"
