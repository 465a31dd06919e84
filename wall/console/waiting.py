"""The console stream's `waiting` events: how many posts wait and since when, sent at the start
and whenever that changes, for the tab title, the favicon, the chime and the notifications."""

from __future__ import annotations

import json

from aggregator.moderation.waiting import Waiting
from wall.console.common import Console
from wall.screens import sse


class WaitingEvents:
    """One stream's view of what waits: it tells only what changed since it last told."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.last: tuple[int, int, int] | None = None

    async def next(self) -> str | None:
        now = await self.console.run(self.console.app.moderation.waiting)
        key = (now.count, now.newest_id, now.oldest_id)
        if key == self.last:
            return None
        self.last = key
        return event(now)


def event(now: Waiting) -> str:
    return sse("waiting", json.dumps(now.as_json()))
