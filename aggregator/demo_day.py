"""The demo's previous day: at start, bundled posts dated yesterday are stored and that day's
digest is published, so a newcomer running `make run` reads a digest in the first minute
instead of waiting for the evening's (`previous_day` on a demo source; none by default)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from aggregator.digest.runs import DigestRuns, RunReport
from aggregator.ingest import Pipeline
from collectors import demo
from collectors.base import CollectResult, SourceOptions, SourceState


def seed_previous_day(
    pipeline: Pipeline, sources: Sequence[SourceOptions], runs: DigestRuns
) -> RunReport | None:
    """Store the demo sources' posts of yesterday and publish its digest, once: a day whose
    digest is published already (an earlier start, or the real evening run) is left alone."""
    seeding = [s for s in sources if isinstance(s, demo.Options) and s.previous_day]
    day = runs.today() - timedelta(days=1)
    if not seeding or runs.record(day) is not None:
        return None
    for options in seeding:
        posts = demo.previous_day_posts(options, day, runs.zone)
        # The demo's cursor is today's flow: yesterday's posts must not move it.
        pipeline.ingest(options, CollectResult(posts=posts, state=SourceState()), keep_state=True)
    return runs.publish_day(day)
