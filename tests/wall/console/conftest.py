"""Console test helpers: staff accounts, held posts, and logging in over HTTP or in a browser."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.models import Post
from tests.builders import candidate, result, source

PASSWORD = "motdepasse-de-test"


def add_staff(livewall: Livewall, name: str = "marie", role: str = "moderator") -> str:
    """An account made as `livewall user add` makes it (with the settings' password cost)."""
    livewall.accounts.add_user(name, role, PASSWORD, actor="cli")
    return name


def held(livewall: Livewall, count: int, prefix: str = "p", **fields: Any) -> list[int]:
    """`count` new posts held for moderation (the test settings are pre-moderated)."""
    posts = [
        candidate(f"{prefix}{i}", f"Message {prefix}{i} depuis la salle des Assises", **fields)
        for i in range(count)
    ]
    livewall.pipeline.ingest(source(), result(*posts))
    with livewall.store.read() as session:
        query = select(Post.id).where(col(Post.external_id).startswith(prefix))
        return sorted(i for i in session.exec(query) if i is not None)


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the session's CSRF token."""
    form = await client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = await client.post(
        "/console/login", data={"name": name, "password": password, "csrf": token.group(1)}
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/console")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def browser_login(page: Any, base: str, name: str, password: str = PASSWORD) -> None:
    """Log in as a person does, with the keyboard only: the name field has the focus."""
    await page.goto(f"{base}/console/login")
    # Autofocus lands a moment after "load" on a busy machine: type only once it has.
    await page.wait_for_function("() => document.activeElement?.name === 'name'", timeout=5000)
    await page.keyboard.type(name)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/console")
