"""The moderators' alerts over HTTP: what notify.js reads, the preferences form's checks, and the
console stream's `waiting` events."""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from aggregator import accounts
from aggregator.application import Livewall
from aggregator.models import utcnow
from aggregator.moderation.waiting import Alerts, Waiting
from tests.conftest import LiveServer
from tests.wall.console.conftest import add_staff, held, login

pytestmark = pytest.mark.anyio


async def test_the_settings_follow_the_event_then_the_moderators_choice(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    token = await login(web, "marie")
    default = (await web.get("/console/api/notify")).json()
    assert (default["sound"], default["notifications"], default["after"]) == (False, True, 120)
    assert default["labels"]["title"] == "Des publications attendent une décision"
    english = (await web.get("/console/api/notify?lang=en")).json()
    assert english["labels"]["title"] == "Posts are waiting for a decision"

    form = {"csrf": token, "sound": "on", "after": "1,5"}  # a French decimal comma
    answer = await web.post("/console/notifications", data=form)
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=saved")
    chosen = (await web.get("/console/api/notify")).json()
    assert (chosen["sound"], chosen["notifications"], chosen["after"]) == (True, False, 90)
    user = accounts.find_user(livewall.store, "marie")
    assert user is not None
    assert user.preferences["notify"] == {"sound": True, "notifications": False, "after": 90}


@pytest.mark.parametrize("after", ["0", "5000", "deux", "", "1e309"])
async def test_a_delay_out_of_range_is_refused_in_french(
    web: httpx.AsyncClient, livewall: Livewall, after: str
) -> None:
    add_staff(livewall, "marie")
    token = await login(web, "marie")
    answer = await web.post("/console/notifications", data={"csrf": token, "after": after})
    assert answer.status_code == 400
    assert "Le délai doit être un nombre de minutes de 0,17 à 1\xa0440." in html.unescape(
        answer.text
    )
    assert (await web.get("/console/api/notify")).json()["after"] == 120  # nothing kept


def test_malformed_preferences_fall_back_to_the_defaults() -> None:
    assert Alerts.of({}, 300) == Alerts(sound=False, notifications=True, after=300)
    odd = {"notify": {"sound": "yes", "notifications": 0, "after": True}}
    assert Alerts.of(odd, 60) == Alerts(sound=False, notifications=True, after=60)
    assert Alerts.of({"notify": {"after": 5}}, 60).after == 60  # below the 10 s floor
    assert Alerts.of({"notify": "loud"}, 60) == Alerts(after=60)


def test_what_waits_counts_held_posts_and_the_oldest_arrival(livewall: Livewall) -> None:
    assert livewall.moderation.waiting() == Waiting()
    first, second = held(livewall, 2)
    now = livewall.moderation.waiting(now=utcnow() + timedelta(minutes=3))
    assert (now.count, now.newest_id, now.oldest_id) == (2, second, first)
    assert 179 < now.oldest_seconds < 240


async def read_events(lines: AsyncIterator[str], kind: str, count: int) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    event = ""
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == kind:
            found.append(json.loads(line[6:]))
            if len(found) == count:
                return found
    raise AssertionError(f"the stream ended after {found}")


@pytest.mark.slow
async def test_the_console_stream_tells_what_waits_at_once_and_on_each_change(
    live_server: LiveServer, livewall: Livewall
) -> None:
    held(livewall, 1, prefix="a")
    token = accounts.create_token(livewall.store, "script", "moderator", "ada")
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.AsyncClient(base_url=live_server.url, headers=headers, timeout=20)
    async with client, client.stream("GET", "/console/events?only=waiting") as answer:
        assert answer.status_code == 200
        lines = answer.aiter_lines()
        [start] = await read_events(lines, "waiting", 1)
        assert start["count"] == 1
        held(livewall, 2, prefix="b")
        [after] = await read_events(lines, "waiting", 1)
    assert after["count"] == 3 and after["oldest"] == start["oldest"]
    assert int(str(after["newest"])) > int(str(start["newest"]))
