"""Child process for the crash test: ingests a large source page by page until done.

Each page is stored together with the cursor that follows it, exactly as a collector's
result is; the parent kills this process with SIGKILL somewhere in the middle.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aggregator.ingest import Pipeline
from aggregator.models import Source
from aggregator.rules import Rules
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


if __name__ == "__main__":
    main(sys.argv[1])
