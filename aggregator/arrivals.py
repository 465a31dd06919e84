"""Posts pushed to livewall one at a time (webhooks): those that arrive together are stored
together.

Each webhook request waits until its post is stored, and each transaction costs about fifteen
round trips to the store and a commit whatever it holds. One transaction per post made a busy
minute on PostgreSQL queue up behind those round trips. Here a request takes the writer's
turn; whoever holds it stores every post waiting by then, its own and those that arrived while
the previous batch was written, in one transaction per source (group commit). With one request
at a time a batch is one post, as before; the busier the minute, the larger the batches and the
cheaper each post.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from aggregator.ingest import Pipeline, PostOutcome
from collectors.base import Candidate, CollectResult, SourceOptions


@dataclass(frozen=True)
class _Waiting:
    options: SourceOptions
    candidate: Candidate
    stored: Future[PostOutcome] = field(default_factory=Future)


class Arrivals:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._queue: list[_Waiting] = []
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()

    @property
    def waiting(self) -> int:
        """Posts received and not yet being stored."""
        with self._queue_lock:
            return len(self._queue)

    def store(self, options: SourceOptions, candidate: Candidate) -> PostOutcome:
        """Store one post with those arriving at the same time (blocking); what became of it.
        Raises what storing its batch raised (a busy store, for one), for each post of it."""
        mine = _Waiting(options, candidate)
        with self._queue_lock:
            self._queue.append(mine)
        with self._turn:
            if not mine.stored.done():  # else the previous turn stored it
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._store_batch(batch)
        return mine.stored.result()

    def _store_batch(self, batch: list[_Waiting]) -> None:
        by_source: dict[str, list[_Waiting]] = {}
        for waiting in batch:
            by_source.setdefault(waiting.options.name, []).append(waiting)
        try:
            for group in by_source.values():
                self._store_group(group)
        finally:  # never leave a request waiting for a result nobody will set
            for waiting in batch:
                if not waiting.stored.done():
                    waiting.stored.set_exception(RuntimeError("the batch was interrupted"))

    def _store_group(self, group: list[_Waiting]) -> None:
        result = CollectResult(posts=[waiting.candidate for waiting in group])
        try:
            report = self.pipeline.ingest(group[0].options, result, keep_state=True)
        except Exception as exc:  # the batch stored nothing: each sender is told, and retries
            for waiting in group:
                waiting.stored.set_exception(exc)
            return
        # The report lists an outcome per candidate, in the candidates' order.
        for waiting, outcome in zip(group, report.posts, strict=True):
            waiting.stored.set_result(outcome)
