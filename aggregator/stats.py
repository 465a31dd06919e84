"""Figures for the console's statistics page: posts per hour per network, top contributors,
time from arrival to decision, screens online. Computed in Python over a bounded window, the
same way on SQLite and PostgreSQL (no dialect-specific date functions)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlmodel import col, select

from aggregator.models import Post, Screen, utcnow
from aggregator.screens import ONLINE_WITHIN
from aggregator.store import Store

# Buckets of the decision-time histogram, in minutes (the last one is open-ended).
DELAY_BUCKETS = (1, 5, 15, 60)


@dataclass(frozen=True)
class Hour:
    start: datetime
    by_network: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_network.values())


@dataclass(frozen=True)
class DecisionTimes:
    count: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DELAY_BUCKETS) + 1))


@dataclass(frozen=True)
class Statistics:
    hours: list[Hour]
    networks: list[str]
    contributors: list[tuple[str, str, int]]
    decisions: DecisionTimes
    screens_online: int
    screens_total: int
    posts_total: int
    pending: int


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def posts_per_hour(posts: list[tuple[datetime, str]], now: datetime, hours: int) -> list[Hour]:
    first = _hour(now) - timedelta(hours=hours - 1)
    counts: dict[datetime, Counter[str]] = defaultdict(Counter)
    for collected, network in posts:
        if collected >= first:
            counts[_hour(collected)][network] += 1
    return [
        Hour(first + timedelta(hours=i), dict(counts.get(first + timedelta(hours=i), {})))
        for i in range(hours)
    ]


def decision_times(delays: list[float]) -> DecisionTimes:
    if not delays:
        return DecisionTimes()
    ordered = sorted(delays)
    buckets = [0] * (len(DELAY_BUCKETS) + 1)
    for seconds in ordered:
        index = next(
            (i for i, m in enumerate(DELAY_BUCKETS) if seconds < m * 60), len(DELAY_BUCKETS)
        )
        buckets[index] += 1
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return DecisionTimes(len(ordered), median(ordered), p90, buckets)


def gather(
    store: Store,
    screen_names: tuple[str, ...],
    hours: int = 24,
    now: datetime | None = None,
    top: int = 10,
) -> Statistics:
    now = now or utcnow()
    since = _hour(now) - timedelta(hours=hours - 1)
    with store.read() as session:
        recent = list(
            session.exec(
                select(Post.collected_at, Post.network).where(col(Post.collected_at) >= since)
            )
        )
        authors = list(
            session.exec(
                select(Post.author_handle, Post.author_name).where(Post.status == "approved")
            )
        )
        decided = list(
            session.exec(
                select(Post.collected_at, Post.decided_at).where(
                    col(Post.decided_at).is_not(None) & (col(Post.collected_at) >= since)
                )
            )
        )
        screens = list(
            session.exec(select(Screen.last_seen).where(col(Screen.name).in_(screen_names)))
        )
        total = session.execute(sa.select(sa.func.count()).select_from(Post)).scalar_one()
        pending = session.execute(
            sa.select(sa.func.count()).select_from(Post).where(col(Post.status) == "pending")
        ).scalar_one()
    names = {handle: name for handle, name in authors}
    contributors = [
        (handle, names[handle], count)
        for handle, count in Counter(h for h, _ in authors).most_common(top)
    ]
    delays = [max((d - c).total_seconds(), 0.0) for c, d in decided if d is not None]
    online = sum(1 for seen in screens if seen is not None and now - seen <= ONLINE_WITHIN)
    per_hour = posts_per_hour(recent, now, hours)
    networks = sorted({n for h in per_hour for n in h.by_network})
    return Statistics(
        per_hour, networks, contributors, decision_times(delays), online, len(screen_names), int(total),
        int(pending),
    )  # fmt: skip
