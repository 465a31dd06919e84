"""Screens at the limit: webhook post → event on every one of 1,000 open screens, beside a bare
SSE broadcast measured in the same run with the same clients.

Three processes: the server under measure (`livewall run` on a fresh store, or the bare
broadcast of bench/broadcast.py), the screens (bench/clients.py, a thousand streams), and
this one, which posts and reads the clock (CLOCK_MONOTONIC, shared by the processes). Posts
alternate between livewall and the bare broadcast, each sent once the previous one reached
every screen, so a busy moment of the machine weighs on both sides alike. The first
livewall post is the first after its start: nothing warms it but livewall's own start.

`python -m bench fanout [--full] [--screens N] [--posts N]`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import stream_memory
from bench.servers import (
    Bare,
    Clients,
    Livewall,
    postgres_url,
    raise_file_limit,
    throwaway_database,
)

SCREENS = 1000
POSTS, FULL_POSTS = 8, 30
PAUSE = 0.3  # seconds between a post reaching every screen and the next one
# Words a post is drawn from: every post a different text, so no rule takes them for a flood.
WORDS = {
    "fr": [
        "assises",
        "municipalités",
        "mairesse",
        "logement",
        "abordable",
        "mobilité",
        "durable",
        "atelier",
        "salle",
        "comble",
        "questions",
        "conférence",
        "plénière",
        "élus",
        "citoyens",
        "transport",
        "collectif",
        "budget",
        "régional",
        "eau",
        "potable",
        "infrastructures",
        "climat",
        "adaptation",
        "forêt",
        "agriculture",
        "culture",
        "bibliothèque",
        "parc",
        "aréna",
        "ruralité",
        "ministre",
        "annonce",
        "entente",
        "financement",
    ],
    "en": [
        "great",
        "panel",
        "municipal",
        "climate",
        "adaptation",
        "morning",
        "thanks",
        "everyone",
        "housing",
        "transit",
        "mayors",
        "council",
        "budget",
        "water",
        "roads",
        "bridges",
        "library",
        "festival",
        "volunteers",
        "keynote",
        "speaker",
        "workshop",
        "funding",
        "announcement",
        "minister",
        "region",
        "rural",
        "downtown",
    ],
}


@dataclass
class Post:
    number: int
    key: int  # the post id its card carries
    sent: float


@dataclass
class Figures:
    """One post's arrival on every screen, in ms after it was sent."""

    p50: float
    p99: float
    worst: float
    screens: int

    @classmethod
    def of(cls, post: Post, arrivals: list[float]) -> Figures:
        ms = sorted((at - post.sent) * 1000 for at in arrivals)
        if not ms:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        p99 = ms[min(int(len(ms) * 0.99), len(ms) - 1)]
        return cls(statistics.median(ms), p99, ms[-1], len(ms))

    def cells(self) -> str:
        return f"{self.p50:6.0f} {self.p99:6.0f} {self.worst:6.0f}"


def post_text(n: int) -> str:
    words = WORDS["fr" if n % 3 else "en"]
    return " ".join(random.Random(n).sample(words, 14)).capitalize() + "."


def webhook_body(n: int) -> dict[str, Any]:
    """A post as another tool pushes it: no language, so livewall detects it."""
    return {
        "id": f"bench-{n}",
        "author": {"handle": f"@membre{n}", "name": f"Membre {n}"},
        "text": post_text(n),
        "url": f"https://example.org/{n}",
        "created_at": datetime.now(UTC).isoformat(),
    }


def bare_card(n: int, size: int) -> str:
    """A card of the size livewall sends, carrying the id the clients look for."""
    head = f'<article class="post" id="post-{n}">'
    return head + ("\n" + "x" * 79) * max((size - len(head)) // 80, 0) + "\n</article>"


@dataclass
class Round:
    """One backend: livewall and the bare broadcast side by side."""

    label: str
    livewall: list[Figures]
    bare: list[Figures]
    livewall_rss: tuple[float, float]  # MiB before the screens connected, and with them
    bare_rss: tuple[float, float]
    livewall_cpu: float  # ms of the server's CPU per post
    bare_cpu: float
    screens: int
    failures: list[str]

    def report(self) -> list[str]:
        lines = [
            f"  {self.label}: {self.screens} screens, webhook post → event on every screen (ms)",
            "    post   livewall p50    p99    max |   bare p50    p99    max | p99 ratio",
        ]
        for n, (mine, limit) in enumerate(zip(self.livewall, self.bare, strict=True), 1):
            first = " (first after start)" if n == 1 else ""
            lines.append(
                f"    {n:>4}            {mine.cells()} |        {limit.cells()} | "
                f"{mine.p99 / limit.p99:5.2f}{first}"
            )
        worst_mine = max(f.p99 for f in self.livewall)
        worst_bare = max(f.p99 for f in self.bare)
        lines.append(
            f"    worst p99: livewall {worst_mine:.0f} ms, bare {worst_bare:.0f} ms, "
            f"ratio {worst_mine / worst_bare:.2f} (target ≤ 2); "
            f"first post p99 {self.livewall[0].p99:.0f} ms"
        )
        lines.append(
            f"    server RSS with {self.screens} screens: livewall {self.livewall_rss[1]:.0f} MiB "
            f"({self.livewall_rss[0]:.0f} before they connected), bare {self.bare_rss[1]:.0f} MiB "
            f"({self.bare_rss[0]:.0f}) (target ≤ 200 MiB)"
        )
        lines.append(
            f"    server CPU per post: livewall {self.livewall_cpu:.0f} ms, "
            f"bare {self.bare_cpu:.0f} ms"
        )
        lines += [f"    ! {failure}" for failure in self.failures]
        return lines


def run_round(label: str, url: str, folder: Path, screens: int, posts: int) -> Round:
    bare, livewall, clients = Bare(), Livewall(folder, url), Clients()
    failures: list[str] = []
    idle = (livewall.rss, bare.rss)
    try:
        opened = clients.connect("bare", bare.events, screens)
        opened_lw = clients.connect("livewall", livewall.events, screens)
        if opened < screens or opened_lw < screens:
            failures.append(f"streams opened: bare {opened}, livewall {opened_lw} of {screens}")
        time.sleep(1)
        sent_lw, sent_bare, rss_lw, rss_bare = [], [], 0.0, 0.0
        cpu = (livewall.cpu, bare.cpu)
        card_size = 850  # a post card as livewall renders it, about 810 characters
        with httpx.Client(timeout=30) as http:
            for n in range(1, posts + 1):
                # livewall first: its first post is the first after its start.
                post = Post(n, 0, time.monotonic())
                answer = livewall.post(http, webhook_body(n))
                post.key = answer["id"]
                sent_lw.append(post)
                if answer["status"] != "approved":
                    failures.append(f"livewall post {n} was not approved: {answer}")
                if not clients.wait_done("livewall", post.key):
                    failures.append(f"livewall post {n} did not reach every screen in 20 s")
                time.sleep(PAUSE)
                post = Post(n, n, time.monotonic())
                bare.post(http, n, bare_card(n, card_size))
                sent_bare.append(post)
                if not clients.wait_done("bare", n):
                    failures.append(f"bare post {n} did not reach every screen in 20 s")
                rss_lw, rss_bare = max(rss_lw, livewall.rss), max(rss_bare, bare.rss)
                time.sleep(PAUSE)
        cpu = (livewall.cpu - cpu[0], bare.cpu - cpu[1])
        figures = clients.stop()
    finally:
        clients.kill()
        bare.stop()
        livewall.stop()
    return Round(
        label,
        [Figures.of(p, figures["livewall"]["arrivals"].get(str(p.key), [])) for p in sent_lw],
        [Figures.of(p, figures["bare"]["arrivals"].get(str(p.key), [])) for p in sent_bare],
        (idle[0], rss_lw),
        (idle[1], rss_bare),
        cpu[0] * 1000 / posts,
        cpu[1] * 1000 / posts,
        screens,
        failures + _stream_problems(figures),
    )


def _stream_problems(figures: dict[str, Any]) -> list[str]:
    problems = []
    for group, found in figures.items():
        for what in ("failed", "duplicates", "disorder", "reopened", "refused"):
            if found[what]:
                problems.append(f"{group}: {found[what]} {what}")
    return problems


def memory_without_detector(folder: Path, screens: int) -> str:
    """livewall's RSS with the language detector never loaded (a one-language event)."""
    clients = Clients()
    url = f"sqlite:///{folder / 'one-language.db'}"
    livewall = Livewall(folder, url, languages=("fr",))
    try:
        clients.connect("livewall", livewall.events, screens)
        with httpx.Client(timeout=30) as http:
            for n in range(1, 4):
                clients.wait_done("livewall", livewall.post(http, webhook_body(n))["id"])
        rss = livewall.rss
        clients.stop()
    finally:
        clients.kill()
        livewall.stop()
    return f"  without the language detector (one-language event): livewall {rss:.0f} MiB RSS"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench fanout", description=__doc__)
    parser.add_argument("--full", action="store_true", help=f"{FULL_POSTS} posts per backend")
    parser.add_argument("--screens", type=int, default=SCREENS)
    parser.add_argument("--posts", type=int, default=None)
    args = parser.parse_args(argv)
    posts = args.posts or (FULL_POSTS if args.full else POSTS)
    raise_file_limit()
    print("screens: webhook post → event on every open screen, livewall beside a bare broadcast")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sqlite = f"sqlite:///{folder / 'fanout.db'}"
        for line in run_round("SQLite", sqlite, folder, args.screens, posts).report():
            print(line, flush=True)
        server = postgres_url(os.environ)
        if server is None:
            print("  PostgreSQL: skipped (set LIVEWALL_BENCH_DATABASE_URL)")
        else:
            with throwaway_database(server) as url:
                for line in run_round("PostgreSQL", url, folder, args.screens, posts).report():
                    print(line, flush=True)
        if args.full:
            print(memory_without_detector(folder, args.screens), flush=True)
            for line in stream_memory.measure(folder, args.screens):
                print(line, flush=True)
