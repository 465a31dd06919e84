"""The one application object: everything livewall needs, composed from explicit settings."""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from aggregator.accounts import Accounts, passwords
from aggregator.arrivals import Arrivals
from aggregator.changes import ChangeFeed
from aggregator.digest.runs import DigestRuns
from aggregator.harvest import Harvest, make_http_client
from aggregator.ingest import Pipeline
from aggregator.logins import LoginThrottle
from aggregator.messages import Messages
from aggregator.metrics import Metrics
from aggregator.moderation.live_rules import LiveRules
from aggregator.moderation.queue import Moderation
from aggregator.posts import Posts
from aggregator.screens import Screens
from aggregator.settings import Settings
from aggregator.slides import Slides
from aggregator.sources import Sources
from aggregator.store import Store


class Livewall:
    def __init__(
        self, settings: Settings, store: Store | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.env = os.environ if env is None else env
        self.store = store or Store(settings.storage.url)
        self.metrics = Metrics()
        self.feed = ChangeFeed(self.store)
        # Every committed change wakes this process's screens and consoles at once.
        self.store.on_change(self.feed.notify)
        # The pipeline follows the rules staff edit in the console, merged with the configured ones.
        self.live_rules = LiveRules(self.store, settings)
        self.pipeline = Pipeline(
            self.store, self.live_rules, settings.event.languages, self.metrics
        )
        # Webhook posts arriving together share a transaction.
        self.arrivals = Arrivals(self.pipeline)
        # The services the web layer and the command line call: each owns its tables' queries.
        self.posts = Posts(self.store)
        self.moderation = Moderation(self.store, self.live_rules)
        self.sources = Sources(self.store, settings)
        self.metrics.watch_sources(self.sources.health)
        self.screens = Screens(self.store, settings)
        self.messages = Messages(self.store, [s.name for s in settings.screens])
        self.slides = Slides(self.store, [s.name for s in settings.screens])
        self.accounts = Accounts(self.store, passwords(settings.console.password_hashing))
        # Failed logins are counted in the store: every web process sees the same counts.
        self.logins = LoginThrottle(self.store)
        self.digest = DigestRuns(settings, self.store, self.env, self.metrics)
        self._http: httpx.AsyncClient | None = None
        self._harvest: Harvest | None = None

    @property
    def harvest(self) -> Harvest:
        """The collectors; their HTTP client is made on first use, inside the running loop."""
        if self._harvest is None:
            self._http = make_http_client()
            self._harvest = Harvest(self.settings, self.store, self.pipeline, self._http, self.env)
        return self._harvest

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._http, self._harvest = None, None
