"""Moderation rules: what the pipeline decides before any person looks at a post."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlmodel import Session

from aggregator.draft import Draft
from aggregator.i18n import N_
from aggregator.models import Post
from aggregator.moderation.folding import fold, looks_plain
from aggregator.settings import Settings

Status = str  # "pending" | "approved" | "rejected"


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: str | None = None  # shown to moderators: why a rule held or rejected it


def normalize_handle(handle: str) -> str:
    return fold(handle.strip().lstrip("@"))


def read_word_list(path: Path) -> tuple[str, ...]:
    """One word or phrase a line; blank lines and lines starting with # are ignored."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(
        line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
    )


@dataclass(frozen=True)
class BlockedWords:
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = field(init=False, default=None, repr=False, compare=False)
    _origin: dict[str, tuple[str, str]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        pairs = [(lang, w) for lang, words in self.words.items() for w in words]
        by_folded = {fold(w): (lang, w) for lang, w in pairs}
        pattern = "|".join(re.escape(w) for w in sorted(by_folded, key=len, reverse=True))
        compiled = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)") if pattern else None
        object.__setattr__(self, "_pattern", compiled)
        object.__setattr__(self, "_origin", by_folded)

    def find(self, text: str) -> tuple[str, str] | None:
        """The (language, word) of the first blocked word in the text, if any."""
        pattern: re.Pattern[str] | None = self._pattern
        if pattern is None:
            return None
        match = pattern.search(fold(text))
        return None if match is None else self._origin[match.group(0)]


class Compared(Protocol):
    """A recent post as the flood rule compares it (flood.py)."""

    @property
    def author(self) -> str: ...  # normalised handle
    @property
    def words(self) -> str: ...  # flood_text
    @property
    def collected_at(self) -> datetime: ...


class RecentWindow(Protocol):
    """The newest posts the pipeline keeps for the flood rule (recent.py's `RecentPosts`)."""

    def near(self, words: str) -> Iterable[Compared]:
        """Those that may be copies of a text (as `flood_text` gives it): every one that is,
        and few others."""
        ...


class PostRules(Protocol):
    """What the pipeline asks: fixed `Rules`, or the console's live rules (live_rules.py)."""

    def judge(self, session: Session, post: Post | Draft, recent: RecentWindow) -> Decision: ...


@dataclass(frozen=True)
class Rules:
    mode: str = "pre"
    trusted: frozenset[str] = frozenset()
    banned: frozenset[str] = frozenset()
    blocked: BlockedWords = field(default_factory=BlockedWords)
    official_sources: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        moderation = settings.moderation
        lists = {
            lang: read_word_list(settings.config_dir / name)
            for lang, name in moderation.blocked_words.items()
        }
        return cls(
            mode=moderation.mode,
            trusted=_handles(moderation.trusted_authors),
            banned=_handles(moderation.banned_authors),
            blocked=BlockedWords(lists),
            official_sources=frozenset(s.name for s in settings.sources if s.official),
        )

    def decide(self, source: str, author_handle: str, text: str) -> Decision:
        """The decision on a post by `author_handle` whose readable parts are `text`."""
        handle = normalize_handle(author_handle)
        if handle in self.banned:
            return Decision("rejected", "banned author")
        hit = self.blocked.find(text)
        if hit is not None:
            return Decision("pending", f"blocked word « {hit[1]} » ({hit[0]})")
        if source in self.official_sources:
            return Decision("approved", None)
        if handle in self.trusted:
            if not looks_plain(author_handle):
                # A disguised copy of a trusted account is what an impersonator would post from.
                return Decision("pending", N_("looks like a trusted author"))
            return Decision("approved", None)
        if self.mode == "post":
            return Decision("approved", None)
        return Decision("pending", None)

    def judge(self, session: Session, post: Post | Draft, recent: RecentWindow) -> Decision:
        return self.decide(post.source, post.author_handle, readable_text(post))


def readable_text(post: Post | Draft) -> str:
    """Every part of a post a person reads on a screen or in the console, one per line:
    a blocked word in the author's name, an image's description or a content warning
    counts as much as one in the text (link texts are part of the text)."""
    alts = (str(item.get("alt") or "") for item in post.media)
    parts = (post.author_name, post.author_handle, post.title, post.content_warning, post.text)
    return "\n".join(part for part in (*parts, *alts) if part)


def _handles(handles: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize_handle(h) for h in handles)
