"""The screens service: heartbeats in, statuses out, and staff's commands through the change
feed with their audit entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import Change, ModerationEntry, Screen, utcnow
from aggregator.screens import LAYOUTS, ONLINE_WITHIN, Heartbeat
from aggregator.store import Store

SCREENS = [{"name": "hall"}, {"name": "scene", "layout": "spotlight"}]


@pytest.fixture
def app(make_settings: Any, store: Store) -> Livewall:
    return Livewall(make_settings(screens=SCREENS), store=store, env={})


def test_a_heartbeat_is_kept_and_the_screen_is_online(app: Livewall) -> None:
    beat = Heartbeat("hall", "abc123", 42, "1920x1080", True, "10.0.0.7")
    app.screens.record(beat)
    hall, scene = app.screens.statuses()
    assert hall.online and hall.beat is not None and hall.beat.last_event_id == 42
    assert (hall.beat.version, hall.beat.viewport, hall.beat.client) == (
        "abc123",
        "1920x1080",
        "10.0.0.7",
    )
    assert hall.beat.offline_copy is True and hall.layout == "grid"
    assert not scene.online and scene.beat is None and scene.layout == "spotlight"


def test_only_configured_screens_beat(app: Livewall, store: Store) -> None:
    with pytest.raises(KeyError, match="unknown screen 'lobby'"):
        app.screens.record(Heartbeat("lobby"))
    with store.read() as session:
        assert session.exec(select(Screen)).first() is None


def test_a_silent_screen_goes_offline_and_strangers_are_listed_last(
    app: Livewall, store: Store
) -> None:
    now = utcnow()
    with store.write() as session:
        session.add(Screen(name="hall", last_seen=now - ONLINE_WITHIN - timedelta(seconds=1)))
        session.add(Screen(name="old-kiosk", last_seen=now))
        session.add(Screen(name="scene", last_seen=now - ONLINE_WITHIN))
    statuses = app.screens.statuses(now)
    assert [(s.name, s.online, s.settings is not None) for s in statuses] == [
        ("hall", False, True),
        ("scene", True, True),
        ("old-kiosk", True, False),
    ]
    assert statuses[2].layout is None


def test_a_layout_reaches_the_screen_through_the_change_feed(app: Livewall, store: Store) -> None:
    app.screens.record(Heartbeat("hall", version="v1"))
    seq = app.screens.set_layout("hall", "ticker", "ada")
    reload = app.screens.reload("scene", "ada")
    with store.read() as session:
        changes = session.exec(select(Change).order_by(Change.seq)).all()
        log = session.exec(select(ModerationEntry).order_by(ModerationEntry.id)).all()
    assert [(c.seq, c.kind, c.screen, c.payload) for c in changes] == [
        (seq, "screen", "hall", {"layout": "ticker", "screen": "hall"}),
        (reload, "screen", "scene", {"action": "reload", "screen": "scene"}),
    ]
    assert [(e.actor, e.action, e.detail) for e in log] == [
        ("ada", "screen", "hall: layout ticker"),
        ("ada", "screen", "scene: reload"),
    ]
    # The override outlives the next heartbeat; the heartbeat's own fields are kept.
    app.screens.record(Heartbeat("hall", version="v2"))
    hall = app.screens.statuses()[0]
    assert hall.layout == "ticker" and hall.beat is not None and hall.beat.version == "v2"


def test_wrong_commands_change_nothing(app: Livewall, store: Store) -> None:
    with pytest.raises(ValueError, match="unknown layout 'mosaic'"):
        app.screens.set_layout("hall", "mosaic", "ada")
    with pytest.raises(ValueError, match="no screen named 'lobby'"):
        app.screens.reload("lobby", "ada")
    with pytest.raises(ValueError, match="no screen named 'lobby'"):
        app.screens.set_layout("lobby", "mosaic", "ada")
    assert store.last_seq() == 0
    assert LAYOUTS == ("grid", "spotlight", "ticker")
