"""The flood rule: the same or nearly the same text from many accounts within minutes is held.

This is what hashtag hijacking looks like: a burst of copies of one message, from fresh
accounts, riding the event's hashtag. Hashtags, mentions, links and digits are ignored
when comparing, since spammers vary exactly those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from difflib import SequenceMatcher
from functools import cache, lru_cache
from itertools import pairwise
from zlib import crc32

from rapidfuzz.distance import Indel

from aggregator.draft import Draft
from aggregator.language import COMMON_WORDS
from aggregator.models import Post, utcnow
from aggregator.moderation.folding import fold
from aggregator.moderation.rules import RecentWindow, normalize_handle

# Short cheers ("Bravo à tous !") from many real people are not a flood.
MIN_LENGTH = 25
# How many recent posts one arrival is compared with: bounds the cost at peak times.
LOOKBACK = 400
_NOISE = re.compile(r"https?://\S+|[#@][\w.@-]+|\d+|[^\w\s]")
# Pairs of words sketched per text, and how many of those two texts must share to be compared
# (flood.sketch); a pair of two common words (« de la », "of the") is never sketched.
SKETCH, SHARED = 8, 2


@cache  # folding builds its table (a few tenths of a second): at the first post, not at import
def _common() -> frozenset[str]:
    return frozenset(fold(word) for words in COMMON_WORDS.values() for word in words)


@lru_cache(maxsize=1024)  # a new post's: for the rule, then for the window
def flood_text(text: str) -> str:
    """What is compared: the words, folded, without tags, mentions, links, digits or punctuation."""
    return " ".join(_NOISE.sub(" ", fold(text)).split())


@lru_cache(maxsize=1024)
def sketch(words: str, seed: int) -> frozenset[int]:
    """What a text's near copies are found by: of its pairs of neighbouring words (as
    `flood_text` gives them; pairs of two common words left out), the `SKETCH` smallest under
    a hash keyed by `seed`.

    Two texts share one of these whenever the smallest pair of all their pairs together is in
    both, which happens about as often as they share pairs, and share `SHARED` of them nearly
    as often when they are copies: a word changed, added or dropped changes two pairs, so a
    copy shares most of the eight; two posts on the same subject, with the same words in other
    sentences, share almost none. With a seed drawn when a process starts, nobody writing
    copies can know which words to change.
    """
    every, common = words.split(), _common()
    pairs = {f"{a} {b}" for a, b in pairwise(every) if a not in common or b not in common}
    hashes = [crc32(pair.encode(), seed) for pair in pairs or every]
    hashes.sort()
    return frozenset(hashes[:SKETCH])


def similar(a: str, b: str, threshold: float) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < threshold * max(len(a), len(b)):
        return False
    # difflib's ratio counts matching blocks, a common subsequence: never more than the
    # longest one, whose ratio rapidfuzz computes in C. Below the threshold there, below here
    # too; most pairs stop at this line, where difflib would take a millisecond.
    if Indel.normalized_similarity(a, b, score_cutoff=threshold) < threshold:
        return False
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold


@dataclass(frozen=True)
class FloodRule:
    accounts: int = 3
    minutes: int = 10
    similarity: float = 0.85

    def check(self, post: Post | Draft, recent: RecentWindow) -> str | None:
        """Why this post is part of a flood, or None; `recent` holds the newest posts stored
        and finds among them those sharing words with this one, the only ones compared."""
        if self.accounts < 2:
            return None
        mine = flood_text(post.text)
        if len(mine) < MIN_LENGTH:
            return None
        since = utcnow() - timedelta(minutes=self.minutes)
        authors = {normalize_handle(post.author_handle)}
        for other in recent.near(mine):
            # An author already counted counts once, however many copies: no need to compare.
            if other.author in authors or other.collected_at < since:
                continue
            if similar(mine, other.words, self.similarity):
                authors.add(other.author)
        if len(authors) < self.accounts:
            return None
        return f"flood: the same text from {len(authors)} accounts within {self.minutes} min"
