"""Shared fixtures: real stores (SQLite files, and PostgreSQL when LIVEWALL_TEST_DATABASE_URL
is set), settings built from explicit mappings, and the web app behind an ASGI client."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from aggregator.application import Livewall
from aggregator.settings import Settings, settings_from_mapping
from aggregator.store import Store
from tests.browser import shared_chromium  # noqa: F401  (fixture: one Chromium per session)

REPO = Path(__file__).resolve().parent.parent


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker has a PostgreSQL database of its own, named after the
    given one (`test` → `test_gw0`, `test_gw1`…): workers never truncate each other's rows."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = sa.make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


PG_GIVEN_URL = os.environ.get("LIVEWALL_TEST_DATABASE_URL")
PG_URL = _worker_database(PG_GIVEN_URL) if PG_GIVEN_URL else None
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A browser test checks what a page does, and runs on SQLite only: the store under the
    page is the same code on both stores, tested on both by the tests beneath the browser
    (routes, streams, the store). One whose page depends on the store's own behaviour
    (concurrent decisions, a replay after a restart) is marked `both_stores`."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgresql = callspec is not None and "postgresql" in callspec.params.values()
        if (
            on_postgresql
            and item.get_closest_marker("browser") is not None
            and item.get_closest_marker("both_stores") is None
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported lives as long as the session: frozen, out of the garbage
    collector's sight. Each app started by a test leaves a frozen heap alone (wall.app.warm)
    rather than collect it all again: half a second per start in a process this large."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Session-wide, so a session fixture may be async (tests.browser's one Chromium)."""
    return "asyncio"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    store.dispose()
    return path


def _create_worker_database() -> None:
    """The worker's own database, created beside the given one the first time."""
    assert PG_GIVEN_URL is not None and PG_URL is not None
    name = sa.make_url(PG_URL).database
    admin = sa.create_engine(PG_GIVEN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated() -> str | None:
    """The (worker's) PostgreSQL database, emptied and migrated once per session."""
    if not PG_URL:
        return None
    if PG_URL != PG_GIVEN_URL:
        _create_worker_database()
    store = Store(PG_URL)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    store.migrate()
    store.dispose()
    return PG_URL


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own (a throwaway one on PostgreSQL), for migrations."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    assert PG_GIVEN_URL is not None
    name = f"livewall_blank_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_GIVEN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_GIVEN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(store: Store) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_migrated: str | None
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "livewall.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    assert pg_migrated is not None
    store = Store(pg_migrated)
    _truncate(store)
    store.dispose()
    yield pg_migrated


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.dispose()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> SettingsFactory:
    """Settings from a mapping, on the test's store, with the repository's word lists."""

    def make(**sections: Any) -> Settings:
        raw: dict[str, Any] = {
            "event": {"name": "Assises de test", "hashtags": ["AssisesUMQ"]},
            "storage": {"url": database_url},
            "moderation": {"mode": "pre"},
            "sources": [{"name": "demo", "type": "demo", "per_run": 5}],
            "screens": [{"name": "hall", "layout": "grid"}],
            # Argon2's cheapest cost: a few tenths of a second less for each account made
            # and each login. Tests of the real cost (tests/wall/console/test_login.py) and
            # of the profiles (tests/aggregator/test_accounts.py) ask for the standard one.
            "console": {"password_hashing": "cheapest"},
        }
        raw.update(sections)
        return settings_from_mapping(raw, REPO / "config" / "test.toml")

    return make


@pytest.fixture
def livewall(make_settings: SettingsFactory, store: Store) -> Livewall:
    return pushed_only(Livewall(make_settings(), store=store, env={}))


def pushed_only(app: Livewall) -> Livewall:
    """`app` with the store's last-resort poll a minute away: a change a test sees within its
    few seconds was pushed as it committed (the README's "within a second"; bench/soak.py
    times it)."""
    app.feed.poll_seconds = 60
    return app


@contextlib.asynccontextmanager
async def asgi_client(
    livewall: Livewall, run_scheduler: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """The web app of `livewall` with its lifespan running, behind an in-process client."""
    from wall.app import create_app

    app = create_app(livewall, run_scheduler=run_scheduler)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
async def web(livewall: Livewall) -> AsyncIterator[httpx.AsyncClient]:
    """The web app with its lifespan running, behind an in-process ASGI client."""
    async with asgi_client(livewall) as client:
        yield client


class LiveServer:
    """A real uvicorn server in a thread of the test process, on a free 127.0.0.1 port."""

    def __init__(
        self, livewall: Livewall, run_scheduler: bool = False, port: int | None = None
    ) -> None:
        import socket
        import threading

        import uvicorn

        from wall.app import create_app

        # A given port lets a test stop a server and start another where screens expect it.
        # Otherwise the server gets a socket already bound to a free port: no other test (of
        # another pytest-xdist worker) can take the port between choosing it and listening.
        sockets: list[socket.socket] | None = None
        if port is None:
            bound = socket.socket()
            # As uvicorn's own: a server restarted on the port binds it despite TIME_WAIT.
            bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bound.bind(("127.0.0.1", 0))
            port = int(bound.getsockname()[1])
            sockets = [bound]
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(livewall, run_scheduler=run_scheduler),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": sockets}, daemon=True
        )

    def start(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(livewall: Livewall) -> Iterator[LiveServer]:
    server = LiveServer(livewall).start()
    yield server
    server.stop()
