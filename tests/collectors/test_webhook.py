from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from collectors.base import MAX_AUTHOR_NAME, Author, Candidate, CollectorContext, SourceState
from collectors.webhook import (
    MAX_BODY,
    Options,
    WebhookError,
    create,
    parse_payload,
    sign,
    verify_signature,
)

SECRET = b"whsec_4f1c2b7e9d"
NOW = 1_795_615_500.0
POST = {
    "id": "li-7265498123",
    "url": "https://www.linkedin.com/feed/update/urn:li:activity:7265498123/",
    "author": {
        "handle": "umq",
        "name": "Union des municipalités du Québec",
        "avatar": "https://media.licdn.com/dms/image/umq-logo.png",
        "url": "https://www.linkedin.com/company/umq/",
    },
    "text": "Les Assises commencent !",
    "html": "<p>Les <b>Assises</b> commencent !</p>",
    "created_at": "2026-11-25T09:05:00-05:00",
    "media": [
        {"url": "https://media.licdn.com/dms/image/salle.jpg", "alt": "La salle", "type": "image"}
    ],
    "language": "fr",
    "network": "linkedin",
}


def body(**changes: Any) -> bytes:
    return json.dumps({**POST, **changes}).encode()


def refused(call: Any, *args: Any) -> WebhookError:
    with pytest.raises(WebhookError) as caught:
        call(*args)
    return caught.value


def test_a_signed_request_is_accepted() -> None:
    payload = body()
    verify_signature(SECRET, sign(SECRET, payload, int(NOW)), payload, NOW)
    rotated = f"{sign(SECRET, payload, int(NOW))},v1={'0' * 64}"
    verify_signature(SECRET, rotated, payload, NOW + 299)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "header is missing"),
        ("", "header is missing"),
        ("v1=abc", "no valid timestamp"),
        ("t=soon,v1=abc", "no valid timestamp"),
        (sign(SECRET, b"{}", int(NOW) - 301), "expired"),
        (sign(SECRET, b"{}", int(NOW) + 301), "expired"),
        (sign(b"other secret", b"{}", int(NOW)), "does not match"),
        (sign(SECRET, b"{ }", int(NOW)), "does not match"),
        (f"t={int(NOW)}", "does not match"),
    ],
)
def test_bad_signatures_are_401(header: str | None, reason: str) -> None:
    error = refused(verify_signature, SECRET, header, b"{}", NOW)
    assert error.status == 401 and reason in error.reason


def test_payload_becomes_a_candidate() -> None:
    post = parse_payload(body())
    assert post.external_id == "li-7265498123"
    assert (
        post.author.handle == "umq"
        and post.author.profile_url == "https://www.linkedin.com/company/umq/"
    )
    assert post.created_at == datetime(2026, 11, 25, 14, 5, tzinfo=UTC)
    assert (
        post.html == "<p>Les <b>Assises</b> commencent !</p>"
        and post.text == "Les Assises commencent !"
    )
    assert [(m.url, m.alt, m.type) for m in post.media] == [
        ("https://media.licdn.com/dms/image/salle.jpg", "La salle", "image")
    ]
    assert (post.language, post.network) == ("fr", "linkedin")


def test_minimal_payload() -> None:
    post = parse_payload(
        json.dumps(
            {"id": "1", "author": {"handle": "x"}, "created_at": "2026-11-25T14:05:00Z"}
        ).encode()
    )
    assert (post.url, post.author.name, post.media, post.html) == (None, "x", [], None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (body(author=None), "field 'author' is required"),
        (body(author={"name": "x"}), "field 'author.handle' is required"),
        (body(id=""), "field 'id' is required"),
        (body(id=5), "field 'id' is required"),
        (body(created_at="2026-11-25T14:05:00"), "timezone"),
        (body(created_at="hier"), "timezone"),
        (body(url="javascript:alert(1)"), "field 'url' must be an http or https URL"),
        (
            body(author={"handle": "x", "avatar": "data:image/png;base64,AA"}),
            "field 'author.avatar' must be an http",
        ),
        (body(media={"url": "x"}), "field 'media' must be a list"),
        (body(media=[{"alt": "x"}]), "field 'media[0].url' is required"),
        (
            body(media=[{"url": "https://a.example/x", "type": "hologram"}]),
            "field 'media[0].type' must be one of",
        ),
        (body(media=["https://a.example/x"]), "field 'media[0]' must be an object"),
        (body(text=["a"]), "field 'text' must be a string"),
    ],
)
def test_malformed_payloads_are_400(raw: bytes, reason: str) -> None:
    error = refused(parse_payload, raw)
    assert error.status == 400 and reason in error.reason


def test_too_large_body() -> None:
    assert refused(parse_payload, b" " * (MAX_BODY + 1)).status == 413


@pytest.mark.anyio
async def test_collect_returns_nothing_and_keeps_state() -> None:
    async with httpx.AsyncClient() as http:
        source = create(
            Options(name="hook", secret_env="HOOK_SECRET"), CollectorContext(http, (), {})
        )
        state = SourceState(cursor="x")
        result = await source.collect(state)
    assert result.posts == [] and result.state is state


def test_options_are_documented() -> None:
    for name, field in Options.model_fields.items():
        assert field.description, name


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (body(created_at="0001-01-01T00:00:00+14:00"), "field 'created_at' must be"),
        (body(created_at="9999-12-31T23:59:59-14:00"), "between the years 1970 and 2099"),
        (body(text="\ud800"), "field 'text' contains a lone surrogate (\\ud800)"),
        (body(author={"handle": "umq", "name": "A\udfff"}), "field 'author.name' contains a lone"),
        (body(text="a\x00b"), "field 'text' contains a NUL character"),
        (body(media=[{"url": "https://a.example/x", "alt": "\x00"}]), "field 'media[0].alt'"),
        (b'{"id": "1", "extra": ' + deep(1000).encode() + b"}", "nested more than 20 levels"),
        (b'{"id": "1", "extra": ' + deep(21).encode() + b"}", "nested more than 20 levels"),
        (body(id="i" * 501), "field 'id' is 501 characters long, at most 500"),
        (body(author={"handle": "h" * 301}), "field 'author.handle' is 301 characters long"),
        (body(author={"handle": "umq", "name": "n" * 100_000}), "field 'author.name' is 100000"),
        (body(text="t" * 20_001), "field 'text' is 20001 characters long, at most 20000"),
        (body(html="<p>" * 40_000), "field 'html' is 120000 characters long"),
        (body(url="https://a.example/" + "x" * 2_100), "field 'url' is 2118 characters long"),
        (body(language="fr-CA-x-trop-long"), "field 'language' is 17 characters long"),
        (body(network="linked in"), "field 'network' must be a plain name"),
        (body(network='x" onclick="alert(1)'), "field 'network' must be a plain name"),
        (body(network="n" * 41), "field 'network' is 41 characters long"),
        (body(media=[{"url": "https://a.example/x"}] * 21), "field 'media' has 21 items, at most"),
        (body(media=[{"url": "https://a.example/x", "alt": "a" * 1501}]), "'media[0].alt' is 1501"),
        (b"NaN", "not valid JSON"),
    ],
)
def test_hostile_payloads_are_400_naming_the_field(raw: bytes, reason: str) -> None:
    error = refused(parse_payload, raw)
    assert error.status == 400 and reason in error.reason


def test_limits_are_inclusive_and_network_case_is_folded() -> None:
    post = parse_payload(
        body(
            id="i" * 500,
            author={"handle": "umq", "name": "n" * MAX_AUTHOR_NAME},
            network="LinkedIn",
            created_at="1970-01-01T00:00:00Z",
        )
    )
    assert len(post.external_id) == 500 and len(post.author.name) == MAX_AUTHOR_NAME
    assert post.network == "linkedin" and post.created_at.year == 1970


def test_collectors_cannot_make_a_card_wider_or_add_a_class() -> None:
    """Every network's author name is cut to what a card shows; a network is one token."""
    assert Author(handle="h", name="n" * 100_000).name == "n" * (MAX_AUTHOR_NAME - 1) + "…"
    with pytest.raises(ValueError, match="not a plain token"):
        Candidate("1", None, Author("h"), datetime(2026, 11, 25, tzinfo=UTC), network="a b")
