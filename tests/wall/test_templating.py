"""The cards draw what is stored, however it got there: a network is never more than one CSS
class, and a name without spaces never more than a card's width."""

from __future__ import annotations

import re

import httpx
import pytest

from aggregator.application import Livewall
from aggregator.models import Post
from aggregator.moderation.decisions import decide
from tests.wall.console.conftest import add_staff, held, login
from wall.templating import token

pytestmark = pytest.mark.anyio
LONG_NAME = "N" * 100_000


def hostile_post(livewall: Livewall) -> int:
    """An approved post whose row holds what the edge now refuses (stored before, or by
    another tool writing to the database)."""
    post_id = held(livewall, 1, prefix="legacy")[0]
    with livewall.store.write() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.network = 'x onclick="a" b'
        post.author_name = LONG_NAME
        post.author_handle = "@" + "h" * 290
        session.add(post)
    decide(livewall.store, post_id, "approve", "ada")
    return post_id


@pytest.mark.parametrize(
    ("value", "shown"),
    [("mastodon", "mastodon"), ("linked in", "other"), ('x" y', "other"), ("", "other")],
)
def test_token_keeps_only_plain_tokens(value: str, shown: str) -> None:
    assert token(value) == shown


async def test_a_network_with_spaces_adds_no_class_to_the_screens_card(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    post_id = hostile_post(livewall)
    page = (await web.get("/wall/hall")).text
    article = re.search(rf'<article class="([^"]*)"\s+id="post-{post_id}"', page)
    assert article is not None
    assert article.group(1).split()[:2] == ["post", "network-other"]
    assert "onclick" not in article.group(1)


async def test_the_console_card_shows_at_most_200_characters_of_a_name(
    web: httpx.AsyncClient, livewall: Livewall
) -> None:
    hostile_post(livewall)
    add_staff(livewall, "ada", "admin")
    await login(web, "ada")
    page = (await web.get("/console?status=approved")).text
    names = re.findall(r"N{20,}…?", page)
    assert names and all(len(name) <= 200 for name in names)
