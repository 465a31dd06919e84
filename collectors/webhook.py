"""The signed webhook: posts pushed by another tool (for networks with no usable API).

Nothing is fetched: `collect` returns an empty result. The web route checks the signature with
`verify_signature` and turns the body into a candidate with `parse_payload`; both are pure, so
the route stays thin and the rules are tested here.

Signature header: `X-Livewall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
as Stripe does it: the timestamp inside the signed text stops replays of old requests.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from collectors import payload
from collectors.base import (
    MAX_AUTHOR_NAME,
    NETWORK,
    Author,
    Candidate,
    CollectorContext,
    CollectResult,
    EnvName,
    Media,
    SourceOptions,
    SourceState,
)
from collectors.http import EARLIEST, LATEST, parse_iso_datetime, safe_url

SIGNATURE_HEADER = "X-Livewall-Signature"
MAX_BODY = 256 * 1024  # the route answers 413 above this, before reading further
TOLERANCE = 300  # seconds between the signed time and ours, either way
MEDIA_TYPES = ("image", "video", "gifv", "audio", "link")
# Lengths in characters: the store's own widths for ids and handles; for the rest, far more
# than any network allows (LinkedIn: 3,000 characters; Mastodon: 1,500 of alt text).
MAX_ID = 500
MAX_HANDLE = 300
MAX_TEXT = 20_000
MAX_HTML = 100_000
MAX_URL = 2_048
MAX_ALT = 1_500
MAX_LANGUAGE = 10
MAX_MEDIA = 20


class Options(SourceOptions):
    type: Literal["webhook"] = Field(
        default="webhook", description="Source type: posts pushed to livewall by another tool."
    )
    secret_env: EnvName = Field(
        description="Name of the environment variable holding the shared secret that signs "
        "each request (X-Livewall-Signature)."
    )


class WebhookError(Exception):
    """A refused request: the HTTP status for the route to answer, and why in plain words."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def sign(secret: bytes, body: bytes, t: int) -> str:
    """The signature header's value for a body sent at Unix time `t`."""
    digest = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_signature(secret: bytes, header: str | None, body: bytes, now: float) -> None:
    """Accept a request signed with `secret` in the last five minutes, or raise a 401."""
    if not header:
        raise WebhookError(401, f"the {SIGNATURE_HEADER} header is missing")
    timestamp, signatures = _signature_fields(header)
    try:
        t = int(timestamp)
    except ValueError:
        raise WebhookError(401, "the signature has no valid timestamp (t=)") from None
    if abs(now - t) > TOLERANCE:
        raise WebhookError(401, "the signature has expired: check the sender's clock")
    expected = sign(secret, body, t).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, v) for v in signatures):
        raise WebhookError(401, "the signature does not match the body")


def _signature_fields(header: str) -> tuple[str, list[str]]:
    """The timestamp and the v1 signatures (several while a secret is being rotated)."""
    timestamp, signatures = "", []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value.strip()
        elif name == "v1":
            signatures.append(value.strip())
    return timestamp, signatures


def parse_payload(body: bytes) -> Candidate:
    """A pushed post as a candidate, or a 4xx naming the first thing wrong with it."""
    if len(body) > MAX_BODY:
        raise WebhookError(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        data = payload.load(body)
    except payload.PayloadError as exc:
        raise WebhookError(400, str(exc)) from None
    if not isinstance(data, dict):
        raise WebhookError(400, "the body must be a JSON object")
    author = data.get("author")
    if not isinstance(author, dict):
        raise WebhookError(400, "field 'author' is required and must be an object")
    handle = _required(author, "handle", MAX_HANDLE, "author.")
    return Candidate(
        external_id=_required(data, "id", MAX_ID),
        url=_link(data, "url"),
        author=Author(
            handle=handle,
            name=_optional(author, "name", MAX_AUTHOR_NAME, "author.") or handle,
            avatar_url=_link(author, "avatar", "author."),
            profile_url=_link(author, "url", "author."),
        ),
        created_at=_created_at(data),
        text=_optional(data, "text", MAX_TEXT) or "",
        html=_optional(data, "html", MAX_HTML),
        language=_optional(data, "language", MAX_LANGUAGE),
        media=_media(data.get("media")),
        network=_network(data),
    )


def _required(data: dict[str, Any], key: str, limit: int, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, f"field '{prefix}{key}' is required")
    return _within(value, f"{prefix}{key}", limit)


def _optional(data: dict[str, Any], key: str, limit: int, prefix: str = "") -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise WebhookError(400, f"field '{prefix}{key}' must be a string")
    return _within(value, f"{prefix}{key}", limit) if value else None


def _within(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise WebhookError(400, f"field '{field}' is {len(value)} characters long, at most {limit}")
    return value


def _link(data: dict[str, Any], key: str, prefix: str = "") -> str | None:
    value = _optional(data, key, MAX_URL, prefix)
    if value is not None and safe_url(value) is None:
        raise WebhookError(400, f"field '{prefix}{key}' must be an http or https URL")
    return value and safe_url(value)


def _created_at(data: dict[str, Any]) -> datetime:
    created = parse_iso_datetime(_required(data, "created_at", 64))
    if created is None:
        raise WebhookError(
            400,
            "field 'created_at' must be an ISO 8601 time with a timezone, between the years "
            f"{EARLIEST.year} and {LATEST.year - 1}, such as 2026-11-25T14:05:00-05:00",
        )
    return created


def _network(data: dict[str, Any]) -> str | None:
    value = _optional(data, "network", 40)
    if value is None:
        return None
    if not NETWORK.fullmatch(value.lower()):
        raise WebhookError(
            400,
            "field 'network' must be a plain name: 1 to 40 letters, digits, '-' or '_' "
            f"(such as linkedin), got {value!r}",
        )
    return value.lower()


def _media(items: Any) -> list[Media]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise WebhookError(400, "field 'media' must be a list")
    if len(items) > MAX_MEDIA:
        raise WebhookError(400, f"field 'media' has {len(items)} items, at most {MAX_MEDIA}")
    media = []
    for n, item in enumerate(items):
        prefix = f"media[{n}]."
        if not isinstance(item, dict):
            raise WebhookError(400, f"field 'media[{n}]' must be an object")
        kind = _optional(item, "type", 10, prefix) or "image"
        if kind not in MEDIA_TYPES:
            raise WebhookError(400, f"field '{prefix}type' must be one of {', '.join(MEDIA_TYPES)}")
        url = _link(item, "url", prefix)
        if url is None:
            raise WebhookError(400, f"field '{prefix}url' is required")
        alt = _optional(item, "alt", MAX_ALT, prefix) or ""
        media.append(Media(url=url, type=kind, alt=alt))  # type: ignore[arg-type]
    return media


class WebhookCollector:
    async def collect(self, state: SourceState) -> CollectResult:
        # Posts arrive through the web route; there is nothing to fetch.
        return CollectResult(state=state)


def create(options: Options, context: CollectorContext) -> WebhookCollector:
    return WebhookCollector()
