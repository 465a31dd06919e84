"""Ingest throughput: posts per second through sanitize → dedupe → language → rules → store."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aggregator.ingest import Pipeline
from aggregator.moderation.rules import BlockedWords, Rules
from aggregator.store import Store
from collectors.base import Author, Candidate, CollectResult, SourceState
from collectors.demo import Options, bundled_posts

BATCHES, PER_BATCH = 20, 100


def candidates(start: int) -> list[Candidate]:
    posts = bundled_posts()
    out = []
    for n in range(start, start + PER_BATCH):
        item = posts[n % len(posts)]
        out.append(Candidate(
            external_id=f"bench-{n}",
            url=None,
            author=Author(handle=f"{item['author']['handle']}-{n}", name=item["author"]["name"]),
            created_at=datetime.now(UTC),
            text=item.get("text", ""),
            html=item.get("html"),
            language=item.get("language"),
        ))  # fmt: skip
    return out


def run(url: str) -> str:
    store = Store(url)
    store.migrate()
    rules = Rules(mode="post", blocked=BlockedWords({"fr": ("niaiseux", "casino en ligne")}))
    pipeline = Pipeline(store, rules, ("fr", "en"))
    options = Options(name=f"bench-{time.time_ns()}")
    started = time.perf_counter()
    for batch in range(BATCHES):
        posts = candidates(batch * PER_BATCH)
        pipeline.ingest(options, CollectResult(posts=posts, state=SourceState(cursor=str(batch))))
    elapsed = time.perf_counter() - started
    store.dispose()
    total = BATCHES * PER_BATCH
    return f"{total} posts in {elapsed:.2f} s = {total / elapsed:,.0f} posts/s ({elapsed / BATCHES * 1000:.0f} ms per batch of {PER_BATCH})"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        print(f"ingest, SQLite file:  {run(f'sqlite:///{path}')}")
    pg = os.environ.get("LIVEWALL_TEST_DATABASE_URL")
    if pg:
        print(f"ingest, PostgreSQL:   {run(pg)}")
