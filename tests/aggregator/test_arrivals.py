"""Webhook posts arriving together are stored together, each sender told what became of its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import col, select

from aggregator.arrivals import Arrivals
from aggregator.ingest import Pipeline, PostOutcome
from aggregator.metrics import Metrics
from aggregator.models import Post, Source
from aggregator.moderation.rules import Rules
from aggregator.store import Store, StoreBusy
from collectors.base import Author, Candidate, SourceOptions
from tests.builders import candidate, source

RELAIS, AUTRE = source("relais"), source("autre")


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


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@contextmanager
def queued_behind_a_writer(
    store: Store, arrivals: Arrivals, sent: Sequence[tuple[SourceOptions, Candidate]]
) -> Iterator[list[Future[PostOutcome]]]:
    """Send every post at once while another writer holds the store: the first takes the
    turn and waits for the store, the others queue behind it until the block ends."""
    with ThreadPoolExecutor(len(sent)) as pool:
        with store.write():
            futures = [pool.submit(arrivals.store, options, post) for options, post in sent]
            wait_for(lambda: arrivals.waiting == len(sent) - 1)
            yield futures
        for future in futures:
            future.exception(timeout=30)  # each done, one way or the other


def test_twenty_posts_at_the_same_instant_take_two_transactions(store: Store) -> None:
    arrivals, metrics = arrivals_on(store)
    sent = [(RELAIS, someone(n)) for n in range(20)]
    with queued_behind_a_writer(store, arrivals, sent) as futures:
        pass
    outcomes = [future.result() for future in futures]
    # The first post alone, then the nineteen that queued meanwhile, together.
    assert batches(metrics, "relais") == 2
    assert [o.external_id for o in outcomes] == [f"hook-{n}" for n in range(20)]
    assert all(o.outcome == "new" and o.status == "approved" for o in outcomes)
    with store.read() as session:
        stored = dict(session.exec(select(Post.external_id, Post.id)).all())
        counted = session.get(Source, "relais")
    assert {o.external_id: o.post_id for o in outcomes} == stored  # each told its own post
    assert counted is not None and counted.posts_collected == 20


def test_the_same_post_twice_in_one_batch_is_stored_once(store: Store) -> None:
    arrivals, _ = arrivals_on(store)
    sent = [(RELAIS, someone(0)), (RELAIS, someone(1)), (RELAIS, someone(1))]
    with queued_behind_a_writer(store, arrivals, sent) as futures:
        pass
    first, again = futures[1].result(), futures[2].result()
    assert first.post_id == again.post_id and (first.outcome, again.outcome) == ("new", "unchanged")
    with store.read() as session:
        assert len(session.exec(select(Post)).all()) == 2


def test_each_source_of_a_batch_keeps_its_own_posts(store: Store) -> None:
    arrivals, metrics = arrivals_on(store)
    sent = [(RELAIS, someone(0)), (AUTRE, someone(1)), (RELAIS, someone(2)), (AUTRE, someone(3))]
    with queued_behind_a_writer(store, arrivals, sent) as futures:
        pass
    assert all(f.result().outcome == "new" for f in futures)
    with store.read() as session:
        rows = session.exec(select(Post.source, Post.external_id).order_by(col(Post.id))).all()
    assert sorted(rows) == [
        ("autre", "hook-1"), ("autre", "hook-3"), ("relais", "hook-0"), ("relais", "hook-2")
    ]  # fmt: skip
    assert (batches(metrics, "relais"), batches(metrics, "autre")) == (2, 1)


def test_a_busy_store_is_told_to_every_sender_of_the_batch_then_the_next_is_stored(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "busy.db"
    path.write_bytes(sqlite_template.read_bytes())
    store = Store(f"sqlite:///{path}", busy_timeout=0.3)
    try:
        arrivals, _ = arrivals_on(store)
        sent = [(RELAIS, someone(n)) for n in range(5)]
        with queued_behind_a_writer(store, arrivals, sent) as futures:
            # Held longer than the busy timeout: the first batch, then the second, give up.
            futures[0].exception(timeout=10)
            wait_for(lambda: all(f.done() for f in futures))
        errors = [future.exception() for future in futures]
        assert all(isinstance(error, StoreBusy) for error in errors), errors
        after = arrivals.store(RELAIS, someone(9))  # the sender's retry, once the block is gone
        with store.read() as session:
            stored = session.exec(select(Post.external_id)).all()
    finally:
        store.dispose()
    assert after.outcome == "new" and stored == ["hook-9"]  # nothing half-stored before


def test_a_post_arriving_alone_is_stored_at_once(store: Store) -> None:
    arrivals, metrics = arrivals_on(store)
    outcome = arrivals.store(RELAIS, someone(0))
    assert outcome.outcome == "new" and batches(metrics, "relais") == 1
    assert arrivals.waiting == 0
