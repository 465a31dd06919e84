from __future__ import annotations

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.moderation.rules import BlockedWords, Rules
from tests.builders import REQUIRED_POST_FIELDS, candidate, result, source

pytestmark = pytest.mark.anyio


def fill(livewall: Livewall) -> None:
    rules = Rules(mode="post", blocked=BlockedWords({"fr": ("niaiseux",)}))
    Pipeline(livewall.store, rules).ingest(
        source(),
        result(
            *(candidate(str(i), f"Message numéro {i}") for i in range(1, 8)),
            candidate("held", "quel niaiseux"),
        ),
    )


async def test_posts_are_approved_only_newest_first(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    fill(livewall)
    body = (await web.get("/api/posts")).json()
    ids = [p["external_id"] for p in body["posts"]]
    assert ids == ["7", "6", "5", "4", "3", "2", "1"]
    first = body["posts"][0]
    assert set(REQUIRED_POST_FIELDS) <= set(first)
    assert first["status"] == "approved" and first["created_at"].endswith("+00:00")


async def test_limit_and_before_page_through(web: httpx.AsyncClient, livewall: Livewall) -> None:
    fill(livewall)
    page = (await web.get("/api/posts", params={"limit": 3})).json()["posts"]
    older = (await web.get("/api/posts", params={"limit": 3, "before": page[-1]["id"]})).json()[
        "posts"
    ]
    assert [p["external_id"] for p in page + older] == ["7", "6", "5", "4", "3", "2"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=abc", "'limit' must be a whole number"),
        ("limit=0", "'limit' must be between 1 and 200"),
        ("before=-3", "'before' must be between"),
    ],
)
async def test_bad_parameters_are_400_with_reason(
    web: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await web.get(f"/api/posts?{query}")
    assert response.status_code == 400 and message in response.json()["error"]


async def test_unknown_api_route_is_json_404(web: httpx.AsyncClient) -> None:
    response = await web.get("/api/nothing")
    assert response.status_code == 404
