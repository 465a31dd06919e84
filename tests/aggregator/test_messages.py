"""The messages service: staff messages checked against the configured screens, sent and
cleared through the change feed, listed for screens and staff."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.messages import MessageError
from aggregator.models import Change
from aggregator.store import Store

SCREENS = [{"name": "hall"}, {"name": "scene"}]


@pytest.fixture
def app(make_settings: Any, store: Store) -> Livewall:
    return Livewall(make_settings(screens=SCREENS), store=store, env={})


def test_messages_are_sent_listed_and_cleared(app: Livewall, store: Store) -> None:
    notice = app.messages.send("  Salle   pleine ", screens=["scene"], minutes=5, actor="ada")
    alarm = app.messages.send("Évacuez", kind="emergency", screens=["hall"], actor="ada")
    assert notice.text == "Salle pleine" and alarm.screens == []  # an emergency is everywhere
    assert [m.id for m in app.messages.active("hall")] == [alarm.id]
    assert [m.id for m in app.messages.active("scene")] == [notice.id, alarm.id]
    assert [m.id for m in app.messages.clear_emergencies("ada")] == [alarm.id]
    app.messages.clear(notice.id or 0, "ada")
    assert app.messages.active() == []
    assert [m.id for m in app.messages.recent(1)] == [alarm.id]
    with store.read() as session:
        changes = session.exec(select(Change).order_by(Change.seq)).all()
    assert [(c.kind, c.screen) for c in changes] == [
        ("message", "scene"),
        ("emergency", None),
        ("emergency", None),
        ("message", "scene"),
    ]


def test_only_configured_screens_get_messages(app: Livewall, store: Store) -> None:
    with pytest.raises(MessageError, match=r"unknown screens \['lobby'\]"):
        app.messages.check("Bonjour", screens=["lobby"], minutes=5)
    with pytest.raises(MessageError, match="unknown screens"):
        app.messages.send("Bonjour", screens=["hall", "lobby"], minutes=5)
    assert app.messages.check(" Bonjour ", screens=["hall"], minutes=5) == "Bonjour"
    assert store.last_seq() == 0


def test_clearing_twice_or_nothing_says_so(app: Livewall) -> None:
    sent = app.messages.send("Pause", minutes=5)
    app.messages.clear(sent.id or 0)
    with pytest.raises(MessageError, match="already cleared") as twice:
        app.messages.clear(sent.id or 0)
    with pytest.raises(MessageError, match="does not exist") as missing:
        app.messages.clear(999)
    assert (twice.value.status, missing.value.status) == (409, 404)
