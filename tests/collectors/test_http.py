from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from collectors.base import CollectorError, ErrorKind
from collectors.http import (
    RetryPolicy,
    fetch,
    json_body,
    parse_iso_datetime,
    parse_retry_after,
    rate_limit_wait,
    require_env,
    safe_url,
)
from tests.collectors.collector_fakes import FAST_RETRY, FakeServer, Reply

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 25, 14, 5, tzinfo=UTC)


async def fetch_error(client: httpx.AsyncClient, url: str, **kwargs: object) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        await fetch(client, url, **{"retry": FAST_RETRY, **kwargs})  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=c", "https://example.org/a?b=c"),
        ("http://example.org", "http://example.org"),
        (" https://example.org/x ", "https://example.org/x"),
        ("javascript:alert(1)", None),
        ("data:image/png;base64,AAAA", None),
        ("//example.org/x", None),
        ("/relative", None),
        ("ftp://example.org/file", None),
        ("https://", None),
        ("http://[::1", None),
        (None, None),
        (42, None),
    ],
)
def test_safe_url_keeps_only_absolute_http_links(url: object, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after("Wed, 25 Nov 2026 14:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_rate_limit_wait_slows_down_before_the_limit() -> None:
    reset = (NOW + timedelta(seconds=200)).isoformat().replace("+00:00", "Z")
    low = {"x-ratelimit-limit": "300", "x-ratelimit-remaining": "29", "x-ratelimit-reset": reset}
    plenty = {**low, "x-ratelimit-remaining": "200"}
    assert rate_limit_wait(low, NOW) == 200
    assert rate_limit_wait(plenty, NOW) is None
    assert rate_limit_wait({}, NOW) is None


def test_iso_datetimes_need_a_timezone() -> None:
    assert parse_iso_datetime("2026-11-25T14:05:00.123Z") == NOW.replace(microsecond=123000)
    assert parse_iso_datetime("2026-11-25T09:05:00-05:00") == NOW
    assert parse_iso_datetime("2026-11-25T14:05:00") is None
    assert parse_iso_datetime("yesterday") is None


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC: no such datetime
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
        "0001-01-01T00:00:00Z",  # a real datetime, but no post's
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
    ],
)
def test_iso_datetimes_outside_the_years_of_posts_are_none(value: str) -> None:
    assert parse_iso_datetime(value) is None


def test_missing_secret_is_a_config_error() -> None:
    with pytest.raises(CollectorError) as caught:
        require_env({}, "MASTODON_TOKEN")
    assert caught.value.kind is ErrorKind.CONFIG
    assert caught.value.message == "environment variable MASTODON_TOKEN is not set"


async def test_success_and_not_modified_are_answers(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    server.route("GET", "/ok", Reply(200, {"a": 1}))
    server.route("GET", "/same", Reply(304))
    assert json_body(await fetch(http, server.url("/ok"))) == {"a": 1}
    assert (await fetch(http, server.url("/same"))).status_code == 304


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ErrorKind.AUTH),
        (403, ErrorKind.AUTH),
        (404, ErrorKind.HTTP_4XX),
        (410, ErrorKind.HTTP_4XX),
    ],
)
async def test_statuses_map_to_kinds(
    server: FakeServer, http: httpx.AsyncClient, status: int, kind: ErrorKind
) -> None:
    server.route("GET", "/x", Reply(status, {"error": "nope"}))
    error = await fetch_error(http, server.url("/x"), auth_hint="the token in TOKEN was refused")
    assert error.kind is kind
    assert error.message.startswith(f"HTTP {status} from {server.url('/x')}")
    if kind is ErrorKind.AUTH:
        assert error.message.endswith("the token in TOKEN was refused")
    assert len(server.to("/x")) == 1  # client errors are not retried


async def test_rate_limited_with_retry_after_http_date(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)
    server.route("GET", "/x", Reply(429, {"error": "Too many requests"}, {"Retry-After": later}))
    error = await fetch_error(http, server.url("/x"))
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after is not None and 590 < error.retry_after <= 600


async def test_server_errors_are_retried_twice_then_reported(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    server.route("GET", "/x", Reply(503, "busy", {"Retry-After": "2"}))
    error = await fetch_error(http, server.url("/x"))
    assert (error.kind, error.retry_after) == (ErrorKind.HTTP_5XX, 2)
    assert len(server.to("/x")) == 3


async def test_a_long_retry_after_is_not_retried_now(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    server.route("GET", "/x", Reply(503, "maintenance", {"Retry-After": "3600"}))
    error = await fetch_error(http, server.url("/x"))
    assert error.retry_after == 3600
    assert len(server.to("/x")) == 1


async def test_a_passing_fault_is_retried_with_backoff(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    server.route("GET", "/x", Reply(502), Reply(500), Reply(200, {"ok": True}))
    response = await fetch(http, server.url("/x"), retry=RetryPolicy(base_delay=0.1, sleep=sleep))
    assert json_body(response) == {"ok": True}
    assert len(slept) == 2 and 0.05 <= slept[0] <= 0.15 and 0.1 <= slept[1] <= 0.3


async def test_read_timeout(server: FakeServer, impatient_http: httpx.AsyncClient) -> None:
    server.route("GET", "/slow", Reply(200, {"late": True}, delay=0.6))
    error = await fetch_error(impatient_http, server.url("/slow"), retry=RetryPolicy(retries=0))
    assert error.kind is ErrorKind.TIMEOUT
    assert server.url("/slow") in error.message


async def test_connection_refused(http: httpx.AsyncClient) -> None:
    error = await fetch_error(http, "http://127.0.0.1:9/nothing-listens-here")
    assert error.kind is ErrorKind.REFUSED


async def test_body_cut_short(server: FakeServer, http: httpx.AsyncClient) -> None:
    server.route("GET", "/cut", Reply(200, b'{"statuses": [1, 2, 3]}', truncate=8))
    error = await fetch_error(http, server.url("/cut"))
    assert error.kind is ErrorKind.REFUSED
    assert len(server.to("/cut")) == 3


async def test_malformed_json_is_bad_payload(server: FakeServer, http: httpx.AsyncClient) -> None:
    server.route("GET", "/bad", Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(CollectorError) as caught:
        json_body(await fetch(http, server.url("/bad")))
    assert caught.value.kind is ErrorKind.BAD_PAYLOAD


async def test_accepted_statuses_are_returned(server: FakeServer, http: httpx.AsyncClient) -> None:
    server.route("GET", "/gone", Reply(404, {"error": "Record not found"}))
    response = await fetch(http, server.url("/gone"), accept=(404,))
    assert response.status_code == 404


async def test_an_invalid_url_is_a_config_error(http: httpx.AsyncClient) -> None:
    error = await fetch_error(http, "nonsense://x")
    assert error.kind is ErrorKind.CONFIG
