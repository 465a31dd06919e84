from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.stats import decision_times, posts_per_hour

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def test_posts_per_hour_per_network_fills_empty_hours() -> None:
    posts = [(NOW - timedelta(minutes=5), "mastodon"), (NOW - timedelta(minutes=50), "bluesky"),
             (NOW - timedelta(hours=2), "mastodon"), (NOW - timedelta(hours=30), "mastodon")]  # fmt: skip
    hours = posts_per_hour(posts, NOW, 4)
    assert [h.start.hour for h in hours] == [12, 13, 14, 15]
    assert [h.by_network for h in hours] == [{}, {"mastodon": 1}, {"bluesky": 1}, {"mastodon": 1}]


def test_decision_times() -> None:
    figures = decision_times([30, 90, 400, 4000])
    assert figures.count == 4 and figures.median_seconds == 245
    assert figures.buckets == [1, 1, 1, 0, 1]
    assert decision_times([]).median_seconds is None
