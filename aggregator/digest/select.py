"""Choosing a day's digest from the store: what members read in five minutes.

Only visible posts (approved, not deleted) of the event's LOCAL day are read, and each is
turned into a `DigestPost` that never carries a content-warned post's hidden text: the
templates cannot show what they are not given.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from aggregator.digest.highlights import highlights
from aggregator.digest.parts import DayPart, day_parts
from aggregator.digest.post import DigestPost, Image
from aggregator.digest.program import ProgramSession
from aggregator.media_urls import MediaUrls, demo_path, shown_image
from aggregator.models import Post
from aggregator.store import Store
from aggregator.timeline import visible

FEATURED_LIMIT = 6
VIDEO_KINDS = ("video", "live")


@dataclass(frozen=True)
class Numbers:
    posts: int
    contributors: int
    networks: tuple[str, ...]
    busiest_hour: int | None
    busiest_count: int


@dataclass(frozen=True)
class DayContent:
    event_name: str
    day: date
    zone: str
    posts: tuple[DigestPost, ...]  # every post of the day, oldest first
    featured: tuple[DigestPost, ...]
    highlights: tuple[DigestPost, ...]  # chosen by highlights.py, after the featured
    videos: tuple[DigestPost, ...]
    numbers: Numbers
    hours: tuple[tuple[int, int], ...]  # (local hour, posts), first to last active hour
    parts: tuple[DayPart, ...] = ()  # the whole day, by session or by hour
    program_error: str | None = None
    languages: tuple[str, ...] = ("fr",)

    @property
    def empty(self) -> bool:
        return not self.posts

    @property
    def by_session(self) -> bool:
        return any(part.session for part in self.parts)

    @property
    def highlights_basis(self) -> str:
        """What chose the highlights, for the heading: engagement, recency, or mixed."""
        engaged = sum(1 for p in self.highlights if p.engagement)
        if engaged == len(self.highlights):
            return "engagement"
        return "recency" if engaged == 0 else "mixed"


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as an aware [start, end) interval; 23 or 25 hours long on DST days."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def media_path(url: str | None, urls: MediaUrls | None = None, size: str = "card") -> str | None:
    """The wall-origin path of an image, or None when the wall cannot serve it itself.

    Remote images go through the wall's media cache, signed like the wall signs them
    (aggregator/media_urls.py): a third-party address would tell every network who opened
    the digest. Without `urls` only the bundled demo images have a path.
    """
    return urls.path(url, size) if urls is not None else demo_path(url)


def _image(post: Post, warned: bool, urls: MediaUrls | None) -> Image | None:
    if warned or post.sensitive:
        return None
    for item in post.media:
        if item.get("sensitive"):
            continue
        path = media_path(shown_image(item), urls)
        if path:
            return Image(path, str(item.get("alt") or ""))
    return None


def to_digest_post(post: Post, zone: ZoneInfo, urls: MediaUrls | None = None) -> DigestPost:
    # Staff's "reveal" is for screens in the room; an email cannot be taken back.
    warned = bool(post.content_warning)
    assert post.id is not None
    return DigestPost(
        id=post.id,
        url=post.url,
        network=post.network,
        kind=post.kind,
        author_name=post.author_name or post.author_handle,
        author_handle=post.author_handle,
        title=None if warned else post.title,
        text="" if warned else post.text,
        html="" if warned else post.html,
        warning=post.content_warning,
        image=_image(post, warned, urls),
        avatar=media_path(post.author_avatar, urls, "avatar"),
        posted_at=post.created_at.astimezone(zone),
        likes=post.likes,
        shares=post.shares,
        replies=post.replies,
        featured=post.featured,
        official=post.official,
        live_state=post.live_state,
        engagement=post.likes + 2 * post.shares + post.replies,
    )


def day_posts(store: Store, day: date, zone: ZoneInfo) -> list[Post]:
    """Visible posts created during the event's local day, oldest first."""
    start, end = day_window(day, zone)
    query = (
        visible(select(Post))
        .where(col(Post.created_at) >= start, col(Post.created_at) < end)
        .where(col(Post.duplicate_of).is_(None))
        .order_by(col(Post.created_at), col(Post.id))
    )
    with store.read() as session:
        return list(session.exec(query))


def with_scores(posts: Sequence[DigestPost]) -> list[DigestPost]:
    """Engagement divided by the network's average that day: 40 likes on a small network can
    weigh as much as 400 on a large one."""
    by_network: dict[str, list[int]] = defaultdict(list)
    for post in posts:
        by_network[post.network].append(post.engagement)
    averages = {network: fmean(values) for network, values in by_network.items()}
    return [
        replace(post, score=post.engagement / averages[post.network])
        if averages[post.network]
        else post
        for post in posts
    ]


def hourly(posts: Sequence[DigestPost]) -> tuple[tuple[int, int], ...]:
    counts = Counter(p.posted_at.hour for p in posts)
    if not counts:
        return ()
    return tuple((hour, counts[hour]) for hour in range(min(counts), max(counts) + 1))


def numbers(posts: Sequence[DigestPost]) -> Numbers:
    hours = hourly(posts)
    busiest = max(hours, key=lambda pair: (pair[1], -pair[0])) if hours else None
    return Numbers(
        posts=len(posts),
        contributors=len({p.author_handle for p in posts}),
        networks=tuple(sorted({p.network for p in posts})),
        busiest_hour=busiest[0] if busiest else None,
        busiest_count=busiest[1] if busiest else 0,
    )


def choose(
    event_name: str,
    day: date,
    zone: ZoneInfo,
    posts: Sequence[Post],
    sessions: Sequence[ProgramSession] = (),
    languages: tuple[str, ...] = ("fr",),
    program_error: str | None = None,
    urls: MediaUrls | None = None,
) -> DayContent:
    """The day's digest from its visible posts: pure, so every edition shares the same data."""
    items = with_scores([to_digest_post(p, zone, urls) for p in posts])
    featured = [p for p in items if p.featured][:FEATURED_LIMIT]
    videos = [p for p in items if p.official and p.kind in VIDEO_KINDS]
    video_ids = {p.id for p in videos}
    chosen = highlights((p for p in items if p.id not in video_ids), shown=featured)
    return DayContent(
        event_name=event_name,
        day=day,
        zone=str(zone),
        posts=tuple(items),
        featured=tuple(featured),
        highlights=tuple(chosen),
        videos=tuple(videos),
        numbers=numbers(items),
        hours=hourly(items),
        parts=day_parts(items, sessions, day, zone),
        program_error=program_error,
        languages=languages,
    )
