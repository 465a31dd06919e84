"""The administrators' screens and sources pages drive the screens and sources services."""

from __future__ import annotations

import httpx
import pytest

from aggregator import audit
from aggregator.application import Livewall
from tests.wall.console.conftest import add_staff, login
from tests.wall.wall_data import asgi_client

pytestmark = pytest.mark.anyio


async def admin(client: httpx.AsyncClient, livewall: Livewall) -> str:
    add_staff(livewall, "ada", "admin")
    return await login(client, "ada")


async def test_screen_commands_from_the_console(livewall: Livewall) -> None:
    async with asgi_client(livewall) as client:
        csrf = await admin(client, livewall)
        form = {"csrf": csrf, "screen": "hall"}
        layout = await client.post(
            "/console/screens", data={**form, "op": "layout", "layout": "ticker"}
        )
        reload = await client.post("/console/screens", data={**form, "op": "reload"})
        wrong = await client.post("/console/screens", data={**form, "op": "layout", "layout": "x"})
        page = await client.get("/console/screens")
    assert (layout.status_code, layout.headers["location"]) == (303, "/console/screens?done=layout")
    assert (reload.status_code, reload.headers["location"]) == (303, "/console/screens?done=reload")
    assert wrong.status_code == 400 and "unknown layout &#39;x&#39;" in wrong.text
    assert "<option selected>ticker</option>" in page.text
    log = audit.entries(livewall.store, audit.AuditFilter(action="screen"))
    assert [e.detail for e in log] == ["hall: reload", "hall: layout ticker"]
    assert livewall.store.last_seq() == 2


async def test_source_commands_from_the_console(livewall: Livewall) -> None:
    async with asgi_client(livewall) as client:
        csrf = await admin(client, livewall)
        paused = await client.post(
            "/console/sources", data={"csrf": csrf, "source": "demo", "op": "pause"}
        )
        page = await client.get("/console/sources")
        unknown = await client.post(
            "/console/sources", data={"csrf": csrf, "source": "nope", "op": "pause"}
        )
    assert (paused.status_code, paused.headers["location"]) == (303, "/console/sources?done=paused")
    assert 'value="resume"' in page.text and "en pause" in page.text
    assert unknown.status_code == 400 and "unknown source" in unknown.text
    assert [h.state for h in livewall.sources.health()] == ["paused"]
    log = audit.entries(livewall.store, audit.AuditFilter(action="source:"))
    assert [(e.actor, e.action, e.detail) for e in log] == [("ada", "source:pause", "demo")]
