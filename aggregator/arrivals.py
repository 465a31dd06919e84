"""Posts pushed to livewall one at a time (webhooks): those that arrive together are stored
together.

Each webhook request waits until its post is stored, and each transaction costs about fifteen
round trips to the store and a commit whatever it holds. One transaction per post made a busy
minute on PostgreSQL queue up behind those round trips. Here the posts wait in a queue on the
event loop; one writer at a time takes every post waiting, its own and those that arrived while
the previous batch was written, and stores them in one transaction per source (group commit).
With one request at a time a batch is one post, as before; the busier the minute, the larger
the batches and the cheaper each post. Waiting costs no thread: only the batch being written
holds one, so a burst of webhooks leaves the worker threads to the screens and the console.
"""

from __future__ import annotations

import asyncio

import anyio

from aggregator.ingest import Pipeline, PostOutcome
from collectors.base import Candidate, CollectResult, SourceOptions

Waiting = tuple[SourceOptions, Candidate, "asyncio.Future[PostOutcome]"]
Stored = PostOutcome | Exception


class Arrivals:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._queue: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._writing = 0

    @property
    def waiting(self) -> int:
        """Posts received and not yet being stored."""
        return len(self._queue)

    @property
    def writing(self) -> int:
        """Posts of the batch being stored now."""
        return self._writing

    async def store(self, options: SourceOptions, candidate: Candidate) -> PostOutcome:
        """Store one post with those arriving at the same time; what became of it. Raises what
        storing its batch raised (a busy store, for one), for each post of that batch."""
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[PostOutcome] = loop.create_future()
        self._queue.append((options, candidate, stored))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write(), name="livewall-arrivals")
        # A sender that hangs up cancels its wait, not its post: the batch holds it.
        return await stored

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            self._writing = len(batch)
            try:
                results = await anyio.to_thread.run_sync(self._store_batch, batch)
            except BaseException as exc:  # never leave a sender waiting for nobody
                results = [RuntimeError(f"the batch was interrupted: {exc!r}")] * len(batch)
                _settle(batch, results)
                raise
            finally:
                self._writing = 0
            _settle(batch, results)

    def _store_batch(self, batch: list[Waiting]) -> list[Stored]:
        """Each post's outcome, or the error its source's transaction raised (blocking)."""
        by_source: dict[str, list[int]] = {}
        for index, (options, _, _) in enumerate(batch):
            by_source.setdefault(options.name, []).append(index)
        results: list[Stored] = [RuntimeError("not stored")] * len(batch)
        for indexes in by_source.values():
            options = batch[indexes[0]][0]
            posts = CollectResult(posts=[batch[index][1] for index in indexes])
            try:
                report = self.pipeline.ingest(options, posts, keep_state=True)
            except Exception as exc:  # that source's posts stored nothing: each sender is told
                for index in indexes:
                    results[index] = exc
                continue
            # The report lists an outcome per candidate, in the candidates' order.
            for index, outcome in zip(indexes, report.posts, strict=True):
                results[index] = outcome
        return results


def _settle(batch: list[Waiting], results: list[Stored]) -> None:
    for (_, _, stored), result in zip(batch, results, strict=True):
        if stored.done():  # cancelled with the server's shutdown
            continue
        if isinstance(result, Exception):
            stored.set_exception(result)
        else:
            stored.set_result(result)
