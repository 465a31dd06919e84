"""The one small protocol every collector speaks, and livewall's own post model.

A collector takes its persisted state (cursor, ETag, Last-Modified, anything else it
needs) and returns candidate posts, deletions and its new state. It knows HTTP and the
network's format; it never touches the store. We only model what the product needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PostKind = Literal["post", "article", "video", "live"]
LiveState = Literal["upcoming", "live", "ended"]


class ErrorKind(StrEnum):
    """Stable names for what went wrong, shown to staff and used for backoff."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"
    BAD_PAYLOAD = "bad_payload"
    AUTH = "auth"
    CONFIG = "config"


def needs_staff(kind: str | None) -> bool:
    """Whether an error of this kind (a stored name too) waits for staff: a refused credential
    or a wrong setting does not fix itself, so retrying soon only hammers the network."""
    return kind in (ErrorKind.AUTH, ErrorKind.CONFIG)


class CollectorError(Exception):
    """A source's failure, returned as a value by the runner: one bad source never stops others."""

    def __init__(self, kind: ErrorKind, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message
        # Seconds the remote asked us to wait (Retry-After, rate-limit reset).
        self.retry_after = retry_after


# A card has room for a name, not a page (Mastodon allows 30 characters, Bluesky 64).
MAX_AUTHOR_NAME = 200
# The network a post is shown as: also a CSS class on the screens' card, so a plain token.
NETWORK = re.compile(r"[a-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Author:
    handle: str
    name: str = ""
    avatar_url: str | None = None
    profile_url: str | None = None

    def __post_init__(self) -> None:
        if len(self.name) > MAX_AUTHOR_NAME:
            object.__setattr__(self, "name", self.name[: MAX_AUTHOR_NAME - 1] + "…")


@dataclass(frozen=True)
class Media:
    url: str
    type: Literal["image", "video", "gifv", "audio", "link"] = "image"
    alt: str = ""
    preview_url: str | None = None
    sensitive: bool = False
    width: int | None = None
    height: int | None = None


@dataclass
class Candidate:
    """A post as a collector sees it, before sanitizing, dedupe and moderation."""

    external_id: str
    url: str | None
    author: Author
    created_at: datetime  # timezone-aware, UTC
    text: str = ""  # plain text, when the network gives no HTML
    html: str | None = None  # untrusted: the pipeline sanitizes it
    language: str | None = None
    title: str | None = None
    media: list[Media] = field(default_factory=list)
    likes: int = 0
    shares: int = 0
    replies: int = 0
    content_warning: str | None = None
    sensitive: bool = False
    kind: PostKind = "post"
    live_state: LiveState | None = None
    edited_at: datetime | None = None
    # A network-wide identity, when the same object can reach us by several paths
    # (a Mastodon status's `uri` seen on two instances).
    dedupe_key: str | None = None
    hashtags: list[str] = field(default_factory=list)
    # The network shown on the wall; None means the source's own type.
    network: str | None = None

    def __post_init__(self) -> None:
        if self.network is not None and not NETWORK.fullmatch(self.network):
            raise ValueError(
                f"network {self.network[:50]!r} is not a plain token ({NETWORK.pattern})"
            )


@dataclass
class SourceState:
    """What a collector needs to resume: persisted by the store in the same transaction as posts."""

    cursor: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CollectResult:
    posts: list[Candidate] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # external ids gone at the source
    state: SourceState = field(default_factory=SourceState)
    # Seconds before the next attempt the remote wants (rate limits); None: the usual pace.
    wait_at_least: float | None = None
    # A half-failure: what could be read is in `posts`, and this says what could not.
    error: CollectorError | None = None
    not_modified: bool = False
    # Not a failure, but staff should know: a run stopped at its page bound, the rest is owed.
    notice: str | None = None


URL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


# Environment variables are named in capitals by convention; holding the file to it also
# catches the secret itself pasted where its variable's name belongs.
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def url_name(name: str) -> str:
    """A name that is also part of an address (/wall/{name}, /hooks/{name}): kept plain."""
    if not URL_NAME.fullmatch(name):
        raise ValueError(
            "must be 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or "
            "digit (it is part of an address)"
        )
    return name


def env_name(name: str) -> str:
    """An option naming an environment variable (the secret itself never goes in the file)."""
    if not ENV_NAME.fullmatch(name):
        raise ValueError(
            "must be the name of an environment variable in capitals, such as "
            "LIVEWALL_BLUESKY_PASSWORD, not the secret itself"
        )
    return name


EnvName = Annotated[str, AfterValidator(env_name)]


@dataclass(frozen=True)
class Secret:
    """An environment variable a source reads, named by one of its `*_env` options."""

    key: str  # the option, such as app_password_env
    variable: str
    required: bool  # the source cannot run without it
    without: str = ""  # what an optional one's absence costs, said to whoever runs the event


class SourceOptions(BaseModel):
    """Keys common to every `[[sources]]` entry; each collector extends it with its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, AfterValidator(url_name)] = Field(
        description="Unique name of the source, shown to staff and used in URLs "
        "(lowercase letters, digits, - and _)."
    )
    type: str = Field(description="Source type: mastodon, bluesky, feed, youtube, webhook or demo.")
    every: int = Field(
        default=60,
        ge=5,
        le=86400,
        strict=True,
        description="Seconds between two collections of this source.",
    )
    official: bool = Field(
        default=False,
        strict=True,
        description="Posts from an official source are approved without moderation.",
    )
    enabled: bool = Field(
        default=True, strict=True, description="A disabled source is never collected."
    )

    def secrets(self) -> list[Secret]:
        """The variables this source's `*_env` options name; a required option's is required."""
        fields = type(self).model_fields
        return [
            Secret(key, variable, required=fields[key].is_required())
            for key in fields
            if key.endswith("_env") and (variable := getattr(self, key))
        ]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CollectorContext:
    """What a collector may use: an HTTP client, the event's hashtags and the environment."""

    http: httpx.AsyncClient
    hashtags: tuple[str, ...]
    env: Mapping[str, str]
    languages: tuple[str, ...] = ("fr", "en")
    # When the event starts (UTC): a first run reads back to it when that is further back.
    event_start: datetime | None = None
    # The time a first run measures its look-back window from (tests set the event's day).
    clock: Callable[[], datetime] = utc_now


class Collector(Protocol):
    async def collect(self, state: SourceState) -> CollectResult: ...
