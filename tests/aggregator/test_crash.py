"""Crash safety: a child killed (SIGKILL) in the middle of a large ingest loses and doubles nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from aggregator.models import Change, Post, Source
from aggregator.store import Store
from tests.collectors.collector_fakes import FakeServer
from tests.collectors.test_mastodon import FakeMastodon

CHILD = Path(__file__).with_name("crash_child.py")
TOTAL = 1200


def run_child(*args: str, kill_after_lines: int | None = None) -> int:
    child = subprocess.Popen([sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    if kill_after_lines is not None:
        for _ in range(kill_after_lines):
            child.stdout.readline()
        # In the middle of the next page's (or run's) transaction, or near it.
        child.send_signal(signal.SIGKILL)
    child.communicate(timeout=120)
    return child.returncode


def stored(store: Store) -> tuple[list[str], int]:
    with store.read() as session:
        ids = list(session.exec(select(Post.external_id)))
        state = session.get(Source, "demo")
    return ids, int(state.cursor) if state and state.cursor else 0


@pytest.mark.slow
def test_sigkill_mid_ingest_then_restart_loses_and_doubles_nothing(
    store: Store, database_url: str
) -> None:
    for kill_after in (5, 13):
        assert run_child(database_url, kill_after_lines=kill_after) == -signal.SIGKILL
        ids, cursor = stored(store)
        # The cursor never runs ahead of the posts: everything before it is stored.
        assert ids == sorted(ids) and len(ids) == len(set(ids))
        assert set(ids) == {f"p{n:05d}" for n in range(cursor)}
        assert 0 < cursor < TOTAL
    assert run_child(database_url) == 0
    ids, cursor = stored(store)
    assert cursor == TOTAL and len(ids) == TOTAL and len(set(ids)) == TOTAL
    with store.read() as session:
        changes = session.execute(sa.select(sa.func.count()).select_from(Change)).scalar()
    assert changes == TOTAL  # one visible change per post, none doubled by the restarts


def claimed(mastodon: FakeMastodon, state: Source) -> set[str]:
    """The statuses the source's state says were read: up to its cursor, above its look-back."""
    assert state.cursor is not None
    older_than = int(state.extra.get("older_than") or 0)
    ids = [int(s["id"]) for s in mastodon.statuses]
    return {
        s["uri"]
        for s, n in zip(mastodon.statuses, ids, strict=True)
        if older_than < n <= int(state.cursor)
    }


@pytest.mark.slow
def test_sigkill_half_way_through_a_look_back_then_restarts_collect_the_whole_window(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    server = FakeServer()
    server.start()
    try:
        mastodon = FakeMastodon(server)
        before_window = mastodon.post(20, at=datetime.now(UTC) - timedelta(hours=30))
        mastodon.post(200)  # this morning: 10 pages of 20, two pages a run
        config = tmp_path / "event.toml"
        config.write_text(
            f'[event]\nhashtags = ["AssisesUMQ"]\n[storage]\nurl = "{database_url}"\n'
            f'[[sources]]\nname = "mq"\ntype = "mastodon"\ninstance = "{server.base_url}"\n'
            "limit = 20\nmax_pages = 2\nrecheck_per_run = 0\n",
            encoding="utf-8",
        )
        for kill_after in (2, 3):
            assert run_child("harvest", str(config), kill_after_lines=kill_after) == -signal.SIGKILL
            with store.read() as session:
                uris = set(session.exec(select(Post.external_id)))
                state = session.get(Source, "mq")
            assert state is not None and "older_than" in state.extra  # killed half-way
            # The state never claims a status that is not stored, and nothing else is stored.
            assert claimed(mastodon, state) <= uris <= {s["uri"] for s in mastodon.statuses}
            mastodon.post(15)  # more arrives while the worker is down
        assert run_child("harvest", str(config)) == 0
        with store.read() as session:
            uris_list = list(session.exec(select(Post.external_id)))
        window = {s["uri"] for s in mastodon.statuses} - {s["uri"] for s in before_window}
        assert len(uris_list) == len(set(uris_list)) and set(uris_list) == window
    finally:
        server.stop()
