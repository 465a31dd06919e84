"""Webhook posts arriving together are stored together, each sender told what became of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from sqlmodel import col, select

from aggregator.arrivals import Arrivals
from aggregator.ingest import Pipeline, PostOutcome
from aggregator.metrics import Metrics
from aggregator.models import Post, Source
from aggregator.moderation.rules import Rules
from aggregator.store import Store, StoreBusy
from collectors.base import Author, Candidate, SourceOptions
from tests.builders import candidate, source

pytestmark = pytest.mark.anyio
RELAIS, AUTRE = source("relais"), source("autre")
Sent = Sequence[tuple[SourceOptions, Candidate]]


def arrivals_on(store: Store) -> tuple[Arrivals, Metrics]:
    metrics = Metrics()
    return Arrivals(Pipeline(store, Rules(mode="post"), metrics=metrics)), metrics


def batches(metrics: Metrics, name: str) -> float:
    """Ingest transactions of a source, as /metrics shows them."""
    count = metrics.registry.get_sample_value(
        "livewall_ingest_duration_seconds_count", {"source": name}
    )
    return count or 0.0


def someone(n: int) -> Candidate:
    author = Author(handle=f"@membre{n}@relais.example", name=f"Membre {n}")
    return candidate(f"hook-{n}", f"Message numéro {n} depuis le relais #AssisesUMQ", author=author)


def stored_count(store: Store) -> int:
    with store.read() as session:
        return len(session.exec(select(Post)).all())


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await asyncio.sleep(0.005)


@asynccontextmanager
async def another_writer(store: Store) -> AsyncIterator[threading.Event]:
    """Another writer holds the store (in a thread of its own) until the event is set."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write():
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        await until(holding.is_set)
        yield release
    finally:
        release.set()
        await anyio.to_thread.run_sync(thread.join)


async def queued(arrivals: Arrivals, sent: Sent) -> list[asyncio.Task[PostOutcome]]:
    """The first post starts a batch of its own (and waits for the store); the others queue."""
    first = asyncio.create_task(arrivals.store(*sent[0]))
    await until(lambda: arrivals.writing == 1)  # taken by the writer
    tasks = [first, *(asyncio.create_task(arrivals.store(*one)) for one in sent[1:])]
    await until(lambda: arrivals.waiting == len(sent) - 1)
    return tasks


async def test_twenty_posts_at_the_same_instant_take_two_transactions(store: Store) -> None:
    arrivals, metrics = arrivals_on(store)
    async with another_writer(store) as release:
        tasks = await queued(arrivals, [(RELAIS, someone(n)) for n in range(20)])
        release.set()
        outcomes = await asyncio.gather(*tasks)
    # The first post alone, then the nineteen that queued meanwhile, together.
    assert batches(metrics, "relais") == 2
    assert [o.external_id for o in outcomes] == [f"hook-{n}" for n in range(20)]
    assert all(o.outcome == "new" and o.status == "approved" for o in outcomes)
    with store.read() as session:
        stored = dict(session.exec(select(Post.external_id, Post.id)).all())
        counted = session.get(Source, "relais")
    assert {o.external_id: o.post_id for o in outcomes} == stored  # each told its own post
    assert counted is not None and counted.posts_collected == 20


async def test_the_same_post_twice_in_one_batch_is_stored_once(store: Store) -> None:
    arrivals, _ = arrivals_on(store)
    async with another_writer(store) as release:
        sent = [(RELAIS, someone(0)), (RELAIS, someone(1)), (RELAIS, someone(1))]
        tasks = await queued(arrivals, sent)
        release.set()
        _, first, again = await asyncio.gather(*tasks)
    assert first.post_id == again.post_id and (first.outcome, again.outcome) == ("new", "unchanged")
    with store.read() as session:
        assert len(session.exec(select(Post)).all()) == 2


async def test_each_source_of_a_batch_keeps_its_own_posts(store: Store) -> None:
    arrivals, metrics = arrivals_on(store)
    sent = [(RELAIS, someone(0)), (AUTRE, someone(1)), (RELAIS, someone(2)), (AUTRE, someone(3))]
    async with another_writer(store) as release:
        tasks = await queued(arrivals, sent)
        release.set()
        outcomes = await asyncio.gather(*tasks)
    assert all(o.outcome == "new" for o in outcomes)
    with store.read() as session:
        rows = session.exec(select(Post.source, Post.external_id).order_by(col(Post.id))).all()
    assert sorted(rows) == [
        ("autre", "hook-1"), ("autre", "hook-3"), ("relais", "hook-0"), ("relais", "hook-2")
    ]  # fmt: skip
    assert (batches(metrics, "relais"), batches(metrics, "autre")) == (2, 1)


async def test_a_busy_store_is_told_to_every_sender_of_the_batch_then_the_retry_is_stored(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "busy.db"
    path.write_bytes(sqlite_template.read_bytes())
    store = Store(f"sqlite:///{path}", busy_timeout=0.3)
    try:
        arrivals, _ = arrivals_on(store)
        async with another_writer(store):  # held past the busy timeout: each batch gives up
            tasks = await queued(arrivals, [(RELAIS, someone(n)) for n in range(5)])
            errors = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(error, StoreBusy) for error in errors), errors
        after = await arrivals.store(RELAIS, someone(9))  # the sender's retry
        with store.read() as session:
            stored = session.exec(select(Post.external_id)).all()
    finally:
        store.dispose()
    assert after.outcome == "new" and stored == ["hook-9"]  # nothing half-stored before


async def test_a_sender_that_hangs_up_does_not_cancel_its_post(store: Store) -> None:
    arrivals, _ = arrivals_on(store)
    async with another_writer(store) as release:
        tasks = await queued(arrivals, [(RELAIS, someone(0)), (RELAIS, someone(1))])
        tasks[1].cancel()  # the client disconnected while its post waited
        release.set()
        await tasks[0]
        await until(lambda: stored_count(store) == 2)
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]


async def test_waiting_holds_no_thread(store: Store) -> None:
    """Forty webhook posts waiting while the store is held leave the worker threads free."""
    arrivals, _ = arrivals_on(store)
    async with another_writer(store) as release:
        tasks = await queued(arrivals, [(RELAIS, someone(n)) for n in range(41)])
        limiter = anyio.to_thread.current_default_thread_limiter()
        busy = limiter.borrowed_tokens  # the writer's one batch, and the other writer's join
        answered = await anyio.to_thread.run_sync(lambda: "a screen's read")
        release.set()
        await asyncio.gather(*tasks)
    assert busy <= 1 and answered == "a screen's read"
