"""The console's exports: posts (CSV, JSONL) with the queue's filters and a date range, statistics
(CSV), formula-safe cells, staff only, and a download of the whole event that streams."""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from aggregator import accounts
from aggregator.application import Livewall
from aggregator.export import EXPORT_FIELDS, STATS_FIELDS
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from collectors.base import Author
from tests.builders import candidate, result, source
from tests.conftest import LiveServer
from tests.memory import peak_growth
from tests.wall.console.conftest import add_staff, login

pytestmark = pytest.mark.anyio

# Evening of 24 and afternoon of 25 November in Québec (UTC-5).
DAY_ONE = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
DAY_TWO = datetime(2026, 11, 25, 19, 10, tzinfo=UTC)


def seed(livewall: Livewall) -> dict[str, int]:
    """Four posts across networks, languages, days and statuses; their ids by external id."""
    posts = [
        candidate("m1", "Ouverture des Assises à Québec", language="fr", created_at=DAY_ONE),
        candidate("m2", "Opening keynote in Québec City", language="en", created_at=DAY_TWO),
        candidate(
            "b1", "Atelier sur le logement", language="fr", network="bluesky", created_at=DAY_TWO
        ),
        candidate(
            "x1",
            '=HYPERLINK("https://evil.example", "clic")',
            language="fr",
            created_at=DAY_TWO,
            author=Author(handle="@mallory@x.example", name="+mallory"),
        ),
    ]
    livewall.pipeline.ingest(source(), result(*posts))
    with livewall.store.read() as session:
        ids = {p.external_id: p.id for p in session.exec(sa.select(Post)).scalars()}
    decide(livewall.store, ids["m1"], "approve", "ada")
    decide(livewall.store, ids["m2"], "approve", "ada")
    decide(livewall.store, ids["b1"], "reject", "ada")
    return {key: int(value or 0) for key, value in ids.items()}


def read_csv(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.text.startswith("\ufeff")  # spreadsheets then read it as UTF-8
    return list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))


@pytest.fixture
async def staff_client(web: httpx.AsyncClient, livewall: Livewall) -> httpx.AsyncClient:
    add_staff(livewall, "marie")
    await login(web, "marie")
    return web


async def test_posts_csv_holds_every_field_and_follows_the_filters(
    staff_client: httpx.AsyncClient, livewall: Livewall
) -> None:
    ids = seed(livewall)
    everything = read_csv(await staff_client.get("/console/export/posts.csv"))
    assert [int(r["id"]) for r in everything] == sorted(ids.values())
    assert list(everything[0]) == list(EXPORT_FIELDS)
    assert everything[0]["text"] == "Ouverture des Assises à Québec"

    async def externals(query: str) -> list[str]:
        rows = read_csv(await staff_client.get(f"/console/export/posts.csv?{query}"))
        return [row["external_id"] for row in rows]

    assert await externals("status=approved") == ["m1", "m2"]
    assert await externals("status=pending") == ["x1"]
    assert await externals("network=bluesky") == ["b1"]
    assert await externals("language=en") == ["m2"]
    assert await externals("text=assises") == ["m1"]
    assert await externals("source=demo&status=rejected") == ["b1"]
    assert await externals("source=elsewhere") == []
    # Days in the event's time zone: 03:30 UTC on the 25th is the evening of the 24th.
    assert await externals("from=2026-11-24&to=2026-11-24") == ["m1"]
    assert await externals("from=2026-11-25") == ["m2", "b1", "x1"]
    assert await externals("to=2026-11-23") == []


async def test_posts_jsonl_holds_the_same_rows_as_values(
    staff_client: httpx.AsyncClient, livewall: Livewall
) -> None:
    ids = seed(livewall)
    answer = await staff_client.get("/console/export/posts.jsonl?status=approved&language=fr")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in answer.headers["content-disposition"]
    rows = [json.loads(line) for line in answer.text.splitlines()]
    assert [(r["id"], r["status"], r["language"]) for r in rows] == [(ids["m1"], "approved", "fr")]
    assert rows[0]["media"] == [] and rows[0]["pinned"] is False
    assert datetime.fromisoformat(rows[0]["created_at"]) == DAY_ONE


async def test_csv_cells_that_start_a_formula_are_written_as_text(
    staff_client: httpx.AsyncClient, livewall: Livewall
) -> None:
    seed(livewall)
    rows = read_csv(await staff_client.get("/console/export/posts.csv?status=pending"))
    assert rows[0]["text"] == '\'=HYPERLINK("https://evil.example", "clic")'
    assert rows[0]["author_name"] == "'+mallory"
    assert rows[0]["author"] == "'@mallory@x.example"
    # JSON is not run by anything: the values stay as they are.
    lines = (await staff_client.get("/console/export/posts.jsonl?status=pending")).text
    assert json.loads(lines)["text"].startswith("=HYPERLINK")


async def test_statistics_csv_counts_posts_per_hour_source_network_and_status(
    staff_client: httpx.AsyncClient, livewall: Livewall
) -> None:
    seed(livewall)
    # The hours are those of arrival, as on the statistics page: move them apart.
    arrivals = {"m1": DAY_ONE, "m2": DAY_TWO, "b1": DAY_TWO, "x1": DAY_TWO + timedelta(hours=1)}
    with livewall.store.write() as session:
        for external_id, moment in arrivals.items():
            session.execute(
                sa.update(Post).where(Post.external_id == external_id).values(collected_at=moment)
            )
    rows = read_csv(await staff_client.get("/console/export/stats.csv"))
    assert list(rows[0]) == list(STATS_FIELDS)
    assert [tuple(r.values()) for r in rows] == [
        ("2026-11-24T22:00:00-05:00", "demo", "demo", "approved", "1"),
        ("2026-11-25T14:00:00-05:00", "demo", "bluesky", "rejected", "1"),
        ("2026-11-25T14:00:00-05:00", "demo", "demo", "approved", "1"),
        ("2026-11-25T15:00:00-05:00", "demo", "demo", "pending", "1"),
    ]
    second_day = read_csv(await staff_client.get("/console/export/stats.csv?from=2026-11-25"))
    assert sum(int(r["posts"]) for r in second_day) == 3


async def test_a_wrong_date_or_format_is_a_400_that_names_it(
    staff_client: httpx.AsyncClient,
) -> None:
    async def refusal(path: str) -> str:
        answer = await staff_client.get(path)
        assert answer.status_code == 400, path
        return html.unescape(answer.text)

    said = await refusal("/console/export/posts.csv?from=25/11/2026")
    assert "query parameter 'from' must be a date such as 2026-11-25, got '25/11/2026'" in said
    said = await refusal("/console/export/stats.csv?from=2026-11-26&to=2026-11-25")
    assert "'to' must not be before 'from'" in said
    assert "(one of csv, jsonl)" in await refusal("/console/export/posts.xlsx")


async def test_exports_are_for_staff_only(web: httpx.AsyncClient, livewall: Livewall) -> None:
    seed(livewall)
    for path in (
        "/console/export/posts.csv",
        "/console/export/posts.jsonl",
        "/console/export/stats.csv",
    ):
        page = await web.get(path)
        assert page.status_code == 303 and page.headers["location"].startswith("/console/login")
        api = await web.get(path, headers={"Accept": "application/json"})
        assert api.status_code == 401 and "Assises" not in api.text
    # A script with an API token may export, as any member of staff.
    token = accounts.create_token(livewall.store, "rapport", "moderator", "ada")
    answer = await web.get(
        "/console/export/posts.jsonl", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200 and len(answer.text.splitlines()) == 4


async def test_the_queue_and_statistics_pages_link_to_the_exports(
    staff_client: httpx.AsyncClient, livewall: Livewall
) -> None:
    queue = await staff_client.get("/console?status=approved&language=fr")
    assert 'href="/console/export/posts.csv?status=approved&amp;language=fr"' in queue.text
    assert 'href="/console/export/posts.jsonl?status=approved&amp;language=fr"' in queue.text
    stats = await staff_client.get("/console/stats")
    for target in (
        "/console/export/posts.csv",
        "/console/export/posts.jsonl",
        "/console/export/stats.csv",
    ):
        assert target in stats.text


# The whole event


def many_posts(livewall: Livewall, count: int, text: str) -> None:
    start = datetime(2026, 11, 25, 12, tzinfo=UTC)
    rows = [
        {
            "source": "demo", "external_id": f"bulk{i}", "network": "mastodon",
            "author_handle": f"@p{i % 300}@mastodon.example", "author_name": "Participant",
            "text": text, "html": f"<p>{text}</p>", "language": "fr", "status": "approved",
            "created_at": start + timedelta(seconds=i), "collected_at": start + timedelta(seconds=i),
            "media": [], "hashtags": [],
        }
        for i in range(count)
    ]  # fmt: skip
    with livewall.store.write() as session:
        for at in range(0, count, 2000):
            session.execute(sa.insert(Post), rows[at : at + 2000])


@pytest.mark.slow
async def test_an_export_of_20000_posts_streams_in_batches(
    live_server: LiveServer, livewall: Livewall
) -> None:
    text = "Compte rendu de l'atelier sur le transport collectif régional. " * 12
    many_posts(livewall, 20_000, text)
    # Loaded at start by `livewall run`; here the post that arrives mid-download would load
    # the language detector (about 9 MiB) inside the measure.
    livewall.pipeline.warm()
    token = accounts.create_token(livewall.store, "rapport", "moderator", "ada")
    headers = {"Authorization": f"Bearer {token}"}
    received, lines, tail = 0, 0, b""
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers, timeout=60) as client:
        with peak_growth() as peak:
            async with client.stream("GET", "/console/export/posts.jsonl") as answer:
                assert answer.status_code == 200
                chunks = answer.aiter_bytes()
                first = await anext(chunks)
                # A post that arrives once the download has begun is still in it: the rows
                # are read as the download goes, not all before its first byte.
                late = candidate("late", "Arrivé pendant le téléchargement")
                livewall.pipeline.ingest(source(), result(late))
                received, tail = len(first), first
                async for chunk in chunks:
                    received += len(chunk)
                    lines += chunk.count(b"\n")
                    tail = (tail + chunk)[-4000:]
    lines += first.count(b"\n")
    assert lines == 20_001
    assert json.loads(tail.splitlines()[-1])["external_id"] == "late"
    # The server held a batch at a time, never the export (about 25 MB) at once: a batch costs
    # 1–2 MiB, the first export in a process about 7 more (SQLite's cache, the server's buffers).
    assert received > 20_000 * len(text)
    assert peak.grown < received / 1024 / 1024 / 2, (peak.grown, received)
