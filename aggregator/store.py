"""The store: one engine, SQLite (WAL, one writer) or PostgreSQL, and its migrations.

Writes go through `Store.write()`: on SQLite it starts with BEGIN IMMEDIATE so that a
read-then-write transaction waits for the lock instead of failing with "database is
locked"; on PostgreSQL it takes a transaction-level advisory lock so that change sequence
numbers are committed in the order they were handed out (a screen resuming from N must
never later see N-1 appear).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.driver_rows import DriverRows
from aggregator.models import Change, utcnow

if TYPE_CHECKING:
    from alembic.config import Config

# How long a write waits for SQLite's one writer before it is refused (StoreBusy).
BUSY_TIMEOUT = 15.0
# Any constant unique to livewall: serializes change-sequence writers on PostgreSQL.
CHANGE_LOCK_KEY = 0x11FE_0A11
NOTIFY_CHANNEL = "livewall_changes"
_CHANGES = sa.Table("changes", Change.metadata)
_CHANGED = ("kind", "post_id", "payload", "created_at")
# The newest changes, as many as the parameter says (built once: every batch asks).
_NEWEST = (
    sa.select(_CHANGES.c.post_id, _CHANGES.c.seq)
    .order_by(_CHANGES.c.seq.desc())
    .limit(sa.bindparam("count", type_=sa.Integer))
)
# PostgreSQL: a batch's change rows from two arrays, in their order, in one statement that
# returns their numbers (an executemany is a round of the server's work per row, and a query).
_FROM_ARRAYS = sa.text(
    "INSERT INTO changes (kind, post_id, payload, created_at)"
    " SELECT kind, post_id, '{}', :now"
    " FROM unnest(:kinds, :ids) WITH ORDINALITY AS listed(kind, post_id, n) ORDER BY n"
    " RETURNING post_id, seq"
).bindparams(
    sa.bindparam("kinds", type_=postgresql.ARRAY(sa.String())),
    sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer())),
    sa.bindparam("now", type_=_CHANGES.c.created_at.type),
)
# Where a writing session keeps the change numbers it handed out, to publish after commit.
_RECORDED = "livewall_changes"


class StoreError(Exception):
    """The store cannot be used as configured (unreachable server, read-only file, WAL refused)."""


class StoreBusy(Exception):
    """Another writer held SQLite's lock longer than the busy timeout: try again shortly (a
    web request answers 503 with Retry-After, never 500)."""


def _sqlite_pragmas(busy_timeout: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() not in ("wal", "memory"):
            raise StoreError(f"SQLite refused WAL mode (journal_mode is {mode!r})")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


@contextmanager
def _busy_refused() -> Iterator[None]:
    """SQLite's "database is locked" (the busy timeout ran out) becomes StoreBusy."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        name = str(getattr(exc.orig, "sqlite_errorname", ""))
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc.orig):
            raise StoreBusy(f"the store is busy: {exc.orig}") from exc
        raise


def _sqlite_begin(conn: sa.Connection) -> None:
    writing = conn.get_execution_options().get("livewall_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


# A write, a screens' render, the media prefetch and a console request at once.
WARM_CONNECTIONS = 4


def create_engine(url: str, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    if url.startswith("sqlite"):
        _ensure_parent(url)
        # isolation_level=None: pysqlite issues no BEGIN of its own, we do (see _sqlite_begin).
        engine = sa.create_engine(
            url, connect_args={"isolation_level": None, "check_same_thread": False}
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _ensure_parent(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


class Store:
    def __init__(self, url: str, busy_timeout: float = BUSY_TIMEOUT) -> None:
        """`busy_timeout`: seconds a SQLite write waits for another writer (then StoreBusy)."""
        self.url = url
        self.busy_timeout = busy_timeout
        self.engine = create_engine(url, busy_timeout)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = self.engine.execution_options(livewall_write=True)
        # One writer per process on SQLite: waiting here is cheaper than on the file lock.
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._listeners: list[Callable[[int], None]] = []

    def on_change(self, listener: Callable[[int], None]) -> None:
        """Call `listener` with the highest change number of each writing transaction that
        made changes, once it has committed (from the writing thread)."""
        self._listeners.append(listener)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _busy_refused(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A writing transaction, committed on success and rolled back on any error; the
        changes it recorded are published after the commit, so no caller can forget to.
        StoreBusy when another writer keeps SQLite's lock past the busy timeout."""
        lock = self._write_lock
        if lock is not None and not lock.acquire(timeout=self.busy_timeout):
            raise StoreBusy(f"another write of this process held the store {self.busy_timeout} s")
        try:
            with _busy_refused(), Session(self._write_engine, expire_on_commit=False) as session:
                if not self.is_sqlite:
                    session.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHANGE_LOCK_KEY}
                    )
                yield session
                session.commit()
                recorded: list[int] = session.info.get(_RECORDED, [])
        finally:
            if lock is not None:
                lock.release()
        if recorded:
            for listener in self._listeners:
                listener(max(recorded))

    def add_change(self, session: Session, kind: str, **fields: Any) -> int:
        """Record a visible change in the current transaction and return its sequence."""
        change = Change(kind=kind, created_at=utcnow(), **fields)
        session.add(change)
        session.flush()
        assert change.seq is not None
        session.info.setdefault(_RECORDED, []).append(change.seq)
        if not self.is_sqlite:
            # Delivered at commit, to every process LISTENing (changes.py); only the number.
            session.execute(
                sa.text("SELECT pg_notify(:channel, :seq)"),
                {"channel": NOTIFY_CHANNEL, "seq": str(change.seq)},
            )
        return change.seq

    def add_changes(self, session: Session, changes: list[tuple[str, int]]) -> list[int]:
        """Record changes of several posts (kind, post id; one each) with two statements (one
        on PostgreSQL, and its notification); their sequence numbers, in the order given."""
        if not changes:
            return []
        given = self._insert_changes(session, changes)
        if set(given) != {post_id for _, post_id in changes}:
            raise RuntimeError("another writer recorded changes in this transaction")
        seqs = [given[post_id] for _, post_id in changes]
        session.info.setdefault(_RECORDED, []).extend(seqs)
        if not self.is_sqlite:  # the highest is enough: a listener moves to the highest it hears
            session.execute(
                sa.text("SELECT pg_notify(:channel, :seq)"),
                {"channel": NOTIFY_CHANNEL, "seq": str(max(seqs))},
            )
        return seqs

    def _insert_changes(self, session: Session, changes: list[tuple[str, int]]) -> dict[int, int]:
        """Insert the change rows; their numbers by post id."""
        connection = session.connection()
        now = utcnow()
        if not self.is_sqlite:
            kinds, ids = [kind for kind, _ in changes], [post_id for _, post_id in changes]
            given = connection.execute(_FROM_ARRAYS, {"kinds": kinds, "ids": ids, "now": now})
            return {int(p): int(s) for p, s in given}
        rows: list[tuple[Any, ...]] = [(kind, post_id, {}, now) for kind, post_id in changes]
        DriverRows(session).insert(_CHANGES, _CHANGED, rows)
        # Change writers take turns (SQLite's one writer), so the newest rows are these: one
        # lookup on the primary key, whatever the statistics.
        newest = connection.execute(_NEWEST, {"count": len(changes)})
        return {int(p): int(s) for p, s in newest}

    def last_seq(self) -> int:
        with self.read() as session:
            return int(session.execute(sa.select(sa.func.max(Change.seq))).scalar() or 0)

    def migrate(self) -> list[str]:
        """Apply pending migrations; return the revisions applied."""
        return migrate(self.engine)

    def check(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open the store {self.safe_url}: {exc.orig}") from None

    @property
    def file(self) -> str | None:
        """The SQLite file's path (None on PostgreSQL and for an in-memory database)."""
        database = self.engine.url.database
        if not self.is_sqlite or not database or database == ":memory:":
            return None
        return database

    @property
    def libpq_url(self) -> str:
        """The URL for a plain psycopg connection (the LISTEN connection)."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    def open_connections(self, count: int = WARM_CONNECTIONS) -> None:
        """Open pooled connections now, at start: the first post after it does not wait for
        the connections its write, its screens' render and the media prefetch each take."""
        opened = [self.engine.connect() for _ in range(count)]
        for connection in opened:
            connection.close()  # back to the pool, still open


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config  # imported here: most commands never migrate

    config = Config()
    config.set_main_option("script_location", str(resources.files("aggregator") / "migrations"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> list[str]:
    """Upgrade to the one head; return the revisions applied, in the order applied."""
    from alembic import command
    from alembic.util import CommandError

    applied: list[str] = []
    config = alembic_config(engine)
    config.attributes["on_revision"] = applied.append
    try:
        command.upgrade(config, "head")  # one linear history (0008 merged the old branches)
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot migrate {engine.url!r}: {exc.orig}") from None
    except CommandError as exc:  # e.g. a revision unknown here: a newer livewall migrated it
        raise StoreError(f"cannot migrate {engine.url!r}: {exc}") from None
    return applied
