"""The ingest pipeline: candidates → sanitize → dedupe → rules → persist (one transaction).

The posts and the source's new cursor are written in the same transaction, so a crash at
any point leaves either both or neither: nothing lost, nothing doubled. Deleted and
rejected posts stay as tombstones so a later fetch does not bring them back.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from aggregator.draft import Draft
from aggregator.known_posts import Copied, KnownPosts
from aggregator.language import detect_languages, warm_detector
from aggregator.metrics import Metrics
from aggregator.models import ModerationEntry, Post, utcnow
from aggregator.moderation import edits, folding
from aggregator.moderation.folding import fold
from aggregator.moderation.recent import RecentPosts
from aggregator.moderation.rules import PostRules
from aggregator.new_posts import Inserted, NewPosts
from aggregator.sanitize import clean_html, plain_text, safe_url, storable, text_to_html
from aggregator.source_state import count_arrived, save_state
from aggregator.store import Store
from collectors.base import Candidate, CollectResult, SourceOptions

# Bounds of what one post may store, whatever its network allows (a feed may send a book).
MAX_TEXT, MAX_HTML, MAX_LINE, MAX_ALT = 20_000, 100_000, 500, 1_500


@dataclass(frozen=True)
class PostOutcome:
    """What became of one candidate: `post_id` is the stored post it is now part of."""

    external_id: str
    outcome: str  # new, updated, unchanged, joined (a cross-post of post_id), removed
    post_id: int | None
    status: str


@dataclass
class IngestReport:
    source: str
    new: int = 0
    updated: int = 0
    deleted: int = 0
    duplicates: int = 0
    held: int = 0
    rejected: int = 0
    error: str | None = None
    changes: list[int] = field(default_factory=list)
    posts: list[PostOutcome] = field(default_factory=list)

    def line(self) -> str:
        """One readable line for the command line and logs."""
        text = (
            f"{self.source}: {self.new} new, {self.updated} updated, {self.deleted} deleted"
            f", {self.held} held, {self.duplicates} duplicate"
        )
        return f"{text}, error: {self.error}" if self.error else text


def fingerprint(author_name: str, text: str) -> str | None:
    """Identity of a cross-posted text: the same words by the same person on two networks."""
    words = " ".join(fold(text).split())
    if len(words) < 20:
        return None
    return hashlib.sha256(f"{fold(author_name).strip()}\n{words}".encode()).hexdigest()


def prepare_all(
    candidates: Sequence[Candidate], options: SourceOptions, languages: tuple[str, ...]
) -> list[Draft]:
    """Each candidate made safe to store (`prepare`), with the language of those whose network
    does not give it detected together (`detect_languages`)."""
    drafts = [prepare(candidate, options) for candidate in candidates]
    unknown = [draft for draft in drafts if draft.language is None]
    found = detect_languages([draft.text for draft in unknown], languages)
    for draft, language in zip(unknown, found, strict=True):
        draft.language = language and language[:10]
    return drafts


def prepare(candidate: Candidate, options: SourceOptions) -> Draft:
    """A candidate made safe to store: sanitized HTML, plain text, checked URLs, storable
    text of bounded length whatever the network sent; its language if the network gave one
    (`prepare_all` detects the others)."""
    raw_html, raw_text = storable(candidate.html, MAX_HTML), storable(candidate.text, MAX_TEXT)
    html = clean_html(raw_html) if raw_html else text_to_html(raw_text)
    text = plain_text(html) if raw_html else raw_text.strip()
    found = candidate.language
    author = candidate.author
    name, handle = storable(author.name, 200), storable(author.handle, 300)
    media = [
        {**asdict(m), "url": safe_url(m.url) or m.url, "preview_url": safe_url(m.preview_url),
         "alt": storable(m.alt, MAX_ALT)}
        for m in candidate.media
        if safe_url(m.url) or m.url.startswith("demo:")
    ]  # fmt: skip
    return Draft(
        source=options.name,
        external_id=candidate.external_id[:500],
        network=candidate.network or options.type,
        kind=candidate.kind,
        url=safe_url(candidate.url),
        author_handle=handle,
        author_name=name or handle,
        author_avatar=safe_url(author.avatar_url),
        author_url=safe_url(author.profile_url),
        title=storable(candidate.title, MAX_LINE) or None,
        text=text,
        html=html,
        language=(found or None) and found[:10],
        created_at=candidate.created_at,
        collected_at=utcnow(),
        edited_at=candidate.edited_at,
        media=media,
        hashtags=list(candidate.hashtags),
        likes=candidate.likes,
        shares=candidate.shares,
        replies=candidate.replies,
        content_warning=storable(candidate.content_warning, MAX_LINE) or None,
        sensitive=candidate.sensitive,
        official=options.official,
        live_state=candidate.live_state,
        dedupe_key=candidate.dedupe_key,
        fingerprint=fingerprint(name or handle, text),
    )


class Pipeline:
    def __init__(
        self,
        store: Store,
        rules: PostRules,
        languages: tuple[str, ...] = ("fr", "en"),
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.languages = languages
        self.metrics = metrics or Metrics()
        self.recent = RecentPosts()
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Load what the first post would otherwise wait for (blocking: about a second)."""
        folding.warm()
        warm_detector(self.languages)

    def ingest(
        self,
        options: SourceOptions,
        result: CollectResult,
        next_attempt: datetime | None = None,
        *,
        keep_state: bool = False,
    ) -> IngestReport:
        """Store a collector's result and its new state together (the store publishes what
        became visible once it is committed).

        With `keep_state` (an event streamed, or pushed to a webhook) the source's cursor,
        schedule and error are left as they are in the store: only polling moves them, so it
        still reads everything after its own cursor and catches up what a dropped stream missed.
        """
        report = IngestReport(options.name)
        prepared = prepare_all(result.posts, options, self.languages)
        metrics = self.metrics
        # One batch at a time per pipeline: the flood window follows the store's order.
        with self._lock, metrics.timed(metrics.ingest_seconds, source=options.name):
            try:
                with self.store.write() as session:
                    self.recent.begin(session)
                    self._store_posts(session, options.name, prepared, report)
                    for external_id in result.deleted:
                        self._delete(session, options.name, external_id, report)
                    if keep_state:
                        count_arrived(session, options, report.new)
                    else:
                        save_state(session, options, result, next_attempt, report.new)
                        report.error = None if result.error is None else str(result.error)
                    self.recent.end()
            except BaseException:
                self.recent.drop()
                raise
        # Counted once committed (a rolled-back batch stored nothing), each kind at once.
        counted = Counter((done.outcome, done.status) for done in report.posts)
        for (outcome, status), count in counted.items():
            metrics.posts_ingested.labels(options.name, outcome, status).inc(count)
        return report

    def _store_posts(
        self, session: Session, source: str, prepared: list[Draft], report: IngestReport
    ) -> None:
        """Each candidate is a post already stored (updated one by one: edits are rare), a
        cross-post of one, or new (judged here, inserted together)."""
        known = KnownPosts.load(session, source, prepared)
        new = NewPosts()
        outcomes: list[PostOutcome | None] = [None] * len(prepared)
        for index, post in enumerate(prepared):
            if new.names(post):  # the same post twice in one batch: look it up once stored
                self._inserted(self._insert_new(session, new), report, outcomes)
                again = KnownPosts.load(session, source, [post])
                existing, joined = again.find(post), again.crosspost(post)
            else:
                existing, joined = known.find(post), known.crosspost(post)
            if existing is not None:
                outcome = self._update(session, existing, post, report)
                outcomes[index] = _outcome(post, outcome, existing)
            elif joined is not None:
                report.duplicates += 1
                outcomes[index] = _outcome(post, "joined", joined)
            else:
                new.add(index, post, self.rules.judge(session, post, self.recent))
                self.recent.judged(post.author_handle, post.text, post.collected_at)
        self._inserted(self._insert_new(session, new), report, outcomes)
        report.posts.extend(o for o in outcomes if o is not None)

    def _insert_new(self, session: Session, new: NewPosts) -> list[Inserted]:
        inserted = new.insert(session, self.store)
        self.recent.inserted([row.post_id for row in inserted])
        return inserted

    def _inserted(
        self, inserted: list[Inserted], report: IngestReport, outcomes: list[PostOutcome | None]
    ) -> None:
        for row in inserted:
            post = row.post  # its id and change number given by NewPosts.insert
            report.new += 1
            report.held += bool(post.status_reason) and post.status == "pending"
            report.rejected += bool(post.status_reason) and post.status == "rejected"
            report.changes.append(row.seq)
            outcomes[row.index] = _outcome(post, "new", post)

    def _update(self, session: Session, stored: Post, fresh: Draft, report: IngestReport) -> str:
        if stored.deleted or stored.status == "rejected":
            return "removed"  # a tombstone: what was removed stays removed
        now = edits.latest(stored)
        changed = [name for name in edits.EDITABLE if now[name] != getattr(fresh, name)]
        if not changed:
            return "unchanged"
        report.updated += 1
        was_visible = stored.visible
        free = {name: getattr(fresh, name) for name in changed if name in edits.FREE}
        edits.apply(stored, free)
        outcome = "updated"
        if any(name in edits.READABLE for name in changed):
            outcome = self._judge_edit(session, stored, fresh, report)
        session.add(stored)
        if was_visible or stored.visible:
            kind = "post" if stored.visible else "remove"
            if free or outcome == "updated" or kind == "remove":
                self._changed(session, stored, report, kind=kind)
        if outcome == "held" or not (was_visible or stored.visible):
            report.changes.append(self.store.add_change(session, "queue", post_id=stored.id))
        if stored.id is not None:
            self.recent.edited(stored.id, stored.text)
        return outcome

    def _judge_edit(
        self, session: Session, stored: Post, fresh: Draft, report: IngestReport
    ) -> str:
        """Judge what the edit makes people read, like a new post: `updated` when the row
        now carries it, `held` when it waits for a moderator behind the approved version."""
        if stored.status == "approved" and edits.readable(fresh) == edits.readable(stored):
            stored.pending_edit = None  # back to the approved words: nothing left to decide
            return "updated"
        decision = self.rules.judge(session, fresh, self.recent)
        if stored.status == "approved" and decision.status == "pending":
            edits.hold(stored, edits.readable(fresh), decision.reason)
            report.held += 1
            session.add(_log(stored, "rules:edit-held", decision.reason or "pre-moderation"))
            return "held"
        stored.pending_edit = None
        edits.apply(stored, edits.readable(fresh))
        if stored.status in ("pending", "approved") and decision.status != stored.status:
            stored.status, stored.status_reason = decision.status, decision.reason
            report.held += decision.status == "pending"
            report.rejected += decision.status == "rejected"
            session.add(_log(stored, f"rules:edit-{decision.status}", decision.reason))
        elif stored.status == "pending":
            stored.status_reason = decision.reason  # still held: say why as of this version
        return "updated"

    def _delete(
        self, session: Session, source: str, external_id: str, report: IngestReport
    ) -> None:
        query = select(Post).where(
            ((col(Post.source) == source) & (col(Post.external_id) == external_id))
            | (col(Post.dedupe_key) == external_id)
        )
        for post in session.exec(query):
            if post.deleted:
                continue
            was_visible = post.visible
            post.deleted, post.deleted_at = True, utcnow()
            session.add(post)
            session.add(_log(post, "deleted", "deleted at the source"))
            report.deleted += 1
            if was_visible:
                self._changed(session, post, report, kind="remove")

    def _changed(
        self, session: Session, post: Post, report: IngestReport, kind: str = "post"
    ) -> None:
        session.flush()
        post.seq = self.store.add_change(session, kind, post_id=post.id)
        session.add(post)
        report.changes.append(post.seq)


def _outcome(candidate: Draft, outcome: str, stored: Post | Draft | Copied) -> PostOutcome:
    return PostOutcome(candidate.external_id, outcome, stored.id, stored.status)


def _log(post: Post, action: str, detail: str | None) -> ModerationEntry:
    return ModerationEntry(
        at=utcnow(), actor="rules", action=action, post_id=post.id, detail=detail
    )
