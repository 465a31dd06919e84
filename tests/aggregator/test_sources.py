"""The sources service: one health per configured source, from its stored state, and staff's
pause, resume and run-now with their audit entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import ModerationEntry, Post, Source, utcnow
from aggregator.settings import Settings
from aggregator.sources import TABLE_HEADER, source_health
from aggregator.store import Store
from tests.builders import source

SOURCES = [
    {"name": "ok", "type": "demo"},
    {"name": "failing", "type": "demo"},
    {"name": "refused", "type": "demo"},
    {"name": "paused", "type": "demo"},
    {"name": "behind", "type": "demo"},
    {"name": "new", "type": "demo"},
    {"name": "off", "type": "demo", "enabled": False},
]


@pytest.fixture
def app(make_settings: Any, store: Store) -> Livewall:
    return Livewall(make_settings(sources=SOURCES), store=store, env={})


def stored(store: Store, name: str, **fields: Any) -> None:
    with store.write() as session:
        session.add(Source(name=name, type="demo", **fields))


def test_every_configured_source_has_one_health_in_the_configuration_order(
    app: Livewall, store: Store
) -> None:
    now = utcnow()
    stored(store, "ok", last_success=now, next_attempt=now, posts_collected=12)
    stored(
        store, "failing", consecutive_errors=3, last_error="HTTP 503", last_error_kind="http_5xx"
    )
    stored(store, "refused", consecutive_errors=1, last_error="HTTP 401", last_error_kind="auth")
    stored(store, "paused", paused=True, consecutive_errors=2, last_error_kind="timeout")
    # A run stopped at its bound: a notice, not a failure.
    stored(store, "behind", last_error="more to read", last_error_kind="backlog")
    found = app.sources.health()
    assert [h.name for h in found] == [s["name"] for s in SOURCES]
    states = {h.name: h.state for h in found}
    assert states == {
        "ok": "ok",
        "failing": "failing ×3",
        "refused": "config error",
        "paused": "paused",
        "behind": "ok",
        "new": "never run",
        "off": "disabled",
    }
    by_name = {h.name: h for h in found}
    assert by_name["ok"].posts == 12 and by_name["ok"].last_success == now
    assert by_name["failing"].problem == "http_5xx" and not by_name["failing"].config_error
    assert by_name["refused"].problem == "auth" and by_name["refused"].config_error
    assert by_name["behind"].problem is None and by_name["behind"].error == "more to read"
    assert by_name["new"].posts == 0 and by_name["new"].error is None


def test_a_sources_line_in_the_table() -> None:
    failing = Source(
        name="demo", type="demo", consecutive_errors=2, last_error="HTTP 503",
        last_error_kind="http_5xx", posts_collected=7,
    )  # fmt: skip
    row = source_health(source(), failing).row()
    assert len(row) == len(TABLE_HEADER)
    assert row == ("demo", "demo", "failing ×2", "—", "—", "7", "http_5xx: HTTP 503")
    assert source_health(source(), None).row()[2:] == ("never run", "—", "—", "0", "")


def test_posts_collected_today_count_from_local_midnight(make_settings: Any, store: Store) -> None:
    settings: Settings = make_settings(event={"name": "A", "timezone": "America/Toronto"})
    app = Livewall(settings, store=store, env={})
    midnight = utcnow().astimezone(settings.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    for number, collected in enumerate((midnight, utcnow(), midnight - timedelta(seconds=1))):
        with store.write() as session:
            session.add(
                Post(
                    source="demo", external_id=str(number), network="demo", author_handle="@a",
                    created_at=collected, collected_at=collected,
                )
            )  # fmt: skip
    assert app.sources.collected_today() == {"demo": 2}


def test_pause_and_resume_leave_their_audit_entry(app: Livewall, store: Store) -> None:
    app.sources.pause("new", actor="ada")
    assert {h.name: h.state for h in app.sources.health()}["new"] == "paused"
    app.sources.pause("new", paused=False, actor="ada")
    app.sources.note_run("new", "ada")
    with store.read() as session:
        entries = session.exec(select(ModerationEntry).order_by(ModerationEntry.id)).all()
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        ("ada", "source:pause", "new"),
        ("ada", "source:resume", "new"),
        ("ada", "source:run", "new"),
    ]
    health = {h.name: h for h in app.sources.health()}["new"]
    assert not health.paused and health.state == "ok"


def test_pausing_an_unknown_source_says_which(app: Livewall, store: Store) -> None:
    with pytest.raises(KeyError, match="unknown source 'nope'"):
        app.sources.pause("nope", actor="ada")
    with store.read() as session:
        assert session.exec(select(ModerationEntry)).first() is None


def test_the_table_shows_times_in_the_event_s_zone() -> None:
    ran = Source(name="demo", type="demo", last_success=datetime(2026, 11, 25, 23, 10, tzinfo=UTC))
    row = source_health(source(), ran).row(ZoneInfo("America/Toronto"))
    assert row[3] == "2026-11-25 18:10:00"
