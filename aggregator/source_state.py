"""A source's row as a batch leaves it: its collector's new state, or only what arrived.

One prebuilt UPDATE per batch (an ORM load and flush of the row cost about as much as the
rest of a small batch's statements together); the row is created the first time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from aggregator.models import Source, utcnow
from collectors.base import CollectResult, SourceOptions

SOURCES = sa.Table("sources", Source.metadata)
_c = SOURCES.c


def _param(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    # Bound parameters may not be named after the columns an UPDATE sets.
    return sa.bindparam(f"p_{name}", type_=column.type)


_NAMED = _c.name == sa.bindparam("p_source", type_=_c.name.type)
_ARRIVED = sa.update(SOURCES).where(_NAMED)
_COUNTED = _ARRIVED.values(
    last_success=_param("now", _c.last_success),
    posts_collected=_c.posts_collected + sa.bindparam("p_new", type_=sa.Integer),
)
_SAVED = _COUNTED.values(
    cursor=_param("cursor", _c.cursor),
    etag=_param("etag", _c.etag),
    last_modified=_param("last_modified", _c.last_modified),
    extra=_param("extra", _c.extra),
    last_attempt=_param("now", _c.last_attempt),
    next_attempt=_param("next_attempt", _c.next_attempt),
    # A half-valid answer: keep what was read, say what was not, and back off.
    consecutive_errors=sa.case(
        (sa.bindparam("p_failed", type_=sa.Boolean), _c.consecutive_errors + 1), else_=0
    ),
    last_error=_param("last_error", _c.last_error),
    last_error_kind=_param("last_error_kind", _c.last_error_kind),
)


def save_state(
    session: Session,
    options: SourceOptions,
    result: CollectResult,
    next_attempt: datetime | None,
    new: int,
) -> None:
    """Polling moved the source on: its cursor, schedule, error (or none) and count."""
    state, error = result.state, result.error
    values = {
        "p_cursor": state.cursor,
        "p_etag": state.etag,
        "p_last_modified": state.last_modified,
        "p_extra": dict(state.extra),
        "p_next_attempt": next_attempt,
        "p_failed": error is not None,
        "p_last_error": None if error is None else error.message,
        "p_last_error_kind": None if error is None else error.kind,
    }
    _update(session, options, _SAVED, values, new)


def count_arrived(session: Session, options: SourceOptions, new: int) -> None:
    """Posts arrived by a stream or a webhook: the source's cursor and schedule stay as
    polling left them (read inside the writing transaction, a poll committing meanwhile is
    never undone)."""
    _update(session, options, _COUNTED, {}, new)


def _update(
    session: Session, options: SourceOptions, statement: sa.Update, values: dict[str, Any], new: int
) -> None:
    values = {"p_source": options.name, "p_now": utcnow(), "p_new": new, **values}
    connection = session.connection()
    if connection.execute(statement, values).rowcount == 0:  # a source's first batch
        session.add(Source(name=options.name, type=options.type))
        session.flush()
        connection.execute(statement, values)
