from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from aggregator.harvest import AUTH_PAUSE, MAX_BACKOFF, next_attempt
from aggregator.livewall import Livewall
from aggregator.models import Post, Source, utcnow
from aggregator.scheduler import create_scheduler
from aggregator.settings import Settings
from collectors.base import CollectorError, CollectResult, ErrorKind, SourceState
from tests.builders import NOW, candidate, source

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
    scheduler = create_scheduler(livewall.harvest, livewall.settings.zone, tick=0.1)
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
