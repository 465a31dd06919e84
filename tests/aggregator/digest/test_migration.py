"""Revision 0006 on a store that already sent French digests, up and down, on SQLite and
PostgreSQL (a throwaway database, so the shared test database is left alone)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from aggregator.store import alembic_config

BEFORE = (
    "INSERT INTO digests (day, entry_id, state, posts, summary, built_at, published_at, "
    "sending_at, sent_at, recipients, attempts, error) VALUES "
    "('2026-11-24', 'tag:a', 'sent', 3, '', '2026-11-24 23:00:00', '2026-11-24 23:00:00', "
    "'2026-11-24 23:00:01', '2026-11-24 23:00:02', 40, 1, NULL), "
    "('2026-11-25', 'tag:b', 'published', 5, '', '2026-11-25 23:00:00', "
    "'2026-11-25 23:00:00', NULL, NULL, 0, 0, NULL)"
)


@pytest.fixture
def engine(blank_database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(blank_database_url)
    yield engine
    engine.dispose()


def test_sent_days_become_french_sends_and_come_back_on_downgrade(engine: sa.Engine) -> None:
    config = alembic_config(engine)
    command.upgrade(config, "0004")
    with engine.begin() as conn:
        conn.execute(sa.text(BEFORE))

    command.upgrade(config, "heads")
    with engine.connect() as conn:
        sends = conn.execute(
            sa.text("SELECT day, language, state, recipients, attempts FROM digest_sends")
        ).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("digests")}
    assert [(str(d), lang, state, n, a) for d, lang, state, n, a in sends] == [
        ("2026-11-24", "fr", "sent", 40, 1)
    ]
    assert "state" not in columns and {"entry_id", "posts", "summary"} <= columns

    command.downgrade(config, "0004")
    with engine.connect() as conn:
        days = conn.execute(
            sa.text("SELECT day, state, recipients FROM digests ORDER BY day")
        ).all()
        assert not sa.inspect(conn).has_table("digest_sends")
    assert [(str(d), s, n) for d, s, n in days] == [
        ("2026-11-24", "sent", 40),
        ("2026-11-25", "published", 0),
    ]
