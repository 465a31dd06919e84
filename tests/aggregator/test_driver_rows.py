"""Rows written through the driver read back as the models wrote them; lists as one parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlmodel import col, select

from aggregator.draft import ROW, Draft
from aggregator.driver_rows import DriverRows, listed, where_in
from aggregator.models import Post, UTCDateTime, sqlite_moment
from aggregator.store import Store

POSTS = sa.Table("posts", Post.metadata)


def draft(external_id: str, **fields: object) -> Draft:
    now = datetime(2026, 5, 13, 14, 30, 5, 123456, tzinfo=UTC)
    values: dict[str, object] = {
        "source": "demo",
        "external_id": external_id,
        "network": "mastodon",
        "author_handle": "@élise@m.example",
        "created_at": now,
        "collected_at": now + timedelta(seconds=1),
    }
    return Draft(**(values | fields))  # type: ignore[arg-type]


def test_every_kind_of_value_reads_back_as_the_model_wrote_it(store: Store) -> None:
    """Aware datetimes (microseconds kept), JSON lists and objects, booleans, NULLs and text
    every store accepts, from the driver's executemany to the ORM."""
    sent = [
        draft("a", media=[{"url": "https://x.example/a.jpg", "alt": "« une photo »"}],
              hashtags=["AssisesUMQ"], sensitive=True, official=True, edited_at=None,
              pending_edit={"text": "corrigé"}, text="L'élu a dit « bonjour » 🎉",
              deleted_at=datetime(2026, 5, 13, 15, 0, tzinfo=UTC)),
        draft("b", text="", language=None, likes=3),
        draft("c", media=[], hashtags=[], pending_edit={}),  # empty JSON, converted once
        draft("d", hashtags=["x"], pending_edit={"text": "d"}),
    ]  # fmt: skip
    with store.write() as session:
        DriverRows(session).insert(POSTS, ROW, [post.values() for post in sent])
    with store.read() as session:
        stored = list(session.exec(select(Post).order_by(col(Post.external_id))))
    assert [{name: getattr(post, name) for name in ROW} for post in stored] == [
        post.row() for post in sent
    ]
    assert stored[0].created_at.tzinfo is not None


def test_a_list_of_values_is_one_parameter_whatever_its_length(store: Store) -> None:
    """Forty thousand values: past SQLite's 32,766 bound variables, yet one parameter."""
    with store.write() as session:
        rows = [draft(f"p{n}", text=f"'{n}\"").values() for n in range(0, 40_000, 1_000)]
        DriverRows(session).insert(POSTS, ROW, rows)
    wanted = [f"p{n}" for n in range(40_000)] + ["l'apostrophe", "«»"]
    sent: list[tuple[str, object]] = []

    def record(
        conn: object, cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        sent.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    with store.read() as session:
        dialect = session.get_bind().dialect
        query = where_in(sa.select(POSTS.c.external_id), POSTS.c.external_id, "wanted",
                         sa.String(), dialect)  # fmt: skip
        found = sorted(session.execute(query, {"wanted": listed(wanted, dialect)}).scalars())
    assert found == sorted(f"p{n}" for n in range(0, 40_000, 1_000))
    ((_, parameters),) = [(s, p) for s, p in sent if "FROM posts" in s]
    assert len(parameters) == 1  # type: ignore[arg-type]


def test_sqlite_moments_are_the_text_sqlalchemy_would_store() -> None:
    """The ingest's shortcut for UTCDateTime on SQLite writes what the type itself writes:
    the stored text is compared and sorted as text, so one character off would misorder."""
    dialect = sqlite.dialect()
    column = UTCDateTime()
    through_type = column.dialect_impl(dialect).bind_processor(dialect)
    assert through_type is not None
    montreal = timezone(timedelta(hours=-5))
    for moment in (
        datetime(2026, 11, 25, 8, 0, tzinfo=UTC),  # no microseconds: still written
        datetime(2026, 11, 25, 8, 0, 0, 7, tzinfo=UTC),
        datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=montreal),  # the next day in UTC
        datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    ):
        assert sqlite_moment(moment) == through_type(moment)
    with pytest.raises(ValueError, match="naive"):
        sqlite_moment(datetime(2026, 11, 25, 8, 0))
