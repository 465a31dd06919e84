"""Child process for the crash tests, which the parent kills with SIGKILL in the middle.

`crash_child.py URL` ingests a large source page by page until done: each page is stored
together with the cursor that follows it, exactly as a collector's result is.
`crash_child.py harvest CONFIG` runs the configuration's one source again and again, as the
worker would, until it owes nothing more (no look-back under way, no run cut at its bound).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Source
from aggregator.moderation.rules import Rules
from aggregator.settings import load_settings
from aggregator.store import Store
from collectors.base import CollectResult, SourceState
from tests.builders import candidate, source

TOTAL = 1200
PAGE = 50


def page(start: int) -> CollectResult:
    posts = [
        candidate(f"p{n:05d}", f"Message {n} des Assises, salle {n % 7}")
        for n in range(start, min(start + PAGE, TOTAL))
    ]
    return CollectResult(posts=posts, state=SourceState(cursor=str(start + len(posts))))


def main(url: str) -> None:
    store = Store(url)
    pipeline = Pipeline(store, Rules(mode="post"), ("fr",))
    with store.read() as session:
        state = session.get(Source, "demo")
    cursor = int(state.cursor) if state and state.cursor else 0
    while cursor < TOTAL:
        pipeline.ingest(source(), page(cursor))
        cursor = min(cursor + PAGE, TOTAL)
        print(cursor, flush=True)


async def harvest(config: str) -> None:
    app = Livewall(load_settings(config), env={})
    [options] = app.settings.sources
    try:
        while True:
            report = await app.harvest.run_source(options.name)
            print(report.new, flush=True)
            source = app.harvest.load(options)
            if "older_than" not in source.extra and source.last_error is None:
                return
    finally:
        await app.aclose()
        app.store.dispose()


if __name__ == "__main__":
    if sys.argv[1] == "harvest":
        asyncio.run(harvest(sys.argv[2]))
    else:
        main(sys.argv[1])
