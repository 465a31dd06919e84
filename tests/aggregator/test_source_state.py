"""A source's row after each batch: polling moves everything, a stream or webhook only counts."""

from __future__ import annotations

from datetime import timedelta

from aggregator.models import Source, utcnow
from aggregator.source_state import count_arrived, save_state
from aggregator.store import Store
from collectors.base import CollectorError, CollectResult, ErrorKind, SourceState
from tests.builders import source


def saved(store: Store, result: CollectResult, new: int = 0) -> Source:
    later = utcnow() + timedelta(minutes=2)
    with store.write() as session:
        save_state(session, source("relais"), result, later, new)
    with store.read() as session:
        row = session.get(Source, "relais")
        assert row is not None and row.next_attempt is not None
        assert abs((row.next_attempt - later).total_seconds()) < 1
        return row


def test_errors_count_up_and_a_success_clears_them_keeping_what_was_read(store: Store) -> None:
    state = SourceState(cursor="c1", etag='"e1"', extra={"older_than": "2026-11-28"})
    first = saved(store, CollectResult(state=state), new=3)  # the source's first batch
    assert (first.cursor, first.etag, first.extra, first.posts_collected) == (
        "c1", '"e1"', {"older_than": "2026-11-28"}, 3
    )  # fmt: skip
    failing = CollectorError(ErrorKind.HTTP_5XX, "502 Bad Gateway")
    saved(store, CollectResult(state=SourceState(cursor="c2"), error=failing), new=1)
    twice = saved(store, CollectResult(state=SourceState(cursor="c2"), error=failing))
    assert (twice.consecutive_errors, twice.last_error, twice.cursor) == (
        2,
        "502 Bad Gateway",
        "c2",
    )
    assert twice.last_error_kind == "http_5xx" and twice.posts_collected == 4
    back = saved(store, CollectResult(state=SourceState(cursor="c3")), new=2)
    assert (back.consecutive_errors, back.last_error, back.last_error_kind) == (0, None, None)
    assert back.posts_collected == 6 and back.last_success is not None


def test_arrivals_count_and_leave_the_polling_state_alone(store: Store) -> None:
    saved(store, CollectResult(state=SourceState(cursor="c1")), new=1)
    with store.write() as session:
        count_arrived(session, source("relais"), 5)
        count_arrived(session, source("nouveau"), 2)  # a webhook's first post makes the row
    with store.read() as session:
        polled, pushed = session.get(Source, "relais"), session.get(Source, "nouveau")
    assert polled is not None and (polled.cursor, polled.posts_collected) == ("c1", 6)
    assert pushed is not None and (pushed.cursor, pushed.posts_collected) == (None, 2)
