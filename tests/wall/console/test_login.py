"""Logging in under attack: tries counted before the password is checked, per account and
address with a growing wait, and only a few passwords checked at once (64 MiB each)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlmodel import select

from aggregator.application import Livewall
from aggregator.logins import LOGIN_WINDOW, LoginFailure, LoginThrottle, Throttle
from aggregator.store import Store
from tests.conftest import SettingsFactory
from tests.memory import peak_growth
from tests.wall.console.conftest import PASSWORD, add_staff
from wall.console.login import CHECKS_AT_ONCE, CHECKS_WAITING, LoginViews
from wall.console.sessions import LOGIN_COOKIE

pytestmark = pytest.mark.anyio
ARGON2_MIB = 64  # argon2-cffi's default memory cost, per check


@pytest.fixture
def livewall(make_settings: SettingsFactory, store: Store) -> Livewall:
    """Passwords at their real cost (64 MiB a check): what the limits here are about."""
    return Livewall(make_settings(console={"password_hashing": "standard"}), store=store, env={})


@pytest.fixture
def app(livewall: Livewall) -> Any:
    from wall.app import create_app

    return create_app(livewall)


def login_views(app: Any) -> LoginViews:
    for route in app.routes:
        if getattr(route, "path", "") == "/console/login" and "POST" in route.methods:
            views: LoginViews = route.endpoint.__self__
            return views
    raise AssertionError("no login route")


class Visitor:
    """Someone at one address who opened the login form once and sends its token (and the
    cookie that goes with it, valid for an hour) with every try, as a script does."""

    def __init__(self, app: Any, address: str) -> None:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.token = self.cookie = ""

    async def open(self) -> Visitor:
        form = await self.http.get("/console/login")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found is not None
        self.token, self.cookie = found[1], f"{LOGIN_COOKIE}={form.cookies[LOGIN_COOKIE]}"
        return self

    async def login(self, name: str, password: str) -> httpx.Response:
        data = {"name": name, "password": password, "csrf": self.token}
        # An explicit Cookie header wins over the client's jar, which each answer refreshes.
        return await self.http.post("/console/login", data=data, headers={"cookie": self.cookie})


async def test_twenty_simultaneous_wrong_passwords_check_only_the_allowed_five(
    app: Any, livewall: Livewall
) -> None:
    # Before: all 20 were checked, since none had failed yet when each was let through.
    add_staff(livewall, "marie")
    checks = login_views(app).checks
    guesser = await Visitor(app, "203.0.113.9").open()
    answers = await asyncio.gather(*(guesser.login("marie", f"guess-{n}") for n in range(20)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [401] * 5 + [429] * 15
    assert checks.checked == 5


async def test_a_hundred_logins_at_once_check_two_passwords_at_a_time(
    app: Any, livewall: Livewall
) -> None:
    # Before: up to 40 checks at once (the thread pool), about 2 GB.
    add_staff(livewall, "marie")
    checks = login_views(app).checks
    crowd = [await Visitor(app, f"198.51.100.{n}").open() for n in range(100)]
    with peak_growth() as memory:
        answers = await asyncio.gather(
            *(visitor.login(f"name-{n}", "not-the-password") for n, visitor in enumerate(crowd))
        )
    codes = [answer.status_code for answer in answers]
    assert set(codes) == {401, 503} and codes.count(401) == checks.checked
    # The tries are counted in the store one at a time, so they reach the checks spread
    # out and more than ten may be checked in all; never more than ten in line at once.
    assert checks.peak <= CHECKS_AT_ONCE and checks.peak_pending <= CHECKS_AT_ONCE + CHECKS_WAITING
    busy = next(answer for answer in answers if answer.status_code == 503)
    assert busy.headers["retry-after"] == "5" and "Trop de connexions" in busy.text
    # Generous: the test process itself moves a little. Before, it grew by about 2 GiB.
    assert memory.grown < (CHECKS_AT_ONCE + 4) * ARGON2_MIB, memory.grown
    # A refused login was not counted as a failure, and the way is clear again.
    owner = await Visitor(app, "198.51.100.7").open()
    assert (await owner.login("marie", PASSWORD)).status_code == 303


async def test_the_owner_logs_in_from_elsewhere_while_a_guesser_is_throttled(
    app: Any, livewall: Livewall
) -> None:
    add_staff(livewall, "marie")
    guesser = await Visitor(app, "203.0.113.66").open()
    codes = [(await guesser.login("marie", f"guess-{n}")).status_code for n in range(12)]
    assert codes == [401] * 5 + [429] * 7
    assert (await guesser.login("marie", PASSWORD)).status_code == 429  # learns nothing
    owner = await Visitor(app, "192.0.2.10").open()
    assert (await owner.login("marie", "a typo")).status_code == 401
    assert (await owner.login("marie", PASSWORD)).status_code == 303


def test_each_try_past_the_limit_waits_twice_as_long() -> None:
    throttle = Throttle(limit=3, window=3600, first_wait=30)
    failures, now, waits = [0.0] * 3, 0.0, []
    for _ in range(5):
        waits.append(throttle.wait(failures, now))
        now += waits[-1]
        assert throttle.wait(failures, now) == 0
        failures.append(now)
    assert waits == [30, 60, 120, 240, 480]
    assert throttle.wait([], now) == 0
    capped = Throttle(limit=1, window=100, first_wait=30)
    assert capped.wait([now] * 4, now) == 100  # never longer than the window


def test_a_reserved_try_is_taken_back_when_right_or_not_checked(store: Store) -> None:
    throttle = LoginThrottle(store)
    assert [throttle.reserve("Marie", "192.0.2.1") for _ in range(5)] == [0] * 5
    assert throttle.reserve("marie ", "192.0.2.1") > 0  # the same account, whatever its case
    throttle.unchecked("marie", "192.0.2.1")  # say the server was too busy to check it
    assert throttle.reserve("marie", "192.0.2.1") == 0
    throttle.succeeded("marie", "192.0.2.1")
    # The pair is forgiven; the account keeps its count, so a guesser elsewhere gains nothing.
    assert throttle.reserve("marie", "192.0.2.1") == 0
    assert throttle.failures("marie") == 5


def test_two_processes_share_the_counts(store: Store, database_url: str) -> None:
    # Each web process has its own Store on the same database: the counts are the store's.
    other = Store(database_url)
    try:
        here, there = LoginThrottle(store), LoginThrottle(other)
        tries = [here.reserve("marie", "203.0.113.9") for _ in range(3)]
        tries += [there.reserve("marie", "203.0.113.9") for _ in range(3)]
    finally:
        other.dispose()
    assert tries[:5] == [0] * 5 and tries[5] > 0


def test_failures_past_the_window_are_forgotten(store: Store) -> None:
    now = [1_000_000.0]
    throttle = LoginThrottle(store, clock=lambda: now[0])
    for n in range(40):
        throttle.reserve(f"name-{n}", f"198.51.100.{n}")
    now[0] += LOGIN_WINDOW + 1
    throttle.reserve("marie", "192.0.2.1")
    with store.read() as session:
        kept = session.exec(select(LoginFailure)).all()
    assert len(kept) == 3  # the last try, under its three counts
