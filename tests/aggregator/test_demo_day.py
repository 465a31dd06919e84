"""The demo's previous day: stored and its digest published once, the demo's cursor untouched."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, func, select

from aggregator.application import Livewall
from aggregator.demo_day import seed_previous_day
from aggregator.models import Post, Source
from aggregator.store import Store
from tests.conftest import SettingsFactory

DEMO = {"name": "demo", "type": "demo", "previous_day": 12}


def seeded(store: Store) -> int:
    with store.read() as session:
        query = select(func.count()).where(col(Post.external_id).startswith("demo-20"))
        return int(session.exec(query).one())


def test_previous_day_is_stored_and_its_digest_published_once(
    store: Store, make_settings: SettingsFactory
) -> None:
    app = Livewall(make_settings(sources=[DEMO], moderation={"mode": "post"}), store, env={})
    sources = app.harvest.sources()
    yesterday = app.digest.today() - timedelta(days=1)
    report = seed_previous_day(app.pipeline, sources, app.digest)
    assert report is not None and (report.day, report.outcome) == (yesterday, "published")
    record = app.digest.record(yesterday)
    assert record is not None and record.posts >= 10  # a held word or two stays out
    assert seeded(store) == 12
    assert seed_previous_day(app.pipeline, sources, app.digest) is None  # once
    assert seeded(store) == 12
    with store.read() as session:
        demo = session.get(Source, "demo")
    assert demo is not None and demo.cursor is None  # today's flow starts at its beginning


def test_a_demo_without_a_previous_day_seeds_nothing(
    store: Store, make_settings: SettingsFactory
) -> None:
    app = Livewall(make_settings(), store, env={})
    assert seed_previous_day(app.pipeline, app.harvest.sources(), app.digest) is None
    assert app.digest.archive() == [] and seeded(store) == 0


def test_pre_moderation_publishes_nothing_staff_did_not_approve(
    store: Store, make_settings: SettingsFactory
) -> None:
    app = Livewall(make_settings(sources=[DEMO]), store, env={})
    report = seed_previous_day(app.pipeline, app.harvest.sources(), app.digest)
    assert report is not None and report.outcome == "nothing"
    assert app.digest.archive() == []
