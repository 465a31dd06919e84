"""Rules staff edit during the event, merged with the configuration's, read live by the pipeline.

The configuration file gives the base (mode, trusted and banned authors, word lists,
official sources); the console adds entries and overrides the mode and the flood rule.
Every change bumps a version number in the store, and `LiveRules` rebuilds its `Rules`
when it sees a new version, so collectors in another process follow within one ingest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from aggregator.draft import Draft
from aggregator.models import ModerationEntry, Post, utc_column, utcnow
from aggregator.moderation.decisions import ModerationError, decide
from aggregator.moderation.flood import FloodRule
from aggregator.moderation.rules import (
    BlockedWords,
    Decision,
    RecentWindow,
    Rules,
    normalize_handle,
)
from aggregator.settings import Settings
from aggregator.store import Store

KINDS = ("trusted", "banned", "blocked_word", "official_source")
MODES = ("pre", "post")
FLOOD_DEFAULT = FloodRule()
# Where a session keeps the rules' version it read.
_SEEN_VERSION = "livewall_rules_version"


class RuleError(Exception):
    """A rule change that cannot be made; the message says why."""


class RuleEntry(SQLModel, table=True):
    __tablename__ = "rule_entries"
    __table_args__ = (
        sa.UniqueConstraint("kind", "value", "language", name="uq_rule_entries_kind_value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    value: str = Field(max_length=300)
    language: str = Field(default="", max_length=10)  # blocked words only
    created_at: datetime = utc_column(nullable=False)
    created_by: str = Field(max_length=100)


class RuleSetting(SQLModel, table=True):
    """One named value: the rules' version, the mode, the flood rule's numbers."""

    __tablename__ = "rule_settings"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=100)


# Read once a batch: built once.
_VERSION = sa.select(col(RuleSetting.value)).where(col(RuleSetting.name) == "version")


@dataclass(frozen=True)
class RuleSet:
    """What the console shows: each list split by where it comes from."""

    mode: str
    configured_mode: str
    flood: FloodRule
    configured: dict[str, tuple[str, ...]]
    entries: dict[str, list[RuleEntry]] = field(default_factory=dict)
    blocked_files: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _version(session: Session) -> int:
    value = session.connection().execute(_VERSION).scalar()
    return int(value) if value is not None else 0


def _settings(session: Session) -> dict[str, str]:
    return {row.name: row.value for row in session.exec(select(RuleSetting))}


def _entries(session: Session) -> list[RuleEntry]:
    return list(session.exec(select(RuleEntry).order_by(col(RuleEntry.id))))


def _flood(values: dict[str, str]) -> FloodRule:
    return FloodRule(
        accounts=int(values.get("flood_accounts", FLOOD_DEFAULT.accounts)),
        minutes=int(values.get("flood_minutes", FLOOD_DEFAULT.minutes)),
    )


class LiveRules:
    """The rules the pipeline applies now; reloaded whenever the stored version moves."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.base = Rules.from_settings(settings)
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded: tuple[int, Rules, FloodRule] | None = None

    def current(self, session: Session) -> tuple[Rules, FloodRule]:
        # Read once per transaction: a batch of posts is judged by one version of the rules.
        version = session.info.get(_SEEN_VERSION)
        if version is None:
            version = session.info[_SEEN_VERSION] = _version(session)
        with self._lock:
            if self._loaded is None or self._loaded[0] != version:
                self._loaded = (version, *self._build(session))
            return self._loaded[1], self._loaded[2]

    def _build(self, session: Session) -> tuple[Rules, FloodRule]:
        values = _settings(session)
        added: dict[str, set[str]] = {kind: set() for kind in KINDS}
        words: dict[str, list[str]] = {k: list(v) for k, v in self.base.blocked.words.items()}
        for entry in _entries(session):
            if entry.kind == "blocked_word":
                words.setdefault(entry.language, []).append(entry.value)
            else:
                added[entry.kind].add(entry.value)
        rules = replace(
            self.base,
            mode=values.get("mode", self.base.mode),
            trusted=self.base.trusted | {normalize_handle(h) for h in added["trusted"]},
            banned=self.base.banned | {normalize_handle(h) for h in added["banned"]},
            blocked=BlockedWords({lang: tuple(w) for lang, w in words.items()}),
            official_sources=self.base.official_sources | added["official_source"],
        )
        return rules, _flood(values)

    def judge(self, session: Session, post: Post | Draft, recent: RecentWindow) -> Decision:
        rules, flood = self.current(session)
        decision = rules.judge(session, post, recent)
        if post.source in rules.official_sources:
            post.official = True  # a source made official in the console, like one in the file
        exempt = post.official or normalize_handle(post.author_handle) in rules.trusted
        if decision.status == "rejected" or exempt:
            return decision
        reason = flood.check(post, recent)
        if reason is None:
            return decision
        return Decision("pending", decision.reason or reason)

    def rule_set(self) -> RuleSet:
        with self.store.read() as session:
            values, entries = _settings(session), _entries(session)
        moderation = self.settings.moderation
        grouped: dict[str, list[RuleEntry]] = {kind: [] for kind in KINDS}
        for entry in entries:
            grouped[entry.kind].append(entry)
        return RuleSet(
            mode=values.get("mode", moderation.mode),
            configured_mode=moderation.mode,
            flood=_flood(values),
            configured={
                "trusted": moderation.trusted_authors,
                "banned": moderation.banned_authors,
                "official_source": tuple(sorted(self.base.official_sources)),
            },
            entries=grouped,
            blocked_files={lang: words for lang, words in self.base.blocked.words.items()},
        )


def _changed(session: Session, actor: str, action: str, detail: str) -> None:
    """Log a rule change and bump the version the pipelines watch."""
    row = session.get(RuleSetting, "version") or RuleSetting(name="version", value="0")
    row.value = str(int(row.value) + 1)
    session.add(row)
    session.add(ModerationEntry(at=utcnow(), actor=actor, action=action, detail=detail))


def _clean_value(kind: str, value: str, language: str) -> tuple[str, str]:
    if kind not in KINDS:
        raise RuleError(f"unknown rule kind {kind!r}")
    value = " ".join(value.split())
    if not value or len(value) > 300:
        raise RuleError("the value must have 1 to 300 characters")
    if kind in ("trusted", "banned"):
        value = "@" + value.lstrip("@")
    if kind == "blocked_word":
        if not language.isalpha() or len(language) > 10:
            raise RuleError(f"a blocked word needs a language code (fr, en…), got {language!r}")
        return value, language.lower()
    return value, ""


def add_entry(store: Store, kind: str, value: str, actor: str, language: str = "") -> RuleEntry:
    value, language = _clean_value(kind, value, language)
    with store.write() as session:
        duplicate = session.exec(
            select(RuleEntry).where(
                (RuleEntry.kind == kind)
                & (RuleEntry.value == value)
                & (RuleEntry.language == language)
            )
        ).first()
        if duplicate is not None:
            raise RuleError(f"{value!r} is already in this list")
        entry = RuleEntry(
            kind=kind, value=value, language=language, created_at=utcnow(), created_by=actor
        )
        session.add(entry)
        detail = f"{value} ({language})" if language else value
        _changed(session, actor, f"rule:add-{kind}", detail)
    return entry


def remove_entry(store: Store, entry_id: int, actor: str) -> RuleEntry:
    with store.write() as session:
        entry = session.get(RuleEntry, entry_id)
        if entry is None:
            raise RuleError(f"no rule entry number {entry_id}")
        session.delete(entry)
        _changed(session, actor, f"rule:remove-{entry.kind}", entry.value)
    return entry


def set_value(store: Store, name: str, value: str, actor: str) -> None:
    with store.write() as session:
        session.merge(RuleSetting(name=name, value=value))
        _changed(session, actor, f"rule:set-{name}", value)


def set_mode(store: Store, mode: str, actor: str) -> None:
    if mode not in MODES:
        raise RuleError(f"the mode is pre or post, not {mode!r}")
    set_value(store, "mode", mode, actor)


def set_flood(store: Store, accounts: int, minutes: int, actor: str) -> None:
    if not 2 <= accounts <= 1000 or not 1 <= minutes <= 1440:
        raise RuleError("flood rule: 2 to 1000 accounts within 1 to 1440 minutes")
    with store.write() as session:
        session.merge(RuleSetting(name="flood_accounts", value=str(accounts)))
        session.merge(RuleSetting(name="flood_minutes", value=str(minutes)))
        _changed(session, actor, "rule:set-flood", f"{accounts} accounts / {minutes} min")


def ban(store: Store, handle: str, actor: str) -> list[int]:
    """Ban an author: future posts are rejected, approved ones retracted and pending ones
    rejected now. Returns the ids of the posts taken down."""
    entry = add_entry(store, "banned", handle, actor)
    taken: list[int] = []
    for post_id, status in _posts_by(store, entry.value, ("approved", "pending")):
        action = "retract" if status == "approved" else "reject"
        try:
            decide(store, post_id, action, actor, expected_status=status)
        except ModerationError:
            continue  # someone decided it in between: their decision stands
        taken.append(post_id)
    return taken


def _posts_by(store: Store, handle: str, statuses: tuple[str, ...]) -> list[tuple[int, str]]:
    wanted = normalize_handle(handle)
    core = handle.lstrip("@").split("@")[0]
    query = select(Post.id, Post.status, Post.author_handle).where(
        col(Post.status).in_(statuses)
        & col(Post.deleted).is_(False)
        & col(Post.author_handle).ilike(f"%{core}%")
    )
    with store.read() as session:
        rows = list(session.exec(query))
    return [(pid, status) for pid, status, h in rows if pid and normalize_handle(h) == wanted]
