"""Every post, whatever its status: moderation never deletes, and export shows it all."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from sqlmodel import col, select

from aggregator.models import Post
from aggregator.store import Store

EXPORT_FIELDS = (
    "id", "source", "external_id", "network", "kind", "url", "author", "author_name",
    "author_url", "text", "html", "language", "created_at", "collected_at", "status",
    "status_reason", "pinned", "featured", "official", "content_warning", "sensitive",
    "likes", "shares", "replies", "media", "edited_at", "deleted",
)  # fmt: skip


def export_rows(store: Store) -> Iterator[dict[str, Any]]:
    with store.read() as session:
        for post in session.exec(select(Post).order_by(col(Post.id))):
            yield export_row(post)


def export_row(post: Post) -> dict[str, Any]:
    row = post.model_dump()
    row["author"] = post.author_handle
    row["created_at"] = post.created_at.isoformat()
    row["collected_at"] = post.collected_at.isoformat()
    row["edited_at"] = post.edited_at.isoformat() if post.edited_at else None
    return {name: row.get(name) for name in EXPORT_FIELDS}


def write_export(store: Store, fmt: str, out: TextIO) -> int:
    count = 0
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    for row in export_rows(store):
        if writer is not None:
            writer.writerow({**row, "media": json.dumps(row["media"], ensure_ascii=False)})
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count
