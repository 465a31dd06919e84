from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from collectors.base import CollectorContext, SourceState
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
