"""The look-back window of a source's first run, and the bound on the pages one run reads.

A source's first run reads everything posted since the window's start (`lookback_hours` before
it, or the event's start when that is earlier), however many pages it takes. The start is kept in
the source's state, so every later run, and a backfill that needs several runs, agrees on it.
A run that meets its page bound (or its time budget) stops there, keeps what it read, and leaves
in its state where the next run goes on: nothing posted in the window is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from collectors.base import CollectorContext, SourceOptions
from collectors.http import parse_iso_datetime

WINDOW_KEY = "window_since"
# A run is cut off by the harvest after two minutes and then keeps nothing: stop paging well
# before, so a long backfill advances run after run instead of starting over each time.
PAGING_SECONDS = 60.0


class WindowOptions(SourceOptions):
    """Keys of the sources whose first run reads back in time."""

    lookback_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 30,
        strict=True,
        description="How far back the first run reads, in hours ([event] start reaches further "
        "back when it is earlier); fixed at the first run, and nothing older is ever collected. "
        "See the README, 'First run and the look-back window'.",
    )


class PagedOptions(WindowOptions):
    """Keys of the sources read page by page."""

    max_pages: int = Field(
        default=50,
        ge=1,
        le=500,
        strict=True,
        description="Most pages read in one run. A run that reaches it keeps what it read, says "
        "so in `livewall sources` (backlog), and the next run goes on from there.",
    )


def window_since(
    extra: Mapping[str, Any], options: WindowOptions, context: CollectorContext
) -> datetime:
    """Where the source's window starts: as stored at its first run, else from now."""
    stored = parse_iso_datetime(extra.get(WINDOW_KEY))
    if stored is not None:
        return stored
    since = context.clock() - timedelta(hours=options.lookback_hours)
    start = context.event_start
    return start if start is not None and start < since else since


def with_window(extra: Mapping[str, Any], since: datetime) -> dict[str, Any]:
    return {**extra, WINDOW_KEY: since.isoformat()}


class Budget:
    """Pages one run may still read, and the time it may still spend reading them.

    The first page of a budget is always granted, whatever the time: each read advances.
    """

    def __init__(
        self,
        pages: int,
        seconds: float = PAGING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pages = pages
        self.clock = clock
        self.deadline = clock() + seconds
        self.read = 0
        self.hit = False  # a page was wanted that the budget refused
        self.parent: Budget | None = None

    def take(self) -> bool:
        """Whether one more page may be read; counts it when it may."""
        if self.read >= self.pages or (self.read and self.clock() >= self.deadline):
            for budget in self._lineage():
                budget.hit = True
            return False
        for budget in self._lineage():
            budget.read += 1
        return True

    def share(self, pages: int) -> Budget:
        """A budget of its own `pages`, ending at this one's deadline (one per search)."""
        other = Budget(pages, clock=self.clock)
        other.deadline = self.deadline
        return other

    def rest(self) -> Budget:
        """What is left for a second read in the run, counted here too, and at least one page:
        a look-back under way advances every run, even when newer posts took all the rest."""
        other = self.share(max(1, self.pages - self.read))
        other.parent = self
        return other

    def _lineage(self) -> list[Budget]:
        return [self, *(self.parent._lineage() if self.parent else [])]


def backlog_notice(budget: Budget, owed: str) -> str:
    """What staff read when a run stopped at its bound: not a failure, a backlog."""
    if budget.read >= budget.pages:
        bound = f"read {budget.read} pages, the most for one run (max_pages)"
    else:
        bound = f"read {budget.read} pages in {PAGING_SECONDS:.0f} s, the most time for one run"
    return f"{bound}: {owed} continues next run"
