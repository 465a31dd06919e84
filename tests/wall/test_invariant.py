"""The wall's invariant under concurrency: a screen never ends up showing a post that is
pending, rejected, retracted or deleted, whatever the timing of moderators, collectors and
reconnecting screens (issue 5, point 9)."""

from __future__ import annotations

import contextlib
import random
import threading
import time

import httpx
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Post
from aggregator.moderation.decisions import ModerationError, decide
from aggregator.moderation.rules import Rules
from tests.builders import candidate, result, source
from tests.conftest import LiveServer

POSTS = 24
ACTIONS = ("approve", "approve", "reject", "retract", "pin")
QUIET = httpx.Timeout(10, read=2)


class Screen:
    """A screen's view of the wall: applies events, reconnects with Last-Event-ID."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.shown: set[int] = set()
        self.last = 0

    def follow(self, stop: threading.Event, until: int | None = None) -> None:
        while not stop.is_set() and (until is None or self.last < until):
            # A quiet stream only pings every 15 s; like the wall's own watchdog, the screen
            # hangs up on silence and reconnects from its last event id.
            with contextlib.suppress(httpx.ReadTimeout):
                self._session(max_events=random.randint(3, 12), until=until)

    def _session(self, max_events: int, until: int | None) -> None:
        headers = {"Last-Event-ID": str(self.last)}
        event: dict[str, str] = {}
        seen = 0
        with httpx.stream(
            "GET", f"{self.base}/wall/hall/events", headers=headers, timeout=QUIET
        ) as r:
            for line in r.iter_lines():
                if line:
                    name, _, value = line.partition(": ")
                    event[name] = f"{event[name]}\n{value}" if name in event else value
                    continue
                if "id" in event:
                    self._apply(event)
                    seen += 1
                event = {}
                if seen >= max_events or (until is not None and self.last >= until):
                    return  # hang up, as a screen on flaky Wi-Fi does

    def _apply(self, event: dict[str, str]) -> None:
        self.last = int(event["id"])
        if event.get("event") == "post":
            self.shown.add(int(event["data"].split('data-id="')[1].split('"')[0]))
        elif event.get("event") == "remove":
            self.shown.discard(int(event["data"]))


def moderate(app: Livewall, ids: list[int], stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        # A decision that no longer applies is the race the console shows as a conflict.
        with contextlib.suppress(ModerationError):
            decide(
                app.store,
                rng.choice(ids),
                rng.choice(ACTIONS),
                f"mod{seed}",
            )


def collect_edits(app: Livewall, stop: threading.Event) -> None:
    pipeline = Pipeline(app.store, Rules(mode="pre"))
    round_ = 0
    while not stop.is_set():
        round_ += 1
        edits = [candidate(str(n), f"Message {n}, version {round_}") for n in range(POSTS)]
        pipeline.ingest(
            source(), result(*edits, deleted=(str(round_ % POSTS),) if round_ % 5 == 0 else ())
        )
        time.sleep(0.02)


def test_screens_never_keep_a_post_staff_did_not_allow(
    live_server: LiveServer, livewall: Livewall
) -> None:
    Pipeline(livewall.store, Rules(mode="pre")).ingest(
        source(), result(*(candidate(str(n), f"Message {n}") for n in range(POSTS)))
    )
    with livewall.store.read() as session:
        ids = [p.id for p in session.exec(select(Post)) if p.id is not None]
    stop = threading.Event()
    screens = [Screen(live_server.url) for _ in range(3)]
    workers = [threading.Thread(target=moderate, args=(livewall, ids, stop, s)) for s in (1, 2)]
    workers.append(threading.Thread(target=collect_edits, args=(livewall, stop)))
    workers += [threading.Thread(target=s.follow, args=(stop,)) for s in screens]
    for w in workers:
        w.start()
    # At least 4 s, and enough changes to mean something even on a loaded machine.
    started = time.monotonic()
    while time.monotonic() - started < 4 or livewall.store.last_seq() <= 80:
        if time.monotonic() - started > 60:
            break
        time.sleep(0.1)
    stop.set()
    for w in workers:
        w.join(timeout=20)
    final = livewall.store.last_seq()
    with livewall.store.read() as session:
        visible = {p.id for p in session.exec(select(Post)) if p.visible}
    assert final > 50, "the run made too few changes to mean anything"
    for screen in screens:
        screen.follow(threading.Event(), until=final)  # the screen comes back and catches up
        assert screen.shown == visible
