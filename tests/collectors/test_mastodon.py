from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
import pytest
from pydantic import ValidationError

from collectors.base import (
    Candidate,
    CollectorContext,
    CollectorError,
    CollectResult,
    ErrorKind,
    SourceState,
)
from collectors.mastodon import (
    MastodonCollector,
    Options,
    parse_timeline,
    status_to_candidate,
    streaming_http_base,
    with_emojis,
)
from tests.collectors.collector_fakes import FAST_RETRY, FakeServer, Reply, Request, fixture_json

pytestmark = pytest.mark.anyio
TAG_PATH = "/api/v1/timelines/tag/AssisesUMQ"
FIRST_ID = 113493722548290000


class FakeMastodon:
    """A Mastodon server's hashtag timeline and status endpoints, paged as the real one pages."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.statuses: list[dict[str, Any]] = []
        self.rate = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299"}
        # Statuses are posted from this morning on, a second apart, unless told otherwise.
        self.morning = datetime.now(UTC) - timedelta(hours=3)
        server.route("GET", TAG_PATH, self.timeline)
        server.route("GET", "/api/v1/statuses/*", self.status)

    def post(
        self, how_many: int, at: datetime | None = None, **changes: Any
    ) -> list[dict[str, Any]]:
        """New statuses, a second apart from `at` (default: as numbered from this morning)."""
        new = [
            self.make(len(self.statuses) + n, at + timedelta(seconds=n) if at else None, **changes)
            for n in range(how_many)
        ]
        self.statuses.extend(new)
        return new

    def make(self, number: int, at: datetime | None = None, **changes: Any) -> dict[str, Any]:
        status = copy.deepcopy(fixture_json("mastodon_status.json"))
        status_id = str(FIRST_ID + number)
        created = at or self.morning + timedelta(seconds=number)
        status.update(
            id=status_id,
            uri=f"https://mastodon.quebec/users/villedequebec/statuses/{status_id}",
            url=f"https://mastodon.quebec/@villedequebec/{status_id}",
            created_at=created.isoformat().replace("+00:00", ".000Z"),
        )
        status.update(changes)
        return status

    def timeline(self, request: Request) -> Reply:
        limit = int(request.param("limit") or 20)
        min_id, max_id = request.param("min_id"), request.param("max_id")
        ordered = sorted(self.statuses, key=lambda s: int(s["id"]))
        if min_id:  # the page immediately newer than min_id
            page = [s for s in ordered if int(s["id"]) > int(min_id)][:limit]
        else:
            older = [s for s in ordered if max_id is None or int(s["id"]) < int(max_id)]
            page = older[-limit:]
        page.reverse()  # newest first, as Mastodon answers
        return Reply(200, page, {**self.rate, **self.link(request, page)})

    def link(self, request: Request, page: list[dict[str, Any]]) -> dict[str, str]:
        if not page:
            return {}
        kept = [(k, v) for k, vs in request.query.items() for v in vs if not k.endswith("_id")]

        def url(**cursor: str) -> str:
            return self.server.url(TAG_PATH) + "?" + urlencode(kept + list(cursor.items()))

        return {
            "Link": f'<{url(max_id=page[-1]["id"])}>; rel="next", <{url(min_id=page[0]["id"])}>; rel="prev"'
        }

    def status(self, request: Request) -> Reply:
        wanted = request.path.rsplit("/", 1)[-1]
        for status in self.statuses:
            if status["id"] == wanted:
                return Reply(200, status, self.rate)
        return Reply(404, {"error": "Record not found"}, self.rate)


@pytest.fixture
def mastodon(server: FakeServer) -> Iterator[FakeMastodon]:
    yield FakeMastodon(server)


def collector(
    server: FakeServer,
    http: httpx.AsyncClient,
    env: dict[str, str] | None = None,
    event_start: datetime | None = None,
    **options: Any,
) -> MastodonCollector:
    settings = {"name": "mq", "instance": server.base_url, "recheck_per_run": 0, **options}
    context = CollectorContext(
        http=http, hashtags=("AssisesUMQ", "UMQ2026"), env=env or {}, event_start=event_start
    )
    return MastodonCollector(Options(**settings), context, retry=FAST_RETRY)


def numbers(posts: list[Candidate]) -> list[str]:
    """The status ids of collected posts (their uri ends with it)."""
    return [p.external_id.rsplit("/", 1)[-1] for p in posts]


async def until_caught_up(
    source: MastodonCollector, state: SourceState, runs: int = 20
) -> tuple[list[CollectResult], SourceState]:
    """Runs until one owes nothing more: no look-back under way and no notice."""
    results = []
    for _ in range(runs):
        result = await source.collect(state)
        results.append(result)
        state = result.state
        if "older_than" not in state.extra and result.notice is None:
            return results, state
    raise AssertionError(f"still owing after {runs} runs")


async def caught_up(
    source: MastodonCollector, mastodon: FakeMastodon, before: int, burst: int
) -> tuple[SourceState, list[dict[str, Any]]]:
    """The state after a first run over `before` statuses, and `burst` statuses posted since."""
    mastodon.post(before)
    first = await source.collect(SourceState())
    return first.state, mastodon.post(burst)


async def error_of(collector: MastodonCollector, state: SourceState) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        await collector.collect(state)
    return caught.value


def test_status_maps_to_candidate() -> None:
    post = status_to_candidate(fixture_json("mastodon_status.json"), "mastodon.quebec")
    assert post is not None
    uri = "https://mastodon.quebec/users/villedequebec/statuses/113493722548290871"
    assert (post.external_id, post.dedupe_key) == (uri, uri)
    assert post.url == "https://mastodon.quebec/@villedequebec/113493722548290871"
    assert post.author.handle == "@villedequebec@mastodon.quebec"
    assert post.author.name == "Ville de Québec"
    assert post.author.avatar_url and post.author.avatar_url.endswith("6d2b2bbf.png")
    assert post.created_at == datetime(2026, 11, 25, 14, 5, 12, tzinfo=UTC)
    assert (post.likes, post.shares, post.replies, post.language) == (37, 14, 2, "fr")
    assert post.hashtags == ["assisesumq"]
    assert post.html and 'alt=":umq:"' in post.html and 'class="emoji"' in post.html
    assert "static/umq.png" in post.html
    [image] = post.media
    assert (image.type, image.width, image.height) == ("image", 1600, 1067)
    assert image.alt.startswith("La grande salle")
    assert image.preview_url and "/small/" in image.preview_url


def test_boosts_replies_and_private_statuses() -> None:
    original = fixture_json("mastodon_status.json")
    boost = {**original, "id": "2", "uri": "https://x.example/boost/2", "reblog": original}
    reply = {**original, "id": "3", "uri": "https://x.example/3", "in_reply_to_id": "1"}
    private = {**original, "id": "4", "uri": "https://x.example/4", "visibility": "private"}
    seen, unreadable = parse_timeline([private, reply, boost, {"id": "9"}], "mastodon.quebec")
    assert unreadable == 1
    assert [s.timeline_id for s in seen] == ["2", "3", "4"]
    assert seen[0].candidate and seen[0].candidate.external_id == original["uri"]
    assert seen[0].status_id == original["id"]
    assert seen[1].candidate is None and seen[2].candidate is None


def test_sensitive_media_spoiler_and_unsafe_links() -> None:
    status = fixture_json("mastodon_status.json")
    status.update(sensitive=True, spoiler_text="Photos de la soirée", url="javascript:alert(1)")
    status["account"]["avatar_static"] = "data:image/png;base64,AAAA"
    status["account"]["avatar"] = "data:image/png;base64,AAAA"
    status["media_attachments"].append({"type": "unknown", "url": "https://x.example/a.bin"})
    post = status_to_candidate(status, "mastodon.quebec")
    assert post is not None
    assert post.content_warning == "Photos de la soirée" and post.sensitive
    assert [m.sensitive for m in post.media] == [True]
    assert post.url == status["uri"]  # the unsafe url is dropped for the uri
    assert post.author.avatar_url is None


def test_emoji_needs_a_safe_url_and_a_plain_shortcode() -> None:
    emojis = [
        {"shortcode": "ok", "static_url": "https://e.example/ok.png"},
        {"shortcode": "bad", "static_url": "javascript:alert(1)"},
    ]
    assert with_emojis(":ok: :bad: :other:", emojis) == (
        '<img src="https://e.example/ok.png" alt=":ok:" title=":ok:" class="emoji"> :bad: :other:'
    )


async def test_first_run_reads_the_whole_window_over_as_many_pages_as_it_takes(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    mastodon.post(57)  # this morning's posts: more than one page of 40
    result = await collector(server, http).collect(SourceState())
    assert numbers(result.posts) == [s["id"] for s in mastodon.statuses]  # all 57, oldest first
    assert result.state.cursor == mastodon.statuses[-1]["id"]
    assert "older_than" not in result.state.extra and result.notice is None
    first, second, *_ = server.to(TAG_PATH)
    assert first.query["any[]"] == ["UMQ2026"] and first.param("limit") == "40"
    assert first.param("min_id") is None and first.param("max_id") is None
    assert second.param("max_id") == mastodon.statuses[17]["id"]  # the oldest of page one
    assert "authorization" not in first.headers


async def test_first_run_stops_at_the_window_start(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    old = mastodon.post(30, at=datetime.now(UTC) - timedelta(hours=30))
    recent = mastodon.post(50)
    source = collector(server, http)
    first = await source.collect(SourceState())
    assert numbers(first.posts) == [s["id"] for s in recent]
    assert len(server.to(TAG_PATH)) == 2  # the second page reached before the window: done
    since = datetime.fromisoformat(first.state.extra["window_since"])
    assert abs(datetime.now(UTC) - timedelta(hours=24) - since) < timedelta(minutes=1)
    again = await source.collect(first.state)
    assert again.posts == [] and old[0]["id"] not in numbers(again.posts)


async def test_the_event_start_reaches_further_back_than_the_lookback(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    mastodon.post(5, at=datetime.now(UTC) - timedelta(days=3))  # before the event
    during = mastodon.post(30, at=datetime.now(UTC) - timedelta(hours=30))
    recent = mastodon.post(50)
    start = datetime.now(UTC) - timedelta(days=2)
    result = await collector(server, http, event_start=start).collect(SourceState())
    assert numbers(result.posts) == [s["id"] for s in during + recent]
    assert result.state.extra["window_since"] == start.isoformat()


async def test_page_bound_half_way_then_the_next_runs_read_what_is_left_and_what_is_new(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    mastodon.post(130)
    source = collector(server, http, max_pages=2)
    first = await source.collect(SourceState())
    assert len(first.posts) == 80 and first.state.cursor == mastodon.statuses[-1]["id"]
    assert first.state.extra["older_than"] == mastodon.statuses[50]["id"]
    assert first.notice is not None and "max_pages" in first.notice
    assert "look-back" in first.notice
    newer = mastodon.post(45)  # posted while the look-back is under way
    results, _ = await until_caught_up(source, first.state)
    collected = [n for r in [first, *results] for n in numbers(r.posts)]
    assert sorted(set(collected)) == sorted(s["id"] for s in mastodon.statuses)
    assert set(numbers(results[0].posts)) >= {s["id"] for s in newer[:40]}
    assert all(len(r.posts) <= 3 * 40 for r in results)  # two pages, one more for the look-back


async def test_a_failure_half_way_keeps_the_pages_read_and_the_rest_is_owed(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    mastodon.post(100)
    down = True
    server.route(
        "GET",
        TAG_PATH,
        lambda r: (
            Reply(502, "<html>Bad</html>") if down and r.param("max_id") else mastodon.timeline(r)
        ),
    )
    source = collector(server, http)
    first = await source.collect(SourceState())
    assert first.error is not None and first.error.kind is ErrorKind.HTTP_5XX
    assert len(first.posts) == 40 and first.state.extra["older_than"] == mastodon.statuses[60]["id"]
    down = False
    results, _ = await until_caught_up(source, first.state)
    collected = {n for r in [first, *results] for n in numbers(r.posts)}
    assert collected == {s["id"] for s in mastodon.statuses}


async def test_incremental_run_asks_only_for_newer(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    source = collector(server, http)
    state, new = await caught_up(source, mastodon, 5, 3)
    second = await source.collect(state)
    assert [p.external_id for p in second.posts] == [s["uri"] for s in new]
    assert second.state.cursor == new[-1]["id"]
    assert server.to(TAG_PATH)[2].param("min_id") == state.cursor  # after the first run's two
    third = await source.collect(second.state)
    assert third.posts == [] and third.state.cursor == second.state.cursor


async def test_a_burst_across_four_pages_is_collected_once_oldest_first(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    source = collector(server, http)
    state, burst = await caught_up(source, mastodon, 10, 130)
    result = await source.collect(state)
    assert [p.external_id for p in result.posts] == [s["uri"] for s in burst]
    assert result.state.cursor == burst[-1]["id"]
    # The first run's page and the empty one after it; then four pages and the empty one.
    assert len(server.to(TAG_PATH)) == 2 + 5


async def test_max_pages_leaves_the_rest_for_the_next_run(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    source = collector(server, http, max_pages=2)
    state, burst = await caught_up(source, mastodon, 1, 100)
    first = await source.collect(state)
    second = await source.collect(first.state)
    assert [p.external_id for p in first.posts + second.posts] == [s["uri"] for s in burst]


async def test_boosted_status_is_collected_once(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    [original] = mastodon.post(1)
    mastodon.post(1, reblog=copy.deepcopy(original), content="", uri="https://x.example/boost")
    result = await collector(server, http).collect(SourceState())
    assert [p.external_id for p in result.posts] == [original["uri"]]


async def test_deleted_status_is_reported(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    statuses = mastodon.post(4)
    source = collector(server, http, recheck_per_run=2)
    first = await source.collect(SourceState())
    mastodon.statuses.remove(statuses[0])
    second = await source.collect(first.state)
    assert second.deleted == [statuses[0]["uri"]]
    assert [r.path for r in server.to("/api/v1/statuses/" + statuses[1]["id"])]
    third = await source.collect(second.state)
    assert third.deleted == [] and len(third.state.extra["recent"]) == 3


async def test_edited_status_comes_again(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    [status] = mastodon.post(1)
    source = collector(server, http, recheck_per_run=3)
    first = await source.collect(SourceState())
    status.update(content="<p>Corrigé</p>", edited_at="2026-11-25T15:00:00.000Z")
    second = await source.collect(first.state)
    [edited] = second.posts
    assert edited.external_id == status["uri"] and edited.html == "<p>Corrigé</p>"
    assert edited.edited_at == datetime(2026, 11, 25, 15, tzinfo=UTC)
    third = await source.collect(second.state)
    assert third.posts == []  # the same edit is not sent twice


async def test_slows_down_before_the_rate_limit(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    source = collector(server, http)
    state, burst = await caught_up(source, mastodon, 1, 100)
    reset = datetime.now(UTC) + timedelta(seconds=120)
    mastodon.rate = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "12",
        "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
    }
    result = await source.collect(state)
    assert result.wait_at_least is not None and 100 < result.wait_at_least <= 120
    assert [p.external_id for p in result.posts] == [s["uri"] for s in burst[:40]]
    assert result.state.cursor == burst[39]["id"]


async def test_rate_limited_answer(server: FakeServer, http: httpx.AsyncClient) -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=240)).isoformat().replace("+00:00", "Z")
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    server.route("GET", TAG_PATH, Reply(429, {"error": "Too many requests"}, headers))
    error = await error_of(collector(server, http), SourceState())
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after is not None and 230 < error.retry_after <= 240


async def test_rate_limited_mid_burst_keeps_the_pages_read(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    source = collector(server, http)
    state, burst = await caught_up(source, mastodon, 1, 100)
    pages = iter([True, False])
    server.route(
        "GET",
        TAG_PATH,
        lambda r: (
            mastodon.timeline(r)
            if next(pages, False)
            else Reply(429, {"error": "Too many"}, {"Retry-After": "60"})
        ),
    )
    result = await source.collect(state)
    assert result.error is not None and result.error.kind is ErrorKind.RATE_LIMITED
    assert len(result.posts) == 40 and result.state.cursor == burst[39]["id"]


async def test_server_error(server: FakeServer, http: httpx.AsyncClient) -> None:
    server.route("GET", TAG_PATH, Reply(503, "<html>Service Unavailable</html>"))
    error = await error_of(collector(server, http), SourceState(cursor="5"))
    assert error.kind is ErrorKind.HTTP_5XX
    assert len(server.to(TAG_PATH)) == 3


async def test_read_timeout(server: FakeServer, impatient_http: httpx.AsyncClient) -> None:
    server.route("GET", TAG_PATH, Reply(200, [], delay=0.6))
    source = collector(server, impatient_http)
    error = await error_of(source, SourceState())
    assert error.kind is ErrorKind.TIMEOUT


async def test_truncated_and_malformed_bodies(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    mastodon.post(2)
    server.route("GET", TAG_PATH, Reply(200, mastodon.statuses, truncate=300))
    assert (await error_of(collector(server, http), SourceState())).kind is ErrorKind.REFUSED
    server.route(
        "GET", TAG_PATH, Reply(200, {"error": "This method requires an authenticated user"})
    )
    assert (await error_of(collector(server, http), SourceState())).kind is ErrorKind.BAD_PAYLOAD


async def test_token_is_sent_and_refusal_is_an_auth_error(
    server: FakeServer, http: httpx.AsyncClient
) -> None:
    server.route("GET", TAG_PATH, Reply(401, {"error": "The access token is invalid"}))
    source = collector(server, http, env={"MQ_TOKEN": "s3cret"}, token_env="MQ_TOKEN")
    error = await error_of(source, SourceState())
    assert error.kind is ErrorKind.AUTH
    assert error.message.endswith("the token in MQ_TOKEN was refused")
    assert "s3cret" not in str(error)
    assert server.to(TAG_PATH)[0].headers["authorization"] == "Bearer s3cret"


async def test_missing_token_variable(server: FakeServer, http: httpx.AsyncClient) -> None:
    error = await error_of(collector(server, http, token_env="MQ_TOKEN"), SourceState())
    assert (error.kind, error.message) == (
        ErrorKind.CONFIG,
        "environment variable MQ_TOKEN is not set",
    )


def test_options() -> None:
    with pytest.raises(ValidationError, match="streaming requires token_env"):
        Options(name="m", instance="https://mastodon.quebec", streaming=True)
    with pytest.raises(ValidationError, match="http"):
        Options(name="m", instance="mastodon.quebec")
    options = Options(name="m", instance="https://mastodon.quebec/", hashtags=("#AssisesUMQ",))
    assert (options.instance, options.hashtags) == ("https://mastodon.quebec", ("AssisesUMQ",))
    for name, field in Options.model_fields.items():
        assert field.description, name


def test_streaming_base_from_the_instance() -> None:
    assert (
        streaming_http_base("wss://streaming.mastodon.quebec")
        == "https://streaming.mastodon.quebec"
    )
    assert streaming_http_base("ws://127.0.0.1:4000/") == "http://127.0.0.1:4000"
    assert streaming_http_base("ftp://x") is None


def sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def streaming_server(server: FakeServer, chunks: list[tuple[float, bytes]]) -> None:
    instance = fixture_json("mastodon_instance_v2.json")
    instance["configuration"]["urls"]["streaming"] = server.base_url.replace("http://", "ws://")
    server.route("GET", "/api/v2/instance", Reply(200, instance))
    server.route(
        "GET",
        "/api/v1/streaming/hashtag",
        Reply(200, headers={"Content-Type": "text/event-stream"}, chunks=chunks),
    )


async def test_stream_updates_edits_and_deletions(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    status = mastodon.make(1)
    edited = {**status, "content": "<p>v2</p>", "edited_at": "2026-11-25T15:00:00.000Z"}
    streaming_server(
        server,
        [
            (0, b":)\n"),
            (0, sse("update", json.dumps(status))),
            (0, b":thump\n\n"),
            (0, sse("status.update", json.dumps(edited))),
            (0, sse("update", "{not json")),
            (0, sse("delete", status["id"])),
            (0, sse("delete", "999")),
        ],
    )
    results: list[CollectResult] = []

    async def on_result(result: CollectResult) -> None:
        results.append(result)

    source = collector(server, http, env={"T": "tok"}, token_env="T", hashtags=("AssisesUMQ",))
    with anyio.fail_after(5):
        await source.stream(SourceState(cursor="7"), on_result)
    assert [len(r.posts) for r in results] == [1, 1, 0]
    assert results[1].posts[0].edited_at is not None
    assert results[2].deleted == [status["uri"]]
    assert results[2].state.cursor == "7"
    [request] = server.to("/api/v1/streaming/hashtag")
    assert request.param("tag") == "AssisesUMQ" and request.headers["authorization"] == "Bearer tok"


async def test_stream_stops_cleanly(server: FakeServer, http: httpx.AsyncClient) -> None:
    streaming_server(server, [(0, b":)\n"), (30, b":thump\n")])
    stop = anyio.Event()

    async def on_result(result: CollectResult) -> None:
        raise AssertionError("no event expected")

    source = collector(server, http, env={"T": "tok"}, token_env="T")
    with anyio.fail_after(3):
        async with anyio.create_task_group() as group:
            group.start_soon(source.stream, SourceState(), on_result, stop)
            await anyio.sleep(0.2)
            stop.set()


async def test_stream_refused(server: FakeServer, http: httpx.AsyncClient) -> None:
    streaming_server(server, [])
    server.route("GET", "/api/v1/streaming/hashtag", Reply(401, {"error": "Invalid token"}))
    source = collector(server, http, env={"T": "tok"}, token_env="T", hashtags=("AssisesUMQ",))

    async def on_result(result: CollectResult) -> None:
        return None

    with pytest.raises(CollectorError) as caught:
        await source.stream(SourceState(), on_result)
    assert caught.value.kind is ErrorKind.AUTH


async def test_a_look_back_keeps_the_newest_statuses_for_rechecks(
    server: FakeServer, mastodon: FakeMastodon, http: httpx.AsyncClient
) -> None:
    mastodon.post(300)
    source = collector(server, http, max_pages=2)
    _, state = await until_caught_up(source, SourceState())
    recent = [entry[0] for entry in state.extra["recent"]]
    assert recent == [s["id"] for s in mastodon.statuses[-200:]]
