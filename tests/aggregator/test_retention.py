"""`livewall prune`: exactly the old posts, tombstones past their use and cache files go; the
moderation log stays; a post its source could fetch again stays a tombstone; --dry-run counts."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.models import Change, ModerationEntry, Post, Source, utcnow
from aggregator.moderation import decisions
from aggregator.retention import prune
from aggregator.store import Store
from collectors.window import WINDOW_KEY
from tests.builders import candidate, result, source
from tests.conftest import SettingsFactory

DAY = 86400


@pytest.fixture
def kept(make_settings: SettingsFactory, store: Store) -> Livewall:
    """`fil` has a look-back window that started 10 days ago; `ancienne` is gone from the
    configuration; `relais` (webhook-like) has no window: anything of it may come back."""
    settings = make_settings(
        sources=[
            {"name": "fil", "type": "demo"},
            {"name": "relais", "type": "demo"},
        ]
    )
    return Livewall(settings, store=store, env={})


def add(livewall: Livewall, name: str, external_id: str, days_ago: float) -> int:
    created = utcnow() - timedelta(days=days_ago)
    report = livewall.pipeline.ingest(
        source(name), result(candidate(external_id, f"Texte {external_id}", created_at=created))
    )
    post_id = report.posts[0].post_id
    assert post_id is not None
    return post_id


def media_file(folder: Path, name: str, days_ago: float) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 1000)
    moment = time.time() - days_ago * DAY
    os.utime(path, (moment, moment))
    return path


def test_prune_removes_exactly_what_is_old_and_keeps_the_audit_log(
    kept: Livewall, store: Store, tmp_path: Path
) -> None:
    old_gone = add(kept, "ancienne", "a1", days_ago=40)  # its source is gone: deleted
    before_window = add(kept, "fil", "f1", days_ago=40)  # older than fil's window: deleted
    in_window = add(kept, "fil", "f2", days_ago=9)  # fil could read it again: tombstone
    pushed = add(kept, "relais", "r1", days_ago=40)  # no window: tombstone
    recent = add(kept, "relais", "r2", days_ago=1)  # young: untouched
    with store.write() as session:
        fil = session.get(Source, "fil")
        assert fil is not None
        fil.extra = {WINDOW_KEY: (utcnow() - timedelta(days=10)).isoformat()}
        session.add(fil)
    for post_id in (before_window, in_window, recent):
        decisions.decide(store, post_id, "approve", "marie")
    media = tmp_path / "media-cache"
    stale = media_file(media, "ab/abcdef", days_ago=8)
    fresh = media_file(media, "cd/cdef01", days_ago=2)
    staff = media_file(media, "staff/affiche.jpg", days_ago=30)
    key = media_file(media, ".key", days_ago=30)
    with store.read() as session:
        log_before = len(session.exec(select(ModerationEntry)).all())
        last_seq = kept.store.last_seq()

    dry = prune(store, kept.settings, media, days=7, dry_run=True)
    assert (dry.deleted, dry.emptied, dry.media_files) == (2, 2, 1)
    with store.read() as session:
        assert len(session.exec(select(Post)).all()) == 5 and stale.exists()

    report = prune(store, kept.settings, media, days=7)
    assert (report.deleted, report.emptied, report.media_files) == (2, 2, 1)
    assert report.media_bytes == 1000 and report.removed_media == [stale]
    with store.read() as session:
        posts = {p.id: p for p in session.exec(select(Post))}
        assert set(posts) == {in_window, pushed, recent}
        for tombstone in (posts[in_window], posts[pushed]):
            assert tombstone.deleted and tombstone.text == "" and tombstone.html == ""
        assert posts[recent].text == "Texte r2" and posts[recent].visible
        assert len(session.exec(select(ModerationEntry)).all()) == log_before
        removal = session.exec(select(Change).where(col(Change.post_id) == in_window)).all()
        assert removal[-1].kind == "remove"  # the screens showing it take it down
        assert old_gone not in posts and before_window not in posts
    assert store.last_seq() > last_seq  # sequence numbers keep rising after a prune
    assert not stale.exists() and fresh.exists() and staff.exists() and key.exists()

    # A later fetch of a tombstoned post leaves it removed.
    again = kept.pipeline.ingest(source("relais"), result(candidate("r1", "Texte r1")))
    assert again.posts[0].outcome == "removed"
    assert prune(store, kept.settings, media, days=7).emptied == 0  # nothing left to do
