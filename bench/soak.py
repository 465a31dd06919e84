"""The soak: an event's busy hour, compressed. 200 screens, 20 posts a second through the
webhook for 10 minutes, every post held for moderation and decided by two moderators through
the console API (an API token each); then every approved post must have reached every screen
exactly once, no rejected post any screen, and the server's memory must stay flat.

Processes as in the fan-out bench: `livewall run`, the screens (bench/clients.py), and this
one, which posts, moderates and samples the server's memory every 30 s.

`python -m bench soak [--minutes 10] [--screens 200] [--rate 20] [--postgresql]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from aggregator.accounts import create_token
from aggregator.store import Store
from bench.fanout import post_text
from bench.servers import Clients, Livewall, postgres_url, raise_file_limit, throwaway_database

SAMPLE_SECONDS = 30
MODERATORS = ("marie", "karim")
REJECTED_EVERY = 10  # one post in ten is rejected
POSTERS = 8  # webhook requests in flight at most
DECIDE_AT_ONCE = 20  # posts a moderator selects and decides together


@dataclass
class Decisions:
    """What the moderators did, from the console API's answers."""

    approved: dict[int, float] = field(default_factory=dict)  # post id → when it was sent
    rejected: set[int] = field(default_factory=set)
    conflicts: int = 0
    answered: list[float] = field(default_factory=list)  # seconds each decide request took
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def moderate(base: str, token: str, turn: int, decisions: Decisions, stop: threading.Event) -> None:
    """One moderator: read the queue, decide the posts that are theirs (one in two)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        while not stop.is_set():
            try:
                decide_queue(http, turn, decisions)
            except httpx.HTTPError as exc:  # a slow server: note it and carry on, as staff would
                with decisions.lock:
                    decisions.errors.append(f"moderator {turn}: {exc!r}")
            stop.wait(0.5)


def decide_queue(http: httpx.Client, turn: int, decisions: Decisions) -> None:
    queue = http.get("/console/api/queue", params={"status": "pending"}).json()
    mine = [p["id"] for p in queue["posts"] if p["id"] % len(MODERATORS) == turn]
    for action in ("approve", "reject"):
        chosen = [i for i in mine if (i % REJECTED_EVERY == 0) == (action == "reject")]
        for start in range(0, len(chosen), DECIDE_AT_ONCE):
            decide(http, action, chosen[start : start + DECIDE_AT_ONCE], decisions)


def decide(http: httpx.Client, action: str, ids: list[int], decisions: Decisions) -> None:
    sent = time.monotonic()
    body = {"action": action, "posts": [{"id": i, "status": "pending"} for i in ids]}
    answer = http.post("/console/api/decide", json=body)
    with decisions.lock:
        decisions.answered.append(time.monotonic() - sent)
    if answer.status_code not in (200, 409):
        with decisions.lock:
            decisions.errors.append(f"{action}: {answer.status_code} {answer.text[:200]}")
        return
    with decisions.lock:
        for result in answer.json()["results"]:
            if not result["ok"]:
                decisions.conflicts += 1
            elif action == "approve":
                decisions.approved[result["id"]] = sent
            else:
                decisions.rejected.add(result["id"])


def post_steadily(
    livewall: Livewall, rate: float, seconds: float, answers: list[dict[str, Any]]
) -> float:
    """`rate` webhook posts a second, on a schedule (a slow answer does not hold back the next
    post: several are in flight, as from several tools); the rate achieved."""
    start = time.monotonic()
    with httpx.Client(timeout=120) as http, ThreadPoolExecutor(POSTERS) as pool:
        sent = []
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent.append(pool.submit(livewall.post, http, _body(n)))
        answers += [future.result() for future in sent]
    return len(answers) / (time.monotonic() - start)


def _body(n: int) -> dict[str, Any]:
    return {
        "id": f"soak-{n}",
        "author": {"handle": f"@membre{n}", "name": f"Membre {n}"},
        "text": post_text(n),
        "language": "fr" if n % 3 else "en",
        "created_at": datetime.now(UTC).isoformat(),
    }


@contextmanager
def sampling(livewall: Livewall, samples: list[tuple[float, float]]) -> Iterator[None]:
    """The server's RSS every SAMPLE_SECONDS, printed as it goes."""
    stop = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while True:
            rss = livewall.rss
            samples.append((time.monotonic() - start, rss))
            print(f"    {samples[-1][0]:5.0f} s  server RSS {rss:6.1f} MiB", flush=True)
            if stop.wait(SAMPLE_SECONDS):
                return

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def tokens(url: str) -> list[str]:
    store = Store(url)
    store.migrate()
    made = [create_token(store, name, "moderator", actor="soak") for name in MODERATORS]
    store.dispose()
    return made


def soak(url: str, folder: Path, screens: int, rate: float, minutes: float) -> list[str]:
    secrets = tokens(url)
    livewall, clients = Livewall(folder, url, mode="pre"), Clients()
    decisions, answers, samples = Decisions(), [], []  # type: ignore[var-annotated]
    stop = threading.Event()
    moderators = [
        threading.Thread(target=moderate, args=(livewall.base, token, turn, decisions, stop))
        for turn, token in enumerate(secrets)
    ]
    try:
        opened = clients.connect("soak", livewall.events, screens)
        print(f"  {opened} of {screens} screens open; posting {rate:g}/s for {minutes:g} min")
        for thread in moderators:
            thread.start()
        with sampling(livewall, samples):
            achieved = post_steadily(livewall, rate, minutes * 60, answers)
            print(f"  posting done: {achieved:.1f} posts/s achieved", flush=True)
            drain(decisions, len(answers))
        stop.set()
        for thread in moderators:
            thread.join()
        wait_delivered(clients, set(decisions.approved))
        figures = clients.stop()["soak"]
    finally:
        stop.set()
        clients.kill()
        livewall.stop()
    return report(figures, decisions, answers, samples, opened)


def drain(decisions: Decisions, posted: int, timeout: float = 300) -> None:
    """Until every post has been decided."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with decisions.lock:
            if len(decisions.approved) + len(decisions.rejected) >= posted:
                return
        time.sleep(0.5)


def wait_delivered(clients: Clients, approved: set[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for post in sorted(approved):
        if not clients.wait_done("soak", post, max(deadline - time.monotonic(), 0.01)):
            return


def report(
    figures: dict[str, Any],
    decisions: Decisions,
    answers: list[dict[str, Any]],
    samples: list[tuple[float, float]],
    opened: int,
) -> list[str]:
    arrivals = {int(post): times for post, times in figures["arrivals"].items()}
    short = [p for p in decisions.approved if len(arrivals.get(p, [])) < opened]
    shown_rejected = [p for p in decisions.rejected if p in arrivals]
    latencies = sorted(
        (at - sent) * 1000
        for post, sent in decisions.approved.items()
        for at in arrivals.get(post, [])
    )
    rss = [mib for _, mib in samples]
    lines = [
        f"  posted {len(answers)} ({sum(a['status'] == 'pending' for a in answers)} held), "
        f"approved {len(decisions.approved)}, rejected {len(decisions.rejected)}, "
        f"conflicts {decisions.conflicts}, errors {len(decisions.errors)}",
        f"  delivery to {opened} screens: {len(decisions.approved) - len(short)} of "
        f"{len(decisions.approved)} approved posts reached every screen; "
        f"{len(shown_rejected)} rejected posts shown; duplicates {figures['duplicates']}, "
        f"out of order {figures['disorder']}, streams reopened {figures['reopened']}",
    ]
    if latencies:
        p99 = latencies[min(int(len(latencies) * 0.99), len(latencies) - 1)]
        lines.append(
            f"  decision → screen: median {statistics.median(latencies):.0f} ms, "
            f"p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms"
        )
    if decisions.answered:
        took = sorted(decisions.answered)
        lines.append(
            f"  decide requests ({DECIDE_AT_ONCE} posts at most): median "
            f"{statistics.median(took) * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms"
        )
    if rss:
        lines.append(
            f"  server RSS: first sample {rss[0]:.0f} MiB, last {rss[-1]:.0f} MiB, "
            f"min {min(rss):.0f}, max {max(rss):.0f}"
        )
    verdict = not short and not shown_rejected and not figures["duplicates"]
    lines.append(f"  exactly once: {'yes' if verdict and not figures['disorder'] else 'NO'}")
    lines += [f"  ! {error}" for error in decisions.errors[:5]]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="webhook posts a second")
    parser.add_argument("--postgresql", action="store_true", help="PostgreSQL, not SQLite")
    args = parser.parse_args(argv)
    raise_file_limit()
    print(f"soak: {args.screens} screens, {args.rate:g} posts/s, two moderators")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if not args.postgresql:
            lines = soak(
                f"sqlite:///{folder / 'soak.db'}", folder, args.screens, args.rate, args.minutes
            )
        else:
            server = postgres_url(os.environ)
            if server is None:
                raise SystemExit("--postgresql: set LIVEWALL_BENCH_DATABASE_URL")
            with throwaway_database(server) as url:
                lines = soak(url, folder, args.screens, args.rate, args.minutes)
    for line in lines:
        print(line, flush=True)
