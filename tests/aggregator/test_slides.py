"""The slides service: slides checked against the screens and their schedule, added and taken
down through the change feed with an audit entry, listed for screens and staff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.models import Change, ModerationEntry, utcnow
from aggregator.slides import SlideError, SlidePlan
from aggregator.store import Store

SCREENS = [{"name": "hall"}, {"name": "scene"}]
IMAGE = "a" * 64 + ".png"


@pytest.fixture
def app(make_settings: Any, store: Store) -> Livewall:
    return Livewall(make_settings(screens=SCREENS), store=store, env={})


def plan(**fields: Any) -> SlidePlan:
    now = utcnow()
    defaults: dict[str, Any] = {
        "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(hours=1),
        "text": "Merci à notre partenaire",
        "every_posts": 5,
    }
    return SlidePlan(**{**defaults, **fields})


def test_slides_are_added_listed_and_taken_down(app: Livewall, store: Store) -> None:
    now = utcnow()
    sponsor = app.slides.add(plan(text="  Merci   à Hydro ", screens=["scene"]), actor="ada")
    later = app.slides.add(
        plan(starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3), image=IMAGE,
             text="", kind="announcement", every_posts=None, every_seconds=60),
        actor="ada",
    )  # fmt: skip
    assert sponsor.text == "Merci à Hydro" and sponsor.scheduled(utcnow())
    assert not later.scheduled(utcnow()) and later.pending(utcnow())
    assert [s.id for s in app.slides.pending("hall")] == [later.id]
    assert [s.id for s in app.slides.pending("scene")] == [sponsor.id, later.id]
    assert later.payload()["image"] == f"/media/staff/{IMAGE}"
    app.slides.take_down(sponsor.id or 0, "ada")
    assert [s.id for s in app.slides.pending()] == [later.id]
    assert [s.id for s in app.slides.recent(1)] == [later.id]
    with store.read() as session:
        changes = session.exec(select(Change).order_by(Change.seq)).all()
        actions = session.exec(select(ModerationEntry.detail)).all()
    assert [(c.kind, c.screen, c.payload["active"]) for c in changes] == [
        ("slide", "scene", True),
        ("slide", None, True),
        ("slide", "scene", False),
    ]
    assert any("slide taken down" in a for a in actions)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"text": "", "image": None}, "a text, an image, or both"),
        ({"text": "x" * 301}, "at most 300"),
        ({"kind": "ad"}, "kind must be one of sponsor, announcement"),
        ({"screens": ["lobby"]}, "unknown screens ['lobby']"),
        ({"image": "../etc/passwd"}, "is not the name of a stored image"),
        ({"every_posts": None}, "every_posts or every_seconds"),
        ({"every_seconds": 30}, "every_posts or every_seconds"),
        ({"every_posts": 0}, "every_posts must be between 1 and 200, got 0"),
        ({"every_posts": None, "every_seconds": 5}, "every_seconds must be between 10"),
        ({"show_seconds": 600}, "show_seconds must be between 3 and 60"),
        ({"ends_at": utcnow() - timedelta(days=1)}, "the end must come after the start"),
        (
            {"starts_at": utcnow() - timedelta(hours=2), "ends_at": utcnow() - timedelta(hours=1)},
            "already past",
        ),
        ({"ends_at": utcnow() + timedelta(days=30)}, "at most 14 days"),
    ],
)
def test_a_wrong_slide_is_refused_saying_why(
    app: Livewall, store: Store, fields: dict[str, Any], said: str
) -> None:
    with pytest.raises(SlideError) as refused:
        app.slides.add(plan(**fields))
    assert said in refused.value.message and refused.value.status == 400
    assert app.slides.recent() == []


def test_taking_down_twice_or_nothing(app: Livewall) -> None:
    slide = app.slides.add(plan())
    app.slides.take_down(slide.id or 0)
    with pytest.raises(SlideError) as again:
        app.slides.take_down(slide.id or 0)
    assert again.value.status == 409
    with pytest.raises(SlideError) as missing:
        app.slides.take_down(9999)
    assert missing.value.status == 404
