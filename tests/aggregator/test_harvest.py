from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.harvest import AUTH_PAUSE, MAX_BACKOFF, next_attempt
from aggregator.models import Post, Source, utcnow
from aggregator.scheduler import create_scheduler
from aggregator.settings import Settings
from aggregator.sources import source_row
from collectors.base import CollectorError, CollectResult, ErrorKind, SourceState
from tests.builders import NOW, candidate, source
from tests.collectors.collector_fakes import FakeServer
from tests.collectors.test_mastodon import FakeMastodon

pytestmark = pytest.mark.anyio


def test_pace_without_errors() -> None:
    assert next_attempt(source(every=30), NOW) == NOW + timedelta(seconds=30)


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    opts = source(every=10)
    low = [next_attempt(opts, NOW, errors=n, jitter=lambda: 0.0) - NOW for n in (1, 2, 3)]
    high = [next_attempt(opts, NOW, errors=n, jitter=lambda: 1.0) - NOW for n in (1, 2, 3)]
    assert low == [timedelta(seconds=s * 0.75) for s in (20, 40, 80)]
    assert high == [timedelta(seconds=s * 1.25) for s in (20, 40, 80)]
    assert next_attempt(opts, NOW, errors=30, jitter=lambda: 1.0) - NOW == MAX_BACKOFF * 1.25


def test_remote_wait_is_honoured() -> None:
    error = CollectorError(ErrorKind.RATE_LIMITED, "slow down", retry_after=900)
    assert next_attempt(source(every=10), NOW, 1, error) - NOW == timedelta(seconds=900)
    assert next_attempt(source(every=10), NOW, wait_at_least=120) - NOW == timedelta(seconds=120)


def test_refused_credentials_are_not_retried_hot() -> None:
    error = CollectorError(ErrorKind.AUTH, "HTTP 401")
    assert next_attempt(source(every=10), NOW, 1, error) - NOW == AUTH_PAUSE


class Scripted:
    """A collector whose answers are given in advance; it records the states it was given."""

    def __init__(self, *answers: CollectResult | CollectorError, delay: float = 0) -> None:
        self.answers = list(answers)
        self.states: list[SourceState] = []
        self.delay = delay

    async def collect(self, state: SourceState) -> CollectResult:
        self.states.append(state)
        await asyncio.sleep(self.delay)
        answer = self.answers.pop(0) if self.answers else CollectResult(state=state)
        if isinstance(answer, CollectorError):
            raise answer
        return answer


def with_collector(livewall: Livewall, collector: Any) -> Livewall:
    livewall.harvest._collectors["demo"] = collector
    return livewall


def state_of(livewall: Livewall) -> Source:
    with livewall.store.read() as session:
        found = session.get(Source, "demo")
    assert found is not None
    return found


async def test_failure_is_recorded_and_backs_off(livewall: Livewall) -> None:
    with_collector(livewall, Scripted(CollectorError(ErrorKind.HTTP_5XX, "HTTP 503 from x")))
    report = await livewall.harvest.run_source("demo")
    state = state_of(livewall)
    assert report.error == "http_5xx: HTTP 503 from x"
    assert (state.consecutive_errors, state.last_error_kind) == (1, "http_5xx")
    assert state.next_attempt is not None and state.next_attempt > utcnow() + timedelta(seconds=5)
    await livewall.aclose()


async def test_crashing_collector_does_not_stop_the_others(make_settings: Any, store: Any) -> None:
    settings: Settings = make_settings(
        sources=[{"name": "demo", "type": "demo"}, {"name": "other", "type": "demo", "per_run": 2}]
    )
    app = Livewall(settings, store=store, env={})
    app.harvest._collectors["demo"] = Scripted()
    app.harvest._collectors["demo"].collect = None  # type: ignore[method-assign]  # TypeError when called
    reports = await app.harvest.run_due()
    by_name = {r.source: r for r in reports}
    assert "collector failed" in (by_name["demo"].error or "")
    assert by_name["other"].new == 2 and by_name["other"].error is None
    await app.aclose()


async def test_state_is_resumed_after_a_restart(make_settings: Any, store: Any) -> None:
    first = Livewall(make_settings(), store=store, env={})
    await first.harvest.run_source("demo")
    await first.aclose()
    again = Livewall(make_settings(), store=store, env={})
    scripted = with_collector(again, Scripted()).harvest._collectors["demo"]
    await again.harvest.run_source("demo")
    assert scripted.states[0].cursor == "5"  # the demo released 5 posts before the restart
    await again.aclose()


async def test_due_sources_only_and_never_two_runs_at_once(livewall: Livewall) -> None:
    slow = Scripted(delay=0.3)
    with_collector(livewall, slow)
    both = await asyncio.gather(
        livewall.harvest.run_source("demo"), livewall.harvest.run_source("demo")
    )
    assert sorted(r.error or "" for r in both) == ["", "already running"]
    assert len(slow.states) == 1
    assert await livewall.harvest.run_due() == []  # next attempt is `every` seconds away
    await livewall.aclose()


async def test_paused_source_is_not_run(livewall: Livewall) -> None:
    livewall.harvest.pause("demo")
    assert await livewall.harvest.run_due() == []
    await livewall.aclose()


async def test_scheduler_ticks_collect_the_demo(livewall: Livewall) -> None:
    scheduler = create_scheduler(
        livewall.harvest, livewall.digest, livewall.settings.zone, tick=0.1
    )
    scheduler.start()
    try:
        for _ in range(50):
            await asyncio.sleep(0.1)
            with livewall.store.read() as session:
                if len(list(session.exec(select(Post)))) >= 5:
                    break
    finally:
        scheduler.shutdown(wait=False)
        await livewall.aclose()
    with livewall.store.read() as session:
        assert len(list(session.exec(select(Post)))) == 5  # one run: the next is `every` away


async def test_half_valid_answer_keeps_posts_and_the_error(livewall: Livewall) -> None:
    partial = CollectResult(
        posts=[candidate("1")],
        state=SourceState(cursor="c1"),
        error=CollectorError(ErrorKind.BAD_PAYLOAD, "line 40: mismatched tag"),
    )
    with_collector(livewall, Scripted(partial))
    report = await livewall.harvest.run_source("demo")
    state = state_of(livewall)
    assert report.new == 1 and "mismatched tag" in (report.error or "")
    assert state.cursor == "c1" and state.consecutive_errors == 1
    await livewall.aclose()


async def test_a_run_stopped_at_its_bound_is_a_notice_not_a_failure(livewall: Livewall) -> None:
    notice = "read 2 pages, the most for one run (max_pages): the look-back continues next run"
    bounded = CollectResult(
        posts=[candidate("1")], state=SourceState("c1", extra={"older_than": "9"}), notice=notice
    )
    caught_up = CollectResult(state=SourceState("c1"))
    with_collector(livewall, Scripted(bounded, caught_up))
    report = await livewall.harvest.run_source("demo")
    state = state_of(livewall)
    assert report.new == 1 and report.error is None
    assert (state.cursor, state.extra) == ("c1", {"older_than": "9"})
    assert (state.consecutive_errors, state.last_error_kind, state.last_error) == (
        0,
        "backlog",
        notice,
    )
    every = livewall.settings.source("demo").every
    assert state.next_attempt is not None
    assert state.next_attempt <= utcnow() + timedelta(seconds=every)  # its pace, no backoff
    row = source_row(livewall.settings.source("demo"), state)
    assert row[2] == "ok" and row[-1] == f"backlog: {notice}"
    await livewall.harvest.run_source("demo")
    assert state_of(livewall).last_error is None  # a run that owes nothing clears it
    await livewall.aclose()


async def test_the_event_start_reaches_the_collectors(make_settings: Any, store: Any) -> None:
    event = {"name": "Assises", "hashtags": ["AssisesUMQ"], "start": "2026-11-25T08:00"}
    app = Livewall(make_settings(event=event), store=store, env={})
    start = app.harvest.context.event_start
    assert start is not None and start.isoformat() == "2026-11-25T13:00:00+00:00"
    await app.aclose()


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    server = FakeServer()
    server.start()
    yield FakeMastodon(server)
    server.stop()


def mastodon_source(mastodon: FakeMastodon, **options: Any) -> dict[str, Any]:
    instance = mastodon.server.base_url
    return {"name": "mq", "type": "mastodon", "instance": instance, **options}


def stored_uris(livewall: Livewall) -> list[str]:
    with livewall.store.read() as session:
        return list(session.exec(select(Post.external_id).where(Post.source == "mq")))


async def test_first_start_stores_every_post_of_the_morning(
    make_settings: Any, store: Any, mastodon: FakeMastodon
) -> None:
    mastodon.post(57)  # one page holds 40
    app = Livewall(make_settings(sources=[mastodon_source(mastodon)]), store=store, env={})
    report = await app.harvest.run_source("mq")
    assert report.new == 57 and report.error is None
    assert sorted(stored_uris(app)) == sorted(s["uri"] for s in mastodon.statuses)
    await app.aclose()


async def test_a_look_back_cut_by_its_bound_is_finished_by_the_next_runs(
    make_settings: Any, store: Any, mastodon: FakeMastodon
) -> None:
    mastodon.post(150)
    sources = [mastodon_source(mastodon, max_pages=2, recheck_per_run=0)]
    app = Livewall(make_settings(sources=sources), store=store, env={})
    first = await app.harvest.run_source("mq")
    with app.store.read() as session:
        state = session.get(Source, "mq")
    assert first.new == 80 and first.error is None
    assert state is not None and state.last_error_kind == "backlog"
    assert state.consecutive_errors == 0 and "older_than" in state.extra
    mastodon.post(10)
    for _ in range(5):  # two pages a run, one more for the look-back: 70 left, 10 newer
        await app.harvest.run_source("mq")
    uris = stored_uris(app)
    assert sorted(uris) == sorted(s["uri"] for s in mastodon.statuses)
    assert app.harvest.load(app.settings.source("mq")).last_error is None
    await app.aclose()
