"""Crash safety: a child killed (SIGKILL) in the middle of a large ingest loses and doubles nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from aggregator.models import Change, Post, Source
from aggregator.store import Store

CHILD = Path(__file__).with_name("crash_child.py")
TOTAL = 1200


def run_child(url: str, kill_after_pages: int | None) -> int:
    child = subprocess.Popen([sys.executable, str(CHILD), url], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    if kill_after_pages is not None:
        for _ in range(kill_after_pages):
            child.stdout.readline()
        child.send_signal(
            signal.SIGKILL
        )  # in the middle of the next page's transaction, or near it
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
        assert run_child(database_url, kill_after) == -signal.SIGKILL
        ids, cursor = stored(store)
        # The cursor never runs ahead of the posts: everything before it is stored.
        assert ids == sorted(ids) and len(ids) == len(set(ids))
        assert set(ids) == {f"p{n:05d}" for n in range(cursor)}
        assert 0 < cursor < TOTAL
    assert run_child(database_url, None) == 0
    ids, cursor = stored(store)
    assert cursor == TOTAL and len(ids) == TOTAL and len(set(ids)) == TOTAL
    with store.read() as session:
        changes = session.execute(sa.select(sa.func.count()).select_from(Change)).scalar()
    assert changes == TOTAL  # one visible change per post, none doubled by the restarts
