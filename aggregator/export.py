"""Posts and statistics for the event's report: every post whatever its status (moderation never
deletes), read in short batches so that an export of the whole event never sits in memory and
never holds a database transaction open while a slow client downloads it.

CSV is opened in spreadsheets: a cell starting with = + - @ (or a tab or carriage return) would
be run there as a formula, so it is written with a leading apostrophe (OWASP, "CSV Injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from typing import Any, TextIO

from sqlmodel import col, select

from aggregator.models import Post
from aggregator.moderation.queue import QueueFilter
from aggregator.store import Store

EXPORT_FIELDS = (
    "id", "source", "external_id", "network", "kind", "url", "author", "author_name",
    "author_url", "text", "html", "language", "created_at", "collected_at", "status",
    "status_reason", "pinned", "featured", "official", "content_warning", "sensitive",
    "likes", "shares", "replies", "media", "edited_at", "deleted",
)  # fmt: skip
STATS_FIELDS = ("hour", "source", "network", "status", "posts")
BATCH = 200  # posts per read: an export costs the memory of one batch
EVERYTHING = QueueFilter(status="all")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_row(post: Post) -> dict[str, Any]:
    row = post.model_dump()
    row["author"] = post.author_handle
    row["created_at"] = post.created_at.isoformat()
    row["collected_at"] = post.collected_at.isoformat()
    row["edited_at"] = post.edited_at.isoformat() if post.edited_at else None
    return {name: row.get(name) for name in EXPORT_FIELDS}


def export_batch(
    store: Store, wanted: QueueFilter, after_id: int = 0, size: int = BATCH
) -> list[dict[str, Any]]:
    """The next `size` posts of the filter past `after_id`, in id order: one short read."""
    query = wanted.select().where(col(Post.id) > after_id).order_by(col(Post.id)).limit(size)
    with store.read() as session:
        return [export_row(post) for post in session.exec(query)]


def export_batches(
    store: Store, wanted: QueueFilter = EVERYTHING, size: int = BATCH
) -> Iterator[list[dict[str, Any]]]:
    """The filter's posts batch after batch (keyset paging: each batch starts past the last
    id seen, so posts arriving meanwhile are reached and none is read twice)."""
    after = 0
    while rows := export_batch(store, wanted, after, size):
        yield rows
        after = rows[-1]["id"]


def export_rows(store: Store, wanted: QueueFilter = EVERYTHING) -> Iterator[dict[str, Any]]:
    for rows in export_batches(store, wanted):
        yield from rows


# Formats


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text, never runs: formulas get a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def csv_posts(rows: Iterable[dict[str, Any]]) -> str:
    return csv_lines([_csv_value(row[name]) for name in EXPORT_FIELDS] for row in rows)


def _csv_value(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def jsonl_posts(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_export(store: Store, fmt: str, out: TextIO) -> int:
    count = 0
    if fmt == "csv":
        out.write(csv_lines([EXPORT_FIELDS]))
    for rows in export_batches(store):
        out.write(csv_posts(rows) if fmt == "csv" else jsonl_posts(rows))
        count += len(rows)
    return count


# Statistics


def hourly_counts(
    store: Store, zone: tzinfo, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[str, str, str, str, int]]:
    """Posts per hour of arrival (the statistics page's hours, in the event's time zone), per
    source, network and status: one row per combination that has posts, oldest hour first."""
    query = select(Post.collected_at, Post.source, Post.network, Post.status)
    if since is not None:
        query = query.where(col(Post.collected_at) >= since)
    if until is not None:
        query = query.where(col(Post.collected_at) < until)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    # Rows are counted as they come: the whole event's posts are never held at once.
    query = query.execution_options(yield_per=2000)
    with store.read() as session:
        for collected, source, network, status in session.exec(query):
            hour = collected.astimezone(zone).replace(minute=0, second=0, microsecond=0)
            counts[(hour.isoformat(), source, network, status)] += 1
    return [(*key, count) for key, count in sorted(counts.items())]
