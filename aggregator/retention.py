"""`livewall prune --older-than DAYS`: old posts, tombstones past their use, old changes and
cached media go; the moderation log stays.

A post older than the limit is deleted when nothing can bring it back: its source is gone from
the configuration, or its look-back window starts after the post (nothing older than a window's
start is ever collected, collectors/window.py). Otherwise it is kept as a tombstone, emptied of
its content, so that a later fetch of the same post finds it removed and leaves it so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.media_urls import KEY_FILE
from aggregator.models import Change, Post, Source, utcnow
from aggregator.settings import Settings
from aggregator.store import Store
from collectors.http import parse_iso_datetime
from collectors.window import WINDOW_KEY

# Uploaded by staff for their messages: not a cache, never pruned.
KEPT_FOLDERS = ("staff",)
BATCH = 500  # posts per writing transaction: screens' writes wait at most one batch


@dataclass
class PruneReport:
    cutoff: datetime
    deleted: int = 0  # posts gone from the store, tombstones included
    emptied: int = 0  # posts kept as tombstones (a later fetch could bring them back)
    changes: int = 0
    media_files: int = 0
    media_bytes: int = 0
    removed_media: list[Path] = field(default_factory=list)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would remove" if dry_run else "removed"
        return [
            f"{verb}: posts and tombstones created before {self.cutoff:%Y-%m-%d %H:%M} UTC",
            f"  {self.deleted} post(s) deleted (nothing can bring them back)",
            f"  {self.emptied} post(s) emptied into tombstones (their source could fetch them "
            "again)",
            f"  {self.changes} screen change(s) older than that",
            f"  {self.media_files} cached media file(s), {self.media_bytes / 1e6:.1f} MB",
            "kept: the moderation log, accounts, sources' state, digests' records",
        ]


def prune(
    store: Store, settings: Settings, media: Path, days: float, dry_run: bool = False
) -> PruneReport:
    report = PruneReport(cutoff=utcnow() - timedelta(days=days))
    windows = _window_starts(store, settings)
    for batch in _old_post_batches(store, report.cutoff):
        _prune_posts(store, batch, windows, report, dry_run)
    report.changes = _prune_changes(store, report.cutoff, dry_run)
    _prune_media(media, report, dry_run)
    return report


def _window_starts(store: Store, settings: Settings) -> dict[str, datetime | None]:
    """Each configured source's window start (None: it has none, so anything may return)."""
    with store.read() as session:
        stored = {s.name: s for s in session.exec(select(Source))}
    starts: dict[str, datetime | None] = {}
    for options in settings.sources:
        row = stored.get(options.name)
        starts[options.name] = parse_iso_datetime(row.extra.get(WINDOW_KEY)) if row else None
    return starts


def _old_post_batches(store: Store, cutoff: datetime) -> Iterator[list[int]]:
    with store.read() as session:
        query = select(Post.id).where(col(Post.created_at) < cutoff).order_by(col(Post.id))
        ids = [i for i in session.exec(query) if i is not None]
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _prune_posts(
    store: Store,
    ids: list[int],
    windows: dict[str, datetime | None],
    report: PruneReport,
    dry_run: bool,
) -> None:
    # A dry run only reads: nothing it does can reach the store.
    with store.read() if dry_run else store.write() as session:
        posts = session.exec(select(Post).where(col(Post.id).in_(ids))).all()
        for post in posts:
            if _may_return(post, windows):
                report.emptied += not _is_emptied(post)
                if not dry_run:
                    _empty(store, session, post)
            else:
                report.deleted += 1
                if not dry_run:
                    _delete(store, session, post)


def _may_return(post: Post, windows: dict[str, datetime | None]) -> bool:
    if post.source not in windows:
        return False  # its source is gone from the configuration
    start = windows[post.source]
    return start is None or post.created_at >= start


def _is_emptied(post: Post) -> bool:
    return post.deleted and not post.text and not post.html and not post.media


def _empty(store: Store, session: Session, post: Post) -> None:
    if _is_emptied(post):
        return
    was_visible = post.visible
    post.deleted, post.deleted_at = True, post.deleted_at or utcnow()
    post.text = post.html = post.author_name = ""
    post.title = post.content_warning = post.author_avatar = None
    post.media, post.pending_edit = [], None
    session.add(post)
    if was_visible:  # a screen still showing it takes it down
        session.flush()
        post.seq = store.add_change(session, "remove", post_id=post.id)


def _delete(store: Store, session: Session, post: Post) -> None:
    if post.visible:
        store.add_change(session, "remove", post_id=post.id)
    session.delete(post)


def _prune_changes(store: Store, cutoff: datetime, dry_run: bool) -> int:
    """Changes older than the cutoff, except the newest of all: sequence numbers must never
    be handed out again, and SQLite reuses the highest one once its row is gone."""
    newest = store.last_seq()
    old = (col(Change.created_at) < cutoff) & (col(Change.seq) < newest)
    with store.read() if dry_run else store.write() as session:
        count = int(session.exec(select(sa.func.count()).select_from(Change).where(old)).one())
        if not dry_run:
            session.execute(sa.delete(Change).where(old))
    return count


def _prune_media(media: Path, report: PruneReport, dry_run: bool) -> None:
    """Cache files not written since the cutoff; a screen that needs one fetches it again."""
    if not media.is_dir():
        return
    limit = report.cutoff.timestamp()
    for folder, subfolders, files in os.walk(media):
        if Path(folder) == media:
            subfolders[:] = [d for d in subfolders if d not in KEPT_FOLDERS]
        for name in files:
            path = Path(folder) / name
            if name == KEY_FILE or path.stat().st_mtime >= limit:
                continue
            report.media_files += 1
            report.media_bytes += path.stat().st_size
            report.removed_media.append(path)
            if not dry_run:
                path.unlink(missing_ok=True)
