"""Ingest throughput, each figure beside its limit measured in the same run.

- the pipeline (sanitize → dedupe → language → rules → store), batches of 100 demo posts;
- end to end, `livewall collect --once` of 8,000 new statuses from a Mastodon served here on
  127.0.0.1 (a process of its own, started, migrated and timed whole);
- the limit: the same rows inserted raw with one `executemany` (SQLAlchemy Core) into the same
  kind of store, in one transaction.

On SQLite (a file) and on PostgreSQL when LIVEWALL_BENCH_DATABASE_URL (or
LIVEWALL_TEST_DATABASE_URL) names one; what the bench writes there is deleted after.
"""

from __future__ import annotations

import bisect
import html
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Json as PgJson
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.draft import ROW
from aggregator.ingest import prepare_all
from aggregator.models import Change, ModerationEntry, Post, Source
from aggregator.settings import load_settings
from aggregator.store import Store
from bench import language
from collectors.base import Author, Candidate, CollectResult, SourceState
from collectors.demo import Options, bundled_posts
from tests.collectors.collector_fakes import FakeServer, Reply, Request
from tests.collectors.test_mastodon import FakeMastodon

BATCHES, PER_BATCH = 40, 100
STATUSES = 8_000
TARGET_POSTS = {"SQLite": 10_000, "PostgreSQL": 5_000}  # posts/s, issue 11
TARGET_RATIO = 0.015  # collect --once beside the raw executemany
POSTS = sa.Table("posts", Post.metadata)
DEMO_CONFIG = Path(__file__).parent.parent / "config" / "default.toml"


@dataclass(frozen=True)
class Figure:
    count: int
    seconds: float
    cpu: float  # this process's CPU seconds (the machine is shared: wall time varies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds


@cache
def _vocabulary() -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    for post in bundled_posts():
        words = str(post.get("text", "")).split()
        by_language.setdefault(post.get("language") or "fr", []).extend(words)
    return by_language


def text_of(n: int) -> tuple[str, dict[str, Any]]:
    """The n-th post: 15 to 45 words drawn from the demo posts of one language (seeded by n),
    as at a busy event where everyone writes their own words; a demo post's author and
    language go with it."""
    posts = bundled_posts()
    item = posts[n % len(posts)]
    pick = random.Random(n)
    words = _vocabulary()[item.get("language") or "fr"]
    return " ".join(pick.choices(words, k=pick.randint(15, 45))), item


def candidates(start: int, prefix: str = "bench") -> list[Candidate]:
    out = []
    for n in range(start, start + PER_BATCH):
        text, item = text_of(n)
        out.append(Candidate(
            external_id=f"{prefix}-{n}",
            url=None,
            author=Author(handle=f"{item['author']['handle']}-{n}",
                          name=f"{item['author']['name']} {n}"),
            created_at=datetime.now(UTC),
            text=text,
            language=item.get("language") if n % 2 else None,  # half detected here
        ))  # fmt: skip
    return out


def timed(work: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def pipeline(store: Store, name: str) -> Figure:
    """The pipeline the application builds: the demo's rules as staff edit them in the console
    (blocked words, post-moderation, the flood rule over the window it keeps)."""
    pipe = Livewall(load_settings(DEMO_CONFIG), store).pipeline
    pipe.warm()
    options = Options(name=name)
    batches = [candidates(b * PER_BATCH, name) for b in range(BATCHES)]

    def run() -> None:
        for number, posts in enumerate(batches):
            state = SourceState(cursor=str(number))
            pipe.ingest(options, CollectResult(posts=posts, state=state))

    return Figure(BATCHES * PER_BATCH, *timed(run))


def raw(store: Store, rows: list[dict[str, Any]]) -> Figure:
    """The same rows, one executemany, one transaction: what the store itself can take."""

    def run() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.insert(POSTS), rows)

    return Figure(len(rows), *timed(run))


def driver(store: Store, rows: list[dict[str, Any]]) -> Figure:
    """The same rows through the driver's own `executemany`, values already as it takes them:
    the floor under any library (the figure issue 11 quotes)."""
    sqlite = store.is_sqlite
    mark = "?" if sqlite else "%s"
    sql = f"INSERT INTO posts ({', '.join(ROW)}) VALUES ({', '.join(mark for _ in ROW)})"
    params = [tuple(_plain(row[name], sqlite) for name in ROW) for row in rows]

    def run() -> None:
        conn = store.engine.raw_connection()
        try:
            cursor = conn.cursor()
            if sqlite:  # the store's connections leave transactions to the caller
                cursor.execute("BEGIN")
            cursor.executemany(sql, params)
            conn.commit()
        finally:
            conn.close()

    return Figure(len(rows), *timed(run))


def _plain(value: Any, sqlite: bool) -> Any:
    if isinstance(value, datetime):
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(" ") if sqlite else naive
    if isinstance(value, dict | list):
        return json.dumps(value) if sqlite else PgJson(value)
    return value


def rows_of(store: Store, source: str, renamed: str) -> list[dict[str, Any]]:
    """The rows a run stored, as they are, under another source name (for the raw insert)."""
    with store.read() as session:
        stored = session.exec(select(Post).where(col(Post.source) == source)).all()
        return [{name: getattr(p, name) for name in ROW} | {"source": renamed} for p in stored]


def prepared_rows(name: str) -> list[dict[str, Any]]:
    options = Options(name=name)
    batches = (candidates(b * PER_BATCH, name) for b in range(BATCHES))
    return [draft.row() for batch in batches for draft in prepare_all(batch, options, ("fr", "en"))]


def forget(store: Store, *sources: str) -> None:
    """Delete what the bench wrote to a lasting store (PostgreSQL)."""
    with store.write() as session:
        ids = select(Post.id).where(col(Post.source).in_(sources))
        session.execute(sa.delete(Change).where(col(Change.post_id).in_(ids)))
        session.execute(sa.delete(ModerationEntry).where(col(ModerationEntry.post_id).in_(ids)))
        session.execute(sa.delete(Post).where(col(Post.source).in_(sources)))
        session.execute(sa.delete(Source).where(col(Source.name).in_(sources)))


# --- end to end: collect --once from a loopback Mastodon ----------------------------------


class LoopbackMastodon(FakeMastodon):
    """The tests' fake Mastodon with its pages cut from a list kept in order: this server
    shares the machine with the collector it serves, so it should cost next to nothing."""

    def timeline(self, request: Request) -> Reply:
        limit = int(request.param("limit") or 20)
        min_id, max_id = request.param("min_id"), request.param("max_id")
        ids = [int(s["id"]) for s in self.statuses]  # appended in order
        if min_id:
            start = bisect.bisect_right(ids, int(min_id))
            page = self.statuses[start : start + limit]
        else:
            end = bisect.bisect_left(ids, int(max_id)) if max_id else len(ids)
            page = self.statuses[max(end - limit, 0) : end]
        page = page[::-1]  # newest first, as Mastodon answers
        return Reply(200, page, {**self.rate, **self.link(request, page)})


def mastodon(server: FakeServer, count: int) -> FakeMastodon:
    """`count` statuses of the last hours, with the demo posts' words and authors."""
    fake = LoopbackMastodon(server)
    fake.morning = datetime.now(UTC) - timedelta(hours=3)
    for n in range(count):
        text, item = text_of(n)
        status = fake.make(n, content=f"<p>{html.escape(text)}</p>", language=item.get("language"))
        status["account"] = {**status["account"], "id": str(n % 500),
                             "username": f"membre{n % 500}", "acct": f"membre{n % 500}",
                             "display_name": f"{item['author']['name']} {n % 500}"}  # fmt: skip
        fake.statuses.append(status)
    return fake


def collect_once(url: str, instance: str, source: str, folder: Path) -> Figure:
    config = folder / f"{source}.toml"
    config.write_text(
        f'[event]\nhashtags = ["AssisesUMQ"]\nlanguages = ["fr", "en"]\n[storage]\nurl = "{url}"\n'
        f'[[sources]]\nname = "{source}"\ntype = "mastodon"\ninstance = "{instance}"\n'
        "limit = 40\nmax_pages = 500\nrecheck_per_run = 0\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "wall.cli", "--config", str(config)]
    subprocess.run([*command, "migrate"], check=True, capture_output=True)

    def run() -> None:
        subprocess.run([*command, "collect", "--once"], check=True, capture_output=True)

    wall, _ = timed(run)
    store = Store(url)
    try:
        with store.read() as session:
            count = session.execute(
                sa.select(sa.func.count()).where(col(Post.source) == source)
            ).scalar_one()
    finally:
        store.dispose()
    return Figure(int(count), wall, float("nan"))


# --- printing ------------------------------------------------------------------------------


def line(engine: str, what: Figure, core: Figure, floor: Figure, unit: str, target: str) -> str:
    cpu = f" (CPU here {what.cpu:.1f} s)" if what.cpu == what.cpu else ""
    return (
        f"  {engine:<10} {what.count:,} {unit} in {what.seconds:.2f} s = {what.rate:,.0f}/s{cpu}; "
        f"{target}\n  {'':<10} raw executemany of the same rows: driver {floor.rate:,.0f} rows/s"
        f" (ratio {what.rate / floor.rate:.4f}), SQLAlchemy Core {core.rate:,.0f} rows/s"
        f" (ratio {what.rate / core.rate:.3f})"
    )


def bench_pipeline(engine: str, url: str) -> str:
    store = Store(url)
    store.migrate()
    stamp = time.time_ns() % 10**9
    name, raw_name = f"bench{stamp}", f"raw{stamp}"
    try:
        figure = pipeline(store, name)
        core = raw(store, prepared_rows(raw_name))
        floor = driver(store, prepared_rows(f"{raw_name}d"))
        target = f"target ≥ {TARGET_POSTS[engine]:,} posts/s"
        return line(engine, figure, core, floor, "posts", target)
    finally:
        if not store.is_sqlite:
            forget(store, name, raw_name, f"{raw_name}d")
        store.dispose()


def bench_collect(engine: str, url: str, folder: Path) -> str:
    server = FakeServer()
    server.start()
    stamp = time.time_ns() % 10**9
    name, raw_name = f"mq{stamp}", f"raw{stamp}"
    store = Store(url)
    try:
        mastodon(server, STATUSES)
        figure = collect_once(url, server.base_url, name, folder)
        core = raw(store, rows_of(store, name, raw_name))
        floor = driver(store, rows_of(store, name, f"{raw_name}d"))
        target = f"target ≥ {TARGET_RATIO} of the driver's rate"
        return line(engine, figure, core, floor, "statuses", target)
    finally:
        server.stop()
        if not store.is_sqlite:
            forget(store, name, raw_name, f"{raw_name}d")
        store.dispose()


def main() -> None:
    pg = os.environ.get("LIVEWALL_BENCH_DATABASE_URL") or os.environ.get(
        "LIVEWALL_TEST_DATABASE_URL"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        print(f"ingest pipeline, {BATCHES} batches of {PER_BATCH} demo posts:")
        print(bench_pipeline("SQLite", f"sqlite:///{folder / 'pipeline.db'}"))
        if pg:
            print(bench_pipeline("PostgreSQL", pg))
        language.main()
        print(f"livewall collect --once, {STATUSES:,} new statuses from a loopback Mastodon:")
        print(bench_collect("SQLite", f"sqlite:///{folder / 'collect.db'}", folder))
        if pg:
            print(bench_collect("PostgreSQL", pg, folder))


if __name__ == "__main__":
    main()
