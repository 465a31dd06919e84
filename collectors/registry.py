"""Source types: each maps to its options model and the factory that builds its collector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collectors import bluesky, demo, feed, mastodon, webhook, youtube
from collectors.base import Collector, CollectorContext, SourceOptions


@dataclass(frozen=True)
class SourceType:
    options: type[SourceOptions]
    create: Callable[[Any, CollectorContext], Collector]


SOURCE_TYPES: dict[str, SourceType] = {
    "demo": SourceType(demo.Options, demo.create),
    "mastodon": SourceType(mastodon.Options, mastodon.create),
    "bluesky": SourceType(bluesky.Options, bluesky.create),
    "feed": SourceType(feed.Options, feed.create),
    "youtube": SourceType(youtube.Options, youtube.create),
    "webhook": SourceType(webhook.Options, webhook.create),
}


def build_collector(options: SourceOptions, context: CollectorContext) -> Collector:
    return SOURCE_TYPES[options.type].create(options, context)
