"""Column types as the revisions knew them: frozen copies, so that a revision applied once keeps
the meaning it had, whatever later happens to the live models (aggregator.models and friends).

A revision imports this module, alembic, sqlalchemy and sqlmodel's AutoString, nothing else
(tests/aggregator/test_migrations.py reads their imports). Change nothing here that an applied
revision uses: add a new type instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend, stored naive (SQLite keeps no time zone).

    Its DDL is the plain DateTime's (DATETIME on SQLite, TIMESTAMP WITHOUT TIME ZONE on
    PostgreSQL), the same as the live aggregator.models.UTCDateTime's.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)
