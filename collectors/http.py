"""HTTP for collectors: one request helper that turns every failure into a `CollectorError`.

Each network module asks for what it wants and gets either a response it can read or an
error with a stable kind; backoff between runs is the runner's business, and only a couple
of quick retries for passing faults happen here, inside one run.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio
import httpx
from pydantic import AfterValidator

from collectors.base import CollectorError, ErrorKind

Sleep = Callable[[float], Awaitable[None]]

# A Retry-After longer than this is a request to come back later, not to retry now.
LONGEST_QUICK_WAIT = 5.0
# The times a post may carry: outside them a date is a mistake or a trap (year 1 in the
# event's time zone is before year 1, and the card's « il y a » would fail on it).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """Quick retries inside one run, for faults that often pass within a second."""

    retries: int = 2
    base_delay: float = 0.25
    sleep: Sleep = anyio.sleep

    def delay(self, attempt: int) -> float:
        # Jitter keeps several sources that failed together from retrying together.
        return float(self.base_delay * 2.0**attempt * (0.5 + random.random()))


DEFAULT_RETRY = RetryPolicy()
RETRYABLE = frozenset({ErrorKind.TIMEOUT, ErrorKind.REFUSED, ErrorKind.HTTP_5XX})


def safe_url(value: object) -> str | None:
    """The URL if it is an absolute http(s) URL, else None: nobody sanitizes these links later."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def parse_iso_datetime(value: object) -> datetime | None:
    """An ISO 8601 timestamp with a timezone, in UTC, between EARLIEST and LATEST; None for
    anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        # Year 1 at +14:00 is before year 1 in UTC: there is no such datetime.
        utc = parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None
    return utc if utc is not None and EARLIEST <= utc < LATEST else None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def rate_limit_wait(headers: Mapping[str, str], now: datetime, margin: float = 0.1) -> float | None:
    """Seconds until the window resets when few requests are left (X-RateLimit-*), else None.

    Slowing down before the limit keeps the source out of 429s, which some servers punish.
    """
    try:
        limit = int(headers["x-ratelimit-limit"])
        remaining = int(headers["x-ratelimit-remaining"])
    except (KeyError, ValueError):
        return None
    if limit <= 0 or remaining > limit * margin:
        return None
    return seconds_until_reset(headers.get("x-ratelimit-reset"), now)


def seconds_until_reset(value: str | None, now: datetime) -> float | None:
    """X-RateLimit-Reset as seconds from now: an ISO timestamp (Mastodon) or Unix seconds."""
    if not value:
        return None
    when = parse_iso_datetime(value)
    if when is None:
        try:
            when = datetime.fromtimestamp(float(value), UTC)
        except (ValueError, OverflowError, OSError):
            return None
    return max(0.0, (when - now).total_seconds())


def error_for_status(response: httpx.Response, auth_hint: str = "") -> CollectorError:
    """The error a non-success status means; `auth_hint` says which secret was refused."""
    status = response.status_code
    where = f"HTTP {status} from {response.request.url}"
    now = datetime.now(UTC)
    if status in (401, 403):
        hint = auth_hint or "the credentials were refused"
        return CollectorError(ErrorKind.AUTH, f"{where}: {hint}")
    if status == 429:
        wait = parse_retry_after(response.headers.get("retry-after"), now)
        if wait is None:
            wait = seconds_until_reset(response.headers.get("x-ratelimit-reset"), now)
        return CollectorError(ErrorKind.RATE_LIMITED, f"{where}: rate limited", retry_after=wait)
    if status >= 500:
        wait = parse_retry_after(response.headers.get("retry-after"), now)
        return CollectorError(ErrorKind.HTTP_5XX, f"{where}: server error", retry_after=wait)
    return CollectorError(ErrorKind.HTTP_4XX, f"{where}: {response.reason_phrase}".rstrip(": "))


def error_for_exception(exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> CollectorError:
    if isinstance(exc, httpx.TimeoutException):
        return CollectorError(ErrorKind.TIMEOUT, f"no answer in time from {url}")
    if isinstance(exc, httpx.ConnectError):
        return CollectorError(ErrorKind.REFUSED, f"could not connect to {url}: {exc}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return CollectorError(ErrorKind.CONFIG, f"invalid URL {url}: {exc}")
    # A dropped connection or a body cut short: the network, not the payload, failed.
    return CollectorError(ErrorKind.REFUSED, f"connection to {url} failed: {exc}")


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str = "GET",
    params: Any = None,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    accept: Collection[int] = (),
    auth_hint: str = "",
    retry: RetryPolicy = DEFAULT_RETRY,
) -> httpx.Response:
    """A response with a 2xx, 304 or `accept`ed status; a `CollectorError` for anything else."""
    attempt = 0
    while True:
        try:
            return await _fetch_once(
                client, method, url, params, headers, json_body, accept, auth_hint
            )
        except CollectorError as error:
            if not _should_retry(error, attempt, retry):
                raise
        await retry.sleep(retry.delay(attempt))
        attempt += 1


def _should_retry(error: CollectorError, attempt: int, retry: RetryPolicy) -> bool:
    if error.kind not in RETRYABLE or attempt >= retry.retries:
        return False
    return error.retry_after is None or error.retry_after <= LONGEST_QUICK_WAIT


async def _fetch_once(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    params: Any,
    headers: Mapping[str, str] | None,
    json_body: Any,
    accept: Collection[int],
    auth_hint: str,
) -> httpx.Response:
    try:
        response = await client.request(
            method, url, params=params, headers=headers, json=json_body, follow_redirects=True
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise error_for_exception(exc, url) from None
    if response.is_success or response.status_code == 304 or response.status_code in accept:
        return response
    raise error_for_status(response, auth_hint)


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or a bad_payload error naming the URL."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CollectorError(
            ErrorKind.BAD_PAYLOAD, f"invalid JSON from {response.request.url}: {exc}"
        ) from None


def require_env(env: Mapping[str, str], name: str) -> str:
    """A secret from the environment, or a config error naming the missing variable."""
    value = env.get(name, "")
    if not value:
        raise CollectorError(ErrorKind.CONFIG, f"environment variable {name} is not set")
    return value


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn a surprise in a remote payload into a bad_payload error naming what was read.

    Payloads are untrusted JSON: walking them directly and catching the few lookup errors
    here keeps each mapping readable while still never letting a stray exception escape.
    """
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise CollectorError(ErrorKind.BAD_PAYLOAD, f"unexpected {what}: {exc!r}") from None


def text(value: object) -> str:
    """A JSON value that should be a string, or empty when it is not."""
    return value if isinstance(value, str) else ""


def count(value: object) -> int:
    """A JSON counter (some APIs send numbers as strings), or 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def identifier(value: object) -> str:
    """A remote object's id (a non-empty string, or a number some servers send)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"expected an id, got {value!r}")
    return str(value)


def http_url(value: str) -> str:
    """An option naming a document: an absolute http(s) URL."""
    url = safe_url(value)
    if url is None:
        raise ValueError("must be an http:// or https:// URL")
    return url


def http_base_url(value: str) -> str:
    """An option naming a server or an API: http(s) only, without the trailing slash."""
    return http_url(value).rstrip("/")


# What Mastodon and Bluesky take as one tag: letters, digits, _ (and the middle dot, ZWNJ).
HASHTAG = re.compile(r"[\w\u00b7\u200c]+")


def bare_hashtags(tags: Iterable[str]) -> tuple[str, ...]:
    """Hashtags as networks' APIs want them: without '#', empty ones dropped."""
    bare = tuple(tag.strip().lstrip("#") for tag in tags if tag.strip().lstrip("#"))
    wrong = [tag for tag in bare if not HASHTAG.fullmatch(tag)]
    if wrong:
        raise ValueError(f"a hashtag is one word of letters, digits and _: {wrong[0]!r} is not")
    return bare


# Option types shared by the network sources' settings.
BaseUrl = Annotated[str, AfterValidator(http_base_url)]
HttpUrl = Annotated[str, AfterValidator(http_url)]
Hashtags = Annotated[tuple[str, ...], AfterValidator(bare_hashtags)]


def dimension(value: object) -> int | None:
    """A width or height in pixels (a number, or digits in XML attributes), or None."""
    size = count(value)
    return size or None
