"""Test data for the digest: posts written straight into a real store, and an SMTP server."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from aggregator.models import Post, utcnow
from aggregator.store import Store

DAY = date(2026, 11, 25)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    """A moment of the event's local day, in UTC as the store keeps it."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo("America/Toronto"))
    return local.astimezone(UTC)


def add_post(store: Store, external_id: str, created_at: datetime, **fields: Any) -> int:
    values: dict[str, Any] = {
        "source": "demo",
        "external_id": external_id,
        "network": "mastodon",
        "author_handle": f"@{external_id}@mastodon.example",
        "author_name": f"Auteur {external_id}",
        "text": f"Texte {external_id}",
        "html": f"<p>Texte {external_id}</p>",
        "url": f"https://mastodon.example/@x/{external_id}",
        "status": "approved",
        "collected_at": utcnow(),
        "created_at": created_at,
    }
    values.update(fields)
    with store.write() as session:
        post = Post(**values)
        session.add(post)
        session.flush()
        assert post.id is not None
        return post.id


def seed_day(store: Store) -> dict[str, int]:
    """A small day with every case the digest must handle."""
    return {
        "opening": add_post(
            store, "opening", at(9, 5), featured=True, likes=50, shares=10,
            text="Ouverture officielle des Assises", html="<p>Ouverture officielle des Assises</p>",
            media=[{"url": "demo:stage.jpg", "alt": "La scène"}],
        ),
        "popular": add_post(
            store, "popular", at(10, 30), network="bluesky", likes=40, shares=5, replies=3,
            text="Atelier sur l'habitation bondé", html="<p>Atelier sur l'habitation bondé</p>",
        ),
        "quiet": add_post(store, "quiet", at(10, 40), network="bluesky", likes=1),
        "lunch": add_post(store, "lunch", at(12, 30), likes=2, text="Dîner au Centre des congrès"),
        "warned": add_post(
            store, "warned", at(14, 10), likes=300, shares=80,
            content_warning="Harcèlement en ligne", text="SECRET-CW-TEXT", html="<p>SECRET-CW-TEXT</p>",
        ),
        "video": add_post(
            store, "video", at(15, 0), network="youtube", kind="video", official=True,
            title="Discours d'ouverture en vidéo", text="Le discours",
        ),
        "evening": add_post(store, "evening", at(22, 30), text="Soirée de clôture"),
        # None of these may ever appear.
        "pending": add_post(store, "pending", at(11), status="pending", text="HELD-TEXT"),
        "rejected": add_post(store, "rejected", at(11), status="rejected", text="REJECTED-TEXT"),
        "retracted": add_post(store, "retracted", at(11), status="retracted", text="RETRACTED-TEXT"),
        "deleted": add_post(store, "deleted", at(11), deleted=True, text="DELETED-TEXT"),
        "yesterday": add_post(store, "yesterday", at(23, 30, date(2026, 11, 24)), text="HIER-TEXT"),
    }  # fmt: skip


# Four people, four networks, not one like, share or reply: a webhook relay (X), a news feed,
# a YouTube video and a Mastodon post nobody reacted to.
QUIET = {
    "relay": dict(
        network="x", source="relais", author_name="Marie Tremblay", author_handle="@mtremblay",
        text="Bravo aux bénévoles de l’accueil", url="https://x.com/mtremblay/status/1",
    ),
    "news": dict(
        network="feed", source="umq-nouvelles", author_name="Nouvelles UMQ",
        author_handle="https://umq.example/feed", title="Communiqué de la journée",
        text="Les maires adoptent une résolution", url="https://umq.example/nouvelles/1",
    ),
    "video": dict(
        network="youtube", source="umq-youtube", kind="video", author_name="Chaîne UMQ",
        author_handle="UCumq", text="La plénière en vidéo", url="https://www.youtube.com/watch?v=abc",
    ),
    "toot": dict(
        network="mastodon", author_name="Jean Côté", author_handle="@jcote@mastodon.example",
        text="Première fois aux Assises", url="https://mastodon.example/@jcote/1",
    ),
}  # fmt: skip
QUIET_TIMES = {"relay": (9, 5), "news": (11, 40), "video": (14, 15), "toot": (16, 50)}


def seed_quiet_day(store: Store) -> dict[str, int]:
    """Four posts by four people without any engagement, no featured post, no program."""
    return {
        key: add_post(
            store, f"quiet-{key}", at(*QUIET_TIMES[key]), html=f"<p>{fields['text']}</p>", **fields
        )
        for key, fields in QUIET.items()
    }


def seed_busy_day(store: Store, count: int, start_hour: int = 8) -> dict[str, int]:
    """`count` posts by `count` people, a few minutes apart from `start_hour`, with a little
    engagement on some."""
    return {
        f"busy{n}": add_post(
            store, f"busy{n}", at(start_hour + n * 7 // 60, n * 7 % 60),
            network=("mastodon", "bluesky", "linkedin")[n % 3], likes=n % 4,
            text=f"Message numéro {n} de la journée", author_name=f"Personne {n}",
            html=f"<p>Message numéro {n} de la journée</p>",
        )
        for n in range(count)
    }  # fmt: skip


FORBIDDEN = (
    "HELD-TEXT",
    "REJECTED-TEXT",
    "RETRACTED-TEXT",
    "DELETED-TEXT",
    "HIER-TEXT",
    "SECRET-CW-TEXT",
)


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class Mailbox:
    """What the test SMTP server accepted."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SMTPServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
