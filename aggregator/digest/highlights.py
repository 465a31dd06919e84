"""The day's highlights after the posts staff featured: what a member should not miss.

Engagement decides where there is some: likes + 2 x shares + replies, divided by that
network's average that day (select.with_scores), so 40 likes on a small network weigh as much
as 400 on a large one. Many posts carry no counts at all (webhook, feeds, most YouTube
videos) and a quiet day may have none anywhere: those posts come after the engaged ones,
newest first. Either way the choice mixes people and networks: networks take turns (led by
the one whose best post ranks first) and nobody appears twice while someone else could.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aggregator.digest.post import DigestPost

HIGHLIGHT_LIMIT = 5


def rank(post: DigestPost) -> tuple[bool, float, float, int]:
    """Engaged posts by score first, then the posts without engagement, newest first."""
    return (post.engagement == 0, -post.score, -post.posted_at.timestamp(), post.id)


def by_network(posts: Iterable[DigestPost]) -> list[list[DigestPost]]:
    """Each network's posts in rank order; the networks in the order of their best post."""
    queues: dict[str, list[DigestPost]] = {}
    for post in sorted(posts, key=rank):
        queues.setdefault(post.network, []).append(post)
    return list(queues.values())


def highlights(
    posts: Iterable[DigestPost],
    limit: int = HIGHLIGHT_LIMIT,
    shown: Sequence[DigestPost] = (),
) -> list[DigestPost]:
    """Up to `limit` posts, in the order to show them. `shown` (the featured posts) are not
    chosen again, and their authors count as already heard from."""
    taken = {p.id for p in shown}
    queues = by_network(p for p in posts if p.id not in taken)
    chosen: list[DigestPost] = []
    heard = {p.author_handle for p in shown}
    # First only new voices; a second pass lets an author return when nobody else is left.
    for voices in (heard, None):
        while len(chosen) < limit and _one_round(queues, chosen, voices, limit):
            continue
    return chosen


def _one_round(
    queues: list[list[DigestPost]],
    chosen: list[DigestPost],
    heard: set[str] | None,
    limit: int,
) -> bool:
    """Each network in turn gives its best remaining post (by someone not yet heard from,
    unless `heard` is None); False when no network had one to give."""
    gave = False
    for queue in queues:
        post = next((p for p in queue if heard is None or p.author_handle not in heard), None)
        if post is None:
            continue
        queue.remove(post)
        chosen.append(post)
        if heard is not None:
            heard.add(post.author_handle)
        gave = True
        if len(chosen) == limit:
            break
    return gave
