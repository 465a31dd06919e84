"""What livewall counts for Prometheus: one registry per application object.

The counters and histograms count the work of this process (ingest, screen streams, decisions,
digest runs). What the sources' stored state says (errors in a row, last success) is read from
the store at each scrape, so a web process reports the worker's sources too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from aggregator.sources import SourceHealth

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A decision is a short write and a notification: milliseconds, a second when the store waits.
DECISION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
INGEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The series of one Livewall, in a registry of its own (no global state to reset)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.posts_ingested = Counter(
            "livewall_posts_ingested",
            "Posts ingested by this process, by source, outcome (new, updated, unchanged, "
            "joined, removed) and resulting status",
            ["source", "outcome", "status"],
            registry=r,
        )
        self.source_errors = Counter(
            "livewall_source_errors",
            "Failed runs of a source in this process, by error kind",
            ["source", "kind"],
            registry=r,
        )
        self.ingest_seconds = Histogram(
            "livewall_ingest_duration_seconds",
            "Time to store one batch of a source's posts (one transaction)",
            ["source"],
            buckets=INGEST_BUCKETS,
            registry=r,
        )
        self.streams_open = Gauge(
            "livewall_screen_streams_open", "Screens' event streams open now", registry=r
        )
        self.events_sent = Counter(
            "livewall_screen_events_sent",
            "Events sent to screens, by event name (post, remove, ping…)",
            ["event"],
            registry=r,
        )
        self.decision_seconds = Histogram(
            "livewall_decision_publish_duration_seconds",
            "From a moderator's decision arriving to its change committed and published",
            ["action"],
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self.digest_runs = Counter(
            "livewall_digest_runs",
            "Digest runs by result (nothing, published, sent, failed, interrupted…)",
            ["result"],
            registry=r,
        )

    def watch_sources(self, health: Callable[[], list[SourceHealth]]) -> None:
        """Report each source's stored state, read from the store at each scrape."""
        self.registry.register(SourceStates(health))

    @contextmanager
    def timed(self, histogram: Histogram, **labels: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            histogram.labels(**labels).observe(time.perf_counter() - started)

    def exposition(self) -> bytes:
        """Every series in Prometheus' text format."""
        return generate_latest(self.registry)


class SourceStates(Collector):
    """Gauges read from the sources' stored state: the same truth as `livewall sources`."""

    def __init__(self, health: Callable[[], list[SourceHealth]]) -> None:
        self.health = health

    def describe(self) -> Iterable[Metric]:
        return []  # read at collect time only: registering must not query the store

    def collect(self) -> Iterable[Metric]:
        failing = GaugeMetricFamily(
            "livewall_source_consecutive_errors",
            "Failed runs in a row of each source (0 while its runs succeed)",
            labels=["source", "type"],
        )
        success = GaugeMetricFamily(
            "livewall_source_last_success_timestamp_seconds",
            "When each source last ran without error (Unix time; absent: never)",
            labels=["source", "type"],
        )
        for source in self.health():
            failing.add_metric([source.name, source.type], source.failures)
            if source.last_success is not None:
                success.add_metric([source.name, source.type], source.last_success.timestamp())
        return [failing, success]
