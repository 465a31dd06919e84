"""Access to the console, walked over the app's own routes so a new route cannot slip through."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from starlette.routing import Mount, Route

from aggregator import accounts
from aggregator.accounts import StaffSession
from aggregator.application import Livewall
from tests.wall.console.conftest import PASSWORD, add_staff, login

pytestmark = pytest.mark.anyio

# Routes anyone may call: the wall, its public API, the screens' heartbeat (screens have no
# login), webhooks (signed), the digest, static files, and the login form itself; health
# (status words only for anyone) and metrics (by network or token: tests/wall/test_metrics.py).
PUBLIC_PREFIXES = (
    "/wall", "/static", "/media", "/hooks", "/digest", "/healthz", "/readyz", "/metrics",
)  # fmt: skip
PUBLIC = {"/", "/api/posts", "/api/screens/heartbeat", "/console/login"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def walk(routes: list[object], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, set(route.methods or {"GET"}) - {"HEAD"}


def private_routes(app: object) -> list[tuple[str, str]]:
    found = []
    for path, methods in walk(app.routes):  # type: ignore[attr-defined]
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        found += [(method, concrete) for method in sorted(methods)]
    return found


@pytest.fixture
def app(livewall: Livewall) -> object:
    from wall.app import create_app

    return create_app(livewall)


async def client_for(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_every_private_route_refuses_anonymous_requests(app: object) -> None:
    routes = private_routes(app)
    assert ("GET", "/console") in routes and ("POST", "/console/api/decide") in routes
    async with await client_for(app) as client:
        for method, path in routes:
            answer = await client.request(method, path)
            if (
                path.startswith("/console")
                and not path.startswith("/console/api/")
                and not path.endswith("/events")
            ):
                assert answer.status_code == 303, (method, path, answer.status_code)
                assert answer.headers["location"].startswith("/console/login?next=")
            else:
                assert answer.status_code == 401, (method, path, answer.status_code)


async def test_every_state_change_needs_the_csrf_token(app: object, livewall: Livewall) -> None:
    add_staff(livewall, "ada", "admin")
    async with await client_for(app) as client:
        token = await login(client, "ada")
        unsafe = [
            (m, p) for m, p in private_routes(app) if m in UNSAFE and p.startswith("/console")
        ]
        assert len(unsafe) >= 8
        for method, path in unsafe:
            missing = await client.request(method, path, data={"op": "x"})
            wrong = await client.request(method, path, headers={"x-csrf-token": "forged"})
            assert (missing.status_code, wrong.status_code) == (403, 403), (method, path)
        # The right token passes the guard (then the body is judged on its own merits).
        answer = await client.post(
            "/console/rules", data={"op": "mode", "mode": "post", "csrf": token}
        )
        assert answer.status_code == 303


async def test_a_moderator_cannot_reach_admin_pages(app: object, livewall: Livewall) -> None:
    add_staff(livewall, "marie", "moderator")
    async with await client_for(app) as client:
        token = await login(client, "marie")
        for path in ("/console/rules", "/console/screens", "/console/sources", "/console/users"):
            assert (await client.get(path)).status_code == 403, path
            answer = await client.post(path, data={"csrf": token, "op": "x"})
            assert answer.status_code == 403, path
        assert (await client.get("/console")).status_code == 200
        assert (await client.get("/console/stats")).status_code == 200


async def test_login_sets_a_strict_cookie_and_rotates_the_session(
    app: object, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    async with await client_for(app) as client:
        form = await client.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        client.cookies.set(
            "livewall_console", "planted-by-an-attacker", domain="testserver", path="/"
        )
        answer = await client.post(
            "/console/login", data={"name": "marie", "password": PASSWORD, "csrf": csrf}
        )
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "planted-by-an-attacker" not in cookie
        assert (await client.get("/console")).status_code == 200


async def test_login_without_the_form_token_is_refused(app: object, livewall: Livewall) -> None:
    add_staff(livewall, "marie")
    async with await client_for(app) as client:
        answer = await client.post("/console/login", data={"name": "marie", "password": PASSWORD})
        assert answer.status_code == 403


async def test_login_throttling_per_account(app: object, livewall: Livewall) -> None:
    add_staff(livewall, "marie")
    async with await client_for(app) as client:
        page = await client.get("/console/login")

        async def attempt(password: str) -> int:
            nonlocal page
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            page = await client.post(
                "/console/login", data={"name": "marie", "password": password, "csrf": csrf[1]}
            )
            return page.status_code

        codes = [await attempt("wrong-guess!") for _ in range(6)]
        assert codes == [401] * 5 + [429]
        # Even the right password waits now: the guesser must not learn it was right.
        assert await attempt(PASSWORD) == 429 and "min" in page.text


async def test_sessions_expire_and_end_when_the_account_is_disabled(
    app: object, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    async with await client_for(app) as client:
        await login(client, "marie")
        with livewall.store.write() as session:
            for row in session.exec(accounts.select(StaffSession)):
                row.last_seen = row.last_seen - accounts.SESSION_IDLE - timedelta(minutes=1)
                session.add(row)
        assert (await client.get("/console")).status_code == 303
        await login(client, "marie")
        accounts.set_disabled(livewall.store, "marie")
        assert (await client.get("/console")).status_code == 303


async def test_api_token_for_scripts(app: object, livewall: Livewall) -> None:
    secret = accounts.create_token(livewall.store, "import", "moderator", "ada")
    async with await client_for(app) as client:
        headers = {"authorization": f"Bearer {secret}"}
        assert (await client.get("/console/api/queue", headers=headers)).status_code == 200
        assert (
            await client.get("/console/api/queue", headers={"authorization": "Bearer lw_x"})
        ).status_code == 401
        assert (await client.get("/console/users", headers=headers)).status_code == 403
        token = accounts.list_tokens(livewall.store)[0]
        assert token.token_hash != secret and secret not in token.token_hash
        accounts.revoke_token(livewall.store, token.id or 0, "ada")
        assert (await client.get("/console/api/queue", headers=headers)).status_code == 401


async def test_the_emergency_message_needs_its_confirmation(
    app: object, livewall: Livewall
) -> None:
    pytest.importorskip("aggregator.messages", reason="the wall part's staff messages")
    add_staff(livewall, "marie")
    async with await client_for(app) as client:
        token = await login(client, "marie")
        data = {"csrf": token, "op": "emergency", "text": "Alerte"}
        refused = await client.post("/console/messages", data=data)
        assert refused.status_code == 400 and "confirmation" in refused.text
        sent = await client.post("/console/messages", data={**data, "confirm": "yes"})
        assert sent.status_code == 303
