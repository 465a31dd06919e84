"""The flood window the pipeline keeps: right across batches, pipelines and processes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Post
from aggregator.moderation import live_rules
from collectors.base import Author, Candidate
from tests.builders import candidate, result, source

SPAM = "Gagnez un iPhone gratuit, cliquez vite sur ce lien {}"


def copy(n: int) -> list[Candidate]:
    author = Author(handle=f"@bot{n}@x.example", name=f"Bot {n}")
    return [candidate(f"s{n}", SPAM.format(f"https://spam.example/{n}"), author=author)]


def statuses(app: Livewall) -> list[str]:
    with app.store.read() as session:
        return list(session.exec(select(Post.status).order_by(col(Post.id))))


def test_copies_stored_by_another_process_count(livewall: Livewall) -> None:
    """Two pipelines on one store stand for `serve` (a webhook) and `worker`: each one's
    window sees what the other stored since its last batch."""
    other = Pipeline(livewall.store, livewall.live_rules, ("fr", "en"))
    live_rules.set_mode(livewall.store, "post", "ada")
    livewall.pipeline.ingest(source(), result(*copy(0)))
    other.ingest(source("hook"), result(*copy(1)))
    livewall.pipeline.ingest(source(), result(*copy(2)))  # its window knew only bot0
    other.ingest(source("hook"), result(*copy(3)))
    assert statuses(livewall) == ["approved", "approved", "pending", "pending"]


def test_an_edit_by_another_process_is_compared_as_edited(livewall: Livewall) -> None:
    other = Pipeline(livewall.store, livewall.live_rules, ("fr", "en"))
    live_rules.set_mode(livewall.store, "post", "ada")
    livewall.pipeline.ingest(source(), result(*copy(0), *copy(1)))
    with livewall.store.write() as session:  # neither copy says it any more
        session.execute(sa.update(Post).values(text="Bonne plénière à toutes et à tous, merci!"))
        livewall.store.add_change(session, "post", post_id=1)
    other.ingest(source(), result(*copy(2)))
    livewall.pipeline.ingest(source(), result(*copy(3)))
    assert statuses(livewall) == ["approved", "approved", "approved", "approved"]


def test_a_failed_batch_leaves_nothing_in_the_window(livewall: Livewall) -> None:
    live_rules.set_mode(livewall.store, "post", "ada")
    livewall.pipeline.ingest(source(), result(*copy(0)))
    broken = result(*copy(1))
    broken.state.extra = {"not json": object()}  # the source's state fails after the posts
    with pytest.raises((sa.exc.StatementError, TypeError)):  # as each driver says it
        livewall.pipeline.ingest(source(), broken)
    livewall.pipeline.ingest(source(), result(*copy(2)))
    assert statuses(livewall) == ["approved", "approved"]  # bot1 never stored, never counted
