"""Arbitrary input to every parsing function: a CollectorError or a result, never another error."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import NETWORK, CollectorError
from collectors.bluesky import embed_parts, parse_search, rich_text_html
from collectors.feed import parse_feed
from collectors.mastodon import parse_timeline, status_to_candidate
from collectors.webhook import WebhookError, parse_payload
from collectors.youtube import live_states, parse_videos
from tests.collectors.collector_fakes import fixture_bytes, fixture_json

FUZZ = settings(max_examples=100, deadline=None)
NOW = datetime(2026, 11, 25, tzinfo=UTC)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def mutated(document: Any) -> st.SearchStrategy[Any]:
    """A real document with one value, somewhere inside, replaced by anything."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else []
        )
        for key, child in items:
            walk(child, (*path, key))

    walk(document, ())

    def replace(path: tuple[Any, ...], value: Any) -> Any:
        copy = json.loads(json.dumps(document))
        if not path:
            return value
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return copy

    return st.builds(replace, st.sampled_from(paths), json_values)


def survives(
    parse: Callable[[Any], Any], value: Any, allowed: type[Exception] = CollectorError
) -> None:
    with contextlib.suppress(allowed):
        parse(value)


@FUZZ
@given(json_values)
def test_any_json(value: Any) -> None:
    survives(lambda v: parse_timeline(v, "h"), value)
    survives(lambda v: status_to_candidate(v, "h"), value)
    survives(parse_search, value)
    survives(lambda v: embed_parts(v, False), value)
    survives(live_states, value)
    survives(parse_payload, json.dumps(value).encode(), WebhookError)


@FUZZ
@given(mutated([fixture_json("mastodon_status.json")]))
def test_mastodon_statuses_with_one_odd_value(value: Any) -> None:
    survives(lambda v: parse_timeline(v, "h"), value)


@FUZZ
@given(mutated(fixture_json("bluesky_search.json")))
def test_bluesky_posts_with_one_odd_value(value: Any) -> None:
    survives(parse_search, value)


@FUZZ
@given(mutated(fixture_json("youtube_videos_list.json")))
def test_videos_list_with_one_odd_value(value: Any) -> None:
    survives(live_states, value)


@FUZZ
@given(st.text(max_size=40), st.lists(json_values, max_size=3))
def test_rich_text_with_any_facets(text: str, facets: list[Any]) -> None:
    survives(lambda v: rich_text_html(text, v), facets)


xml_fragments = st.sampled_from(
    [
        b"<rss version='2.0'>",
        b"<channel>",
        b"<item>",
        b"</item>",
        b"<title>",
        b"</title>",
        b"<feed xmlns='http://www.w3.org/2005/Atom'>",
        b"<entry>",
        b"</entry>",
        b"<link href='",
        b"'/>",
        b"<pubDate>",
        b"</pubDate>",
        b"<published>2026-13-45T99:00:00Z</published>",
        b"<enclosure url='javascript:x' type='image/png'/>",
        b"<![CDATA[",
        b"]]>",
        b"&amp;",
        b"&bogus;",
        b"<yt:videoId>",
        b"</yt:videoId>",
        b"<media:thumbnail url='http://a/b' width='x'/>",
        b"<?xml version='1.0' encoding='latin-1'?>",
        b"\xff\xfe",
        b"\x00",
        b"<rdf:RDF>",
    ]
)
xml_bytes = st.lists(xml_fragments | st.binary(max_size=12), max_size=25).map(b"".join)


@FUZZ
@given(xml_bytes | st.binary(max_size=200))
def test_feeds_from_any_bytes(body: bytes) -> None:
    survives(
        lambda b: parse_feed(b, {"content-type": "application/xml"}, "https://a.example/f", NOW),
        body,
    )
    survives(lambda b: parse_videos(b, {}, "https://a.example/f", "video"), body)


@settings(max_examples=30, deadline=None)  # three documents a try: fewer tries, as much ground
@given(st.integers(min_value=0, max_value=4000), st.binary(max_size=20))
def test_real_feeds_cut_or_spliced(cut: int, junk: bytes) -> None:
    for name in ("feed_rss2.xml", "feed_atom.xml", "youtube_channel.xml"):
        document = fixture_bytes(name)
        body = document[:cut] + junk + document[cut:]
        survives(lambda b: parse_feed(b, {}, "https://a.example/f", NOW), body)
        survives(lambda b: parse_videos(b, {}, "https://a.example/f", "live"), document[:cut])


# Text as an attacker writes it: any code point, lone surrogates and NUL included, and long.
hostile_text = st.text(
    st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\udfff", "\x00", " "]),
    max_size=8,
) | st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", " "]), st.integers(0, 25_000))
hostile_values = st.recursive(
    scalars | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=10,
)
WEBHOOK_POST = {
    "id": "li-1",
    "url": "https://www.linkedin.com/feed/update/1",
    "author": {"handle": "umq", "name": "UMQ", "url": "https://www.linkedin.com/company/umq/"},
    "text": "Les Assises commencent !",
    "created_at": "2026-11-25T09:05:00-05:00",
    "media": [{"url": "https://media.licdn.com/salle.jpg", "alt": "La salle"}],
    "language": "fr",
    "network": "linkedin",
}


def accepted_or_refused(value: Any) -> None:
    """What parse_payload accepts can be stored and shown: every string encodable and within
    its length, the network one token, the time within the years of posts; the rest is a 4xx."""
    try:
        post = parse_payload(json.dumps(value).encode())
    except WebhookError as exc:
        assert 400 <= exc.status < 500 and exc.reason
        return
    author = post.author
    texts = [post.external_id, post.text, post.html, post.language, post.url, post.network,
             author.handle, author.name, author.avatar_url, author.profile_url]  # fmt: skip
    texts += [m.url for m in post.media] + [m.alt for m in post.media]
    for text in filter(None, texts):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogate: UnicodeEncodeError otherwise
    assert len(post.external_id) <= 500 and len(author.name) <= 200 and len(post.text) <= 20_000
    assert post.network is None or NETWORK.fullmatch(post.network)
    assert 1970 <= post.created_at.year < 2100
    post.created_at.astimezone(ZoneInfo("Pacific/Kiritimati"))  # +14:00, the farthest zone


@FUZZ
@given(hostile_values)
def test_webhook_payloads_of_any_shape(value: Any) -> None:
    accepted_or_refused(value)


@FUZZ
@given(mutated(WEBHOOK_POST))
def test_webhook_payloads_with_one_odd_value(value: Any) -> None:
    accepted_or_refused(value)


@FUZZ
@given(st.sampled_from(["id", "text", "html", "language", "network", "created_at"]), hostile_text)
def test_webhook_payloads_with_one_hostile_text(key: str, text: str) -> None:
    accepted_or_refused({**WEBHOOK_POST, key: text})
    accepted_or_refused({**WEBHOOK_POST, "author": {"handle": "umq", "name": text}})
