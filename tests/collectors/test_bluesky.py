from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from collectors.base import CollectorContext, CollectorError, ErrorKind, SourceState
from collectors.bluesky import (
    BlueskyCollector,
    Options,
    jwt_expiry,
    parse_search,
    rich_text_html,
)
from collectors.http import parse_iso_datetime
from tests.collectors.collector_fakes import FAST_RETRY, FakeServer, Reply, Request, fixture_json

pytestmark = pytest.mark.anyio
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"
ENV = {"BSKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}


def jwt(expires_in: float, scope: str = "com.atproto.access") -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {
        "scope": scope,
        "sub": "did:plc:z72i7hdynmk6r22z27h6tvur",
        "exp": int(time.time() + expires_in),
    }
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.c2lnbmF0dXJl"


class FakeBluesky:
    """A PDS that logs in, refreshes sessions and searches, as bsky.social answers."""

    def __init__(self, server: FakeServer) -> None:
        self.posts: list[dict[str, Any]] = []
        self.access_lifetime = 7200.0
        self.valid: set[str] = set()
        self.refresh_tokens: set[str] = set()
        # The most posts a page holds, whatever `limit` asks: the real service answers fewer.
        self.page_cap = 100
        # Searches that answer 502 while this is set, from their second page on.
        self.failing_after_first_page = False
        server.route("POST", CREATE, self.create_session)
        server.route("POST", REFRESH, self.refresh_session)
        server.route("GET", SEARCH, self.search)

    def session(self) -> Reply:
        access, refresh = jwt(self.access_lifetime), jwt(90 * 86400, "com.atproto.refresh") + "r"
        self.valid.add(access)
        self.refresh_tokens.add(refresh)
        return Reply(
            200,
            {
                "did": "did:plc:z72i7hdynmk6r22z27h6tvur",
                "handle": "umq.bsky.social",
                "email": "comms@umq.qc.ca",
                "emailConfirmed": True,
                "accessJwt": access,
                "refreshJwt": refresh,
                "active": True,
            },
        )

    def create_session(self, request: Request) -> Reply:
        body = json.loads(request.body)
        if body != {"identifier": "umq.bsky.social", "password": ENV["BSKY_APP_PASSWORD"]}:
            return Reply(
                401,
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
            )
        return self.session()

    def refresh_session(self, request: Request) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.refresh_tokens:
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        return self.session()

    def search(self, request: Request) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        if self.failing_after_first_page and request.param("cursor"):
            return Reply(502, {"error": "InternalServerError", "message": "upstream failed"})
        since = parse_iso_datetime(request.param("since"))
        until = parse_iso_datetime(request.param("until"))
        tag = request.param("tag")
        hits = [p for p in self.posts if since is None or self.sort_time(p) >= since]
        hits = [p for p in hits if until is None or self.sort_time(p) < until]
        hits = [p for p in hits if tag is None or f"#{tag}" in p["record"]["text"]]
        hits.sort(key=self.sort_time, reverse=True)
        start = int(request.param("cursor") or 0)
        limit = min(int(request.param("limit") or 25), self.page_cap)
        page = hits[start : start + limit]
        answer: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if start + limit < len(hits):
            answer["cursor"] = str(start + limit)
        return Reply(200, answer)

    @staticmethod
    def sort_time(post: dict[str, Any]) -> datetime:
        created = parse_iso_datetime(post["record"]["createdAt"])
        indexed = parse_iso_datetime(post["indexedAt"])
        assert created and indexed
        return min(created, indexed)

    def post(self, how_many: int, at: datetime | None = None) -> list[dict[str, Any]]:
        template = fixture_json("bluesky_search.json")["posts"][-1]
        start = at or datetime.now(UTC) - timedelta(minutes=30)
        new = []
        for n in range(how_many):
            post = copy.deepcopy(template)
            when = (
                (start + timedelta(seconds=len(self.posts) + n)).isoformat().replace("+00:00", "Z")
            )
            post["uri"] = (
                f"at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lc{len(self.posts) + n:09d}"
            )
            post["record"]["createdAt"] = post["indexedAt"] = when
            new.append(post)
        self.posts.extend(new)
        return new


@pytest.fixture
def bluesky(server: FakeServer) -> Iterator[FakeBluesky]:
    yield FakeBluesky(server)


def collector(
    server: FakeServer, http: httpx.AsyncClient, env: dict[str, str] = ENV, **options: Any
) -> BlueskyCollector:
    settings = {
        "name": "bsky",
        "handle": "umq.bsky.social",
        "app_password_env": "BSKY_APP_PASSWORD",
        "service": server.base_url,
        **options,
    }
    context = CollectorContext(http=http, hashtags=("AssisesUMQ",), env=env)
    return BlueskyCollector(Options(**settings), context, retry=FAST_RETRY)


async def error_of(source: BlueskyCollector, state: SourceState) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        await source.collect(state)
    return caught.value


def test_post_views_map_to_candidates() -> None:
    found, cursor, unreadable = parse_search(fixture_json("bluesky_search.json"))
    assert (cursor, unreadable) == (None, 0)
    reply, with_media, quoting, linking, first = found
    assert reply.candidate is None
    post = first.candidate
    assert post is not None
    assert (
        post.external_id == "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbxq2kz5ks2c"
    )
    assert post.url == "https://bsky.app/profile/villedequebec.bsky.social/post/3lbxq2kz5ks2c"
    assert post.author.handle == "@villedequebec.bsky.social"
    assert post.author.profile_url == "https://bsky.app/profile/villedequebec.bsky.social"
    assert (post.likes, post.shares, post.replies, post.language) == (40, 13, 3, "fr")
    assert post.html is not None
    assert '<a href="https://bsky.app/hashtag/AssisesUMQ">#AssisesUMQ</a> à Québec 🎉' in post.html
    assert (
        '<a href="https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz">@umq.bsky.social</a>'
        in post.html
    )
    assert (
        '<a href="https://municipaldabord.ca/assises">municipaldabord.ca/assises</a>' in post.html
    )
    [image] = post.media
    assert (image.alt, image.width, image.height) == ("La salle", 2000, 1500)
    assert linking.candidate and linking.candidate.media[0].type == "link"
    assert linking.candidate.hashtags == ["UMQ2026"]
    assert quoting.candidate and "<blockquote><p>Le programme complet" in str(
        quoting.candidate.html
    )
    assert with_media.candidate and with_media.candidate.sensitive
    assert [m.sensitive for m in with_media.candidate.media] == [True]
    assert "<blockquote>" in str(with_media.candidate.html)


def test_rich_text_escapes_and_counts_bytes() -> None:
    text = "é <b> 🎉 lien\nfin"
    start = len("é <b> 🎉 ".encode())
    facets = [
        {
            "index": {"byteStart": start, "byteEnd": start + 4},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://a.example/"}],
        },
        {
            "index": {"byteStart": 0, "byteEnd": 2},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "javascript:alert(1)"}],
        },
        {
            "index": {"byteStart": 5, "byteEnd": 999},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "x"}],
        },
    ]
    assert (
        rich_text_html(text, facets)
        == '<p>é &lt;b&gt; 🎉 <a href="https://a.example/">lien</a><br>fin</p>'
    )


def test_jwt_expiry_is_read_without_verifying() -> None:
    assert jwt_expiry(jwt(60)) == pytest.approx(time.time() + 60, abs=2)
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.!!!.c") is None


async def test_first_run_logs_in_and_searches_since_the_lookback(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.post(1, at=datetime.now(UTC) - timedelta(days=3))
    recent = bluesky.post(3)
    result = await collector(server, http).collect(SourceState())
    assert [p.external_id for p in result.posts] == [p["uri"] for p in recent]
    assert result.state.cursor == recent[-1]["indexedAt"].replace("Z", "+00:00")
    [request] = server.to(SEARCH)
    assert (request.param("q"), request.param("tag"), request.param("sort")) == (
        "#AssisesUMQ",
        "AssisesUMQ",
        "latest",
    )
    since = parse_iso_datetime(request.param("since"))
    assert since and abs((datetime.now(UTC) - since) - timedelta(hours=24)) < timedelta(minutes=1)
    assert len(server.to(CREATE)) == 1


async def test_incremental_run_reuses_the_session_and_skips_what_it_has(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.post(2)
    source = collector(server, http)
    first = await source.collect(SourceState())
    new = bluesky.post(2)
    second = await source.collect(first.state)
    assert [p.external_id for p in second.posts] == [p["uri"] for p in new]
    assert len(server.to(CREATE)) == 1
    third = await source.collect(second.state)
    assert third.posts == [] and third.state.cursor == second.state.cursor


async def test_a_burst_over_several_pages(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.post(1)
    source = collector(server, http, limit=25)
    first = await source.collect(SourceState())
    burst = bluesky.post(110)
    second = await source.collect(first.state)
    assert [p.external_id for p in second.posts] == [p["uri"] for p in burst]
    assert len(server.to(SEARCH)) == 1 + 5


async def test_session_is_refreshed_before_it_expires(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.access_lifetime = 120  # under the five-minute margin
    source = collector(server, http)
    await source.collect(SourceState())
    await source.collect(SourceState())
    assert len(server.to(CREATE)) == 1 and len(server.to(REFRESH)) == 1
    assert "abcd" not in repr(source.session)


async def test_expired_token_answer_refreshes_the_session_without_logging_in_again(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    source = collector(server, http)
    first = await source.collect(SourceState())
    bluesky.valid.clear()  # the server expired the access token before its time
    [new] = bluesky.post(1)
    result = await source.collect(first.state)
    assert [p.external_id for p in result.posts] == [new["uri"]]
    assert (len(server.to(CREATE)), len(server.to(REFRESH))) == (1, 1)
    [refresh] = server.to(REFRESH)
    assert refresh.headers["authorization"].endswith("r")  # with the refresh token, not access


async def test_a_refused_refresh_logs_in_again(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    source = collector(server, http)
    first = await source.collect(SourceState())
    bluesky.valid.clear()
    bluesky.refresh_tokens.clear()  # the refresh token is gone too
    [new] = bluesky.post(1)
    result = await source.collect(first.state)
    assert [p.external_id for p in result.posts] == [new["uri"]]
    assert (len(server.to(CREATE)), len(server.to(REFRESH))) == (2, 1)


async def test_first_run_reads_the_whole_window_though_pages_hold_fewer_than_asked(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.page_cap = 25  # `limit` asks for 50
    bluesky.post(3, at=datetime.now(UTC) - timedelta(hours=30))
    morning = bluesky.post(130, at=datetime.now(UTC) - timedelta(hours=5))
    result = await collector(server, http).collect(SourceState())
    assert sorted(p.external_id for p in result.posts) == sorted(p["uri"] for p in morning)
    assert len(server.to(SEARCH)) == 6  # 130 posts, 25 a page
    assert result.notice is None and result.state.extra["searches"]["#AssisesUMQ"]["owed"] == []


async def test_page_bound_half_way_then_the_next_runs_read_what_is_left_and_what_is_new(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.page_cap = 25
    bluesky.post(130, at=datetime.now(UTC) - timedelta(hours=5))
    source = collector(server, http, max_pages=2)
    first = await source.collect(SourceState())
    assert len(first.posts) == 50
    assert first.notice is not None and "#AssisesUMQ" in first.notice
    [owed] = first.state.extra["searches"]["#AssisesUMQ"]["owed"]
    bluesky.post(40)  # posted while the look-back is under way
    collected = {p.external_id for p in first.posts}
    state = first.state
    for _ in range(10):
        result = await source.collect(state)
        collected |= {p.external_id for p in result.posts}
        state = result.state
        if result.notice is None and not state.extra["searches"]["#AssisesUMQ"]["owed"]:
            break
    assert collected == {p["uri"] for p in bluesky.posts}
    # The next run asked for what lay before the oldest post read, that instant included.
    until = [parse_iso_datetime(r.param("until")) for r in server.to(SEARCH) if r.param("until")]
    owed_until = parse_iso_datetime(owed[1])
    assert (
        until[0]
        and owed_until
        and timedelta(0) <= owed_until - until[0] < timedelta(milliseconds=1)
    )


async def test_a_failure_half_way_keeps_what_was_read_and_owes_the_rest(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    bluesky.page_cap = 25
    bluesky.post(60, at=datetime.now(UTC) - timedelta(hours=5))
    bluesky.failing_after_first_page = True
    source = collector(server, http)
    first = await source.collect(SourceState())
    assert len(first.posts) == 25
    assert first.error is not None and first.error.kind is ErrorKind.HTTP_5XX
    bluesky.failing_after_first_page = False
    second = await source.collect(first.state)
    assert {p.external_id for p in first.posts + second.posts} == {p["uri"] for p in bluesky.posts}
    assert second.error is None and second.state.extra["searches"]["#AssisesUMQ"]["owed"] == []


async def test_a_state_from_before_per_search_progress_goes_on_from_its_cursor(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    [seen] = bluesky.post(1)
    [new] = bluesky.post(1)
    state = SourceState(
        cursor=seen["indexedAt"].replace("Z", "+00:00"), extra={"seen": [seen["uri"]]}
    )
    result = await collector(server, http).collect(state)
    assert [p.external_id for p in result.posts] == [new["uri"]]
    since = parse_iso_datetime(server.to(SEARCH)[0].param("since"))
    assert since is not None and since > datetime.now(UTC) - timedelta(hours=1)


async def test_wrong_app_password(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    error = await error_of(
        collector(server, http, env={"BSKY_APP_PASSWORD": "wrong"}), SourceState()
    )
    assert error.kind is ErrorKind.AUTH
    assert "BSKY_APP_PASSWORD" in error.message and "wrong" not in error.message


async def test_missing_app_password(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    error = await error_of(collector(server, http, env={}), SourceState())
    assert (error.kind, error.message) == (
        ErrorKind.CONFIG,
        "environment variable BSKY_APP_PASSWORD is not set",
    )


async def test_rate_limited(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    reset = str(int(time.time()) + 300)
    headers = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": reset,
        "Retry-After": "300",
    }
    server.route(
        "GET",
        SEARCH,
        Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers),
    )
    error = await error_of(collector(server, http), SourceState())
    assert (error.kind, error.retry_after) == (ErrorKind.RATE_LIMITED, 300)


async def test_server_error(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    server.route("GET", SEARCH, Reply(502, "<html>Bad Gateway</html>"))
    error = await error_of(collector(server, http), SourceState())
    assert error.kind is ErrorKind.HTTP_5XX and len(server.to(SEARCH)) == 3


async def test_read_timeout(
    server: FakeServer, bluesky: FakeBluesky, impatient_http: httpx.AsyncClient
) -> None:
    server.route("GET", SEARCH, Reply(200, {"posts": []}, delay=0.6))
    error = await error_of(collector(server, impatient_http), SourceState())
    assert error.kind is ErrorKind.TIMEOUT


async def test_malformed_and_truncated_answers(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    server.route("GET", SEARCH, Reply(200, {"feed": []}))
    assert (await error_of(collector(server, http), SourceState())).kind is ErrorKind.BAD_PAYLOAD
    server.route("GET", SEARCH, Reply(200, fixture_json("bluesky_search.json"), truncate=100))
    assert (await error_of(collector(server, http), SourceState())).kind is ErrorKind.REFUSED


async def test_one_unreadable_post_is_reported_not_fatal(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    [good] = bluesky.post(1)
    server.route("GET", SEARCH, Reply(200, {"posts": [{"uri": 5}, good]}))
    result = await collector(server, http).collect(SourceState())
    assert [p.external_id for p in result.posts] == [good["uri"]]
    assert result.error is not None and result.error.kind is ErrorKind.BAD_PAYLOAD


async def test_a_query_replaces_hashtags(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    await collector(server, http, query="assises umq").collect(SourceState())
    [request] = server.to(SEARCH)
    assert (request.param("q"), request.param("tag")) == ("assises umq", None)


def test_options_are_documented() -> None:
    for name, field in Options.model_fields.items():
        assert field.description, name


async def test_a_record_rewritten_in_place_comes_again_as_an_edit(
    server: FakeServer, bluesky: FakeBluesky, http: httpx.AsyncClient
) -> None:
    [post] = bluesky.post(1)
    source = collector(server, http)
    first = await source.collect(SourceState())
    again = await source.collect(first.state)
    assert again.posts == []  # the same version is not sent twice
    post["cid"] = "bafyreinewversion"
    post["record"].update(text="Texte réécrit #AssisesUMQ", facets=[])
    edited = await source.collect(again.state)
    assert [(p.external_id, p.text) for p in edited.posts] == [
        (post["uri"], "Texte réécrit #AssisesUMQ")
    ]
