"""Staff accounts: users with Argon2 passwords, console sessions, API tokens and login throttling.

Sessions live in the store, not only in a cookie: a session id is rotated at login, ends at
logout, expires when idle or too old, and stops at once when its user is disabled. The
cookie carries a signed random id; the store keeps only its SHA-256, as for API tokens, so
a copy of the database opens no session.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Field, Session, SQLModel, col, select

from aggregator import audit
from aggregator.models import User, utc_column, utcnow
from aggregator.store import Store

ROLES = ("admin", "moderator")
FIRST_ADMIN = "admin"
# A working day at the event, then log in again; idle sessions end sooner.
SESSION_LIFETIME = timedelta(hours=14)
SESSION_IDLE = timedelta(hours=4)
# Writing last_seen on every request would contend with the collectors for SQLite's one writer.
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(Exception):
    """A user operation that cannot be done; the message says why."""


class StaffSession(SQLModel, table=True):
    __tablename__ = "staff_sessions"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    user_id: int = Field(index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = utc_column(nullable=False)
    last_seen: datetime = utc_column(nullable=False)
    address: str | None = Field(default=None, max_length=100)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    role: str = Field(default="moderator", max_length=20)
    created_by: str = Field(max_length=100)
    created_at: datetime = utc_column(nullable=False)
    last_used: datetime | None = utc_column()
    revoked: bool = False


@dataclass(frozen=True)
class Staff:
    """Who is acting: a logged-in user or an API token, with the rights of its role."""

    name: str
    role: str
    session_id: int | None = None
    csrf_token: str | None = None
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(ch.isspace() for ch in name):
        raise AccountError(f"invalid user name {name!r}: 1 to 100 characters, no spaces")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (choose {' or '.join(ROLES)})")
    return role


def add_user(store: Store, name: str, role: str, password: str, actor: str = "cli") -> User:
    name, role = _check_name(name), _check_role(role)
    check_password_strength(password)
    password_hash = hash_password(password)  # slow on purpose: outside the write lock
    with store.write() as session:
        if session.exec(select(User).where(User.name == name)).first() is not None:
            raise AccountError(f"a user named {name!r} already exists")
        user = User(name=name, role=role, password_hash=password_hash, created_at=utcnow())
        session.add(user)
        session.add(audit.entry(actor, "user:add", f"{name} ({role})"))
    return user


def list_users(store: Store) -> list[User]:
    with store.read() as session:
        return list(session.exec(select(User).order_by(col(User.name))))


def find_user(store: Store, name: str) -> User | None:
    with store.read() as session:
        return session.exec(select(User).where(User.name == name)).first()


def _existing(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise AccountError(f"no user named {name!r}")
    return user


def set_disabled(store: Store, name: str, disabled: bool = True, actor: str = "cli") -> None:
    """Disable (or enable again) an account; its sessions end at once."""
    with store.write() as session:
        user = _existing(session, name)
        user.disabled = disabled
        session.add(user)
        if disabled:
            for staff_session in session.exec(
                select(StaffSession).where(StaffSession.user_id == user.id)
            ):
                session.delete(staff_session)
        session.add(audit.entry(actor, "user:disable" if disabled else "user:enable", name))


def set_password(store: Store, name: str, password: str, actor: str = "cli") -> None:
    """A new password; the user's other sessions end, since the old one may have leaked."""
    check_password_strength(password)
    password_hash = hash_password(password)
    with store.write() as session:
        user = _existing(session, name)
        user.password_hash = password_hash
        session.add(user)
        for staff_session in session.exec(
            select(StaffSession).where(StaffSession.user_id == user.id)
        ):
            session.delete(staff_session)
        session.add(audit.entry(actor, "user:password", name))


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The enabled user with this name and password, or None (in about the same time)."""
    user = find_user(store, name.strip())
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(stored):
        _rehash(store, user, password)
    return user


def _rehash(store: Store, user: User, password: str) -> None:
    new_hash = hash_password(password)
    with store.write() as session:
        stored = session.get(User, user.id)
        if stored is not None:
            stored.password_hash = new_hash
            session.add(stored)


def ensure_first_admin(store: Store) -> str | None:
    """Create the `admin` account if there is no account at all; return its one-time password."""
    with store.read() as session:
        if session.exec(select(User)).first() is not None:
            return None
    password = secrets.token_urlsafe(12)
    try:
        add_user(store, FIRST_ADMIN, "admin", password, actor="first run")
    except AccountError:
        return None  # another process created it first
    return password


# Sessions


def open_session(store: Store, user: User, address: str | None) -> tuple[str, Staff]:
    """A new session for a user who just proved who they are: (secret key, staff)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    assert user.id is not None
    row = StaffSession(
        key_hash=digest(key),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen=now,
        address=(address or "")[:100] or None,
    )
    with store.write() as session:
        session.add(row)
        session.add(audit.entry(user.name, "login", address or ""))
    return key, Staff(user.name, user.role, row.id, row.csrf_token, user.id)


def load_session(
    store: Store,
    key: str,
    now: datetime | None = None,
    lifetime: timedelta = SESSION_LIFETIME,
    idle: timedelta = SESSION_IDLE,
) -> Staff | None:
    """The staff behind a session key, or None if it is unknown, expired or its user disabled."""
    now = now or utcnow()
    with store.read() as session:
        row = session.exec(select(StaffSession).where(StaffSession.key_hash == digest(key))).first()
        user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or user.disabled:
        return None
    if now - row.created_at > lifetime or now - row.last_seen > idle:
        close_session(store, row.id)
        return None
    if now - row.last_seen > TOUCH_EVERY:
        _touch(store, row.id, now)
    return Staff(user.name, user.role, row.id, row.csrf_token, user.id)


def _touch(store: Store, session_id: int | None, now: datetime) -> None:
    with store.write() as session:
        row = session.get(StaffSession, session_id)
        if row is not None:
            row.last_seen = now
            session.add(row)


def close_session(store: Store, session_id: int | None, actor: str | None = None) -> None:
    with store.write() as session:
        row = session.get(StaffSession, session_id)
        if row is not None:
            session.delete(row)
        if actor is not None:
            session.add(audit.entry(actor, "logout", ""))


# API tokens, for scripts


def create_token(store: Store, name: str, role: str, actor: str) -> str:
    """A new API token; only its hash is kept, so the returned secret is shown once."""
    name, role = _check_name(name), _check_role(role)
    secret = "lw_" + secrets.token_urlsafe(32)
    with store.write() as session:
        session.add(
            ApiToken(
                name=name,
                token_hash=digest(secret),
                role=role,
                created_by=actor,
                created_at=utcnow(),
            )
        )
        session.add(audit.entry(actor, "token:add", f"{name} ({role})"))
    return secret


def list_tokens(store: Store) -> list[ApiToken]:
    with store.read() as session:
        return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke_token(store: Store, token_id: int, actor: str) -> None:
    with store.write() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise AccountError(f"no API token number {token_id}")
        token.revoked = True
        session.add(token)
        session.add(audit.entry(actor, "token:revoke", token.name))


def check_token(store: Store, secret: str) -> Staff | None:
    with store.read() as session:
        token = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(secret))).first()
    if token is None or token.revoked:
        return None
    return Staff(f"token:{token.name}", token.role)


# Preferences: what each member of staff chose for themselves


def preferences(store: Store, user_id: int) -> dict[str, Any]:
    with store.read() as session:
        user = session.get(User, user_id)
        return dict(user.preferences) if user is not None else {}


def set_preferences(store: Store, user_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `changes` into the user's preferences (a value of None removes the key)."""
    with store.write() as session:
        user = session.get(User, user_id)
        if user is None:
            raise AccountError(f"no user number {user_id}")
        merged = {**user.preferences, **changes}
        # A new dict, so the ORM sees the JSON column change.
        user.preferences = {key: value for key, value in merged.items() if value is not None}
        session.add(user)
        return dict(user.preferences)


class Accounts:
    """Staff accounts, sessions and API tokens of one store: what the web layer calls (each
    method blocks; the wall runs them in threads)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def authenticate(self, name: str, password: str) -> User | None:
        return authenticate(self.store, name, password)

    def open_session(self, user: User, address: str | None) -> tuple[str, Staff]:
        return open_session(self.store, user, address)

    def load_session(self, key: str) -> Staff | None:
        return load_session(self.store, key)

    def close_session(self, session_id: int | None, actor: str | None = None) -> None:
        close_session(self.store, session_id, actor)

    def check_token(self, secret: str) -> Staff | None:
        return check_token(self.store, secret)

    def users(self) -> list[User]:
        return list_users(self.store)

    def tokens(self) -> list[ApiToken]:
        return list_tokens(self.store)

    def add_user(self, name: str, role: str, password: str, actor: str) -> User:
        return add_user(self.store, name, role, password, actor)

    def set_disabled(self, name: str, disabled: bool, actor: str) -> None:
        set_disabled(self.store, name, disabled, actor)

    def set_password(self, name: str, password: str, actor: str) -> None:
        set_password(self.store, name, password, actor)

    def create_token(self, name: str, role: str, actor: str) -> str:
        return create_token(self.store, name, role, actor)

    def revoke_token(self, token_id: int, actor: str) -> None:
        revoke_token(self.store, token_id, actor)

    def preferences(self, user_id: int) -> dict[str, Any]:
        return preferences(self.store, user_id)

    def set_preferences(self, user_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return set_preferences(self.store, user_id, changes)


# Login throttling

LOGIN_WINDOW = 15 * 60.0
FIRST_WAIT = 30.0


@dataclass
class Throttle:
    """Failed logins per key (an account, an address, a pair) in a sliding window.

    The first `limit` failures cost nothing; past them each try waits twice as long as the
    one before (from `first_wait`, at most the window), so guessing slows down steadily
    instead of hitting a wall that also stops the owner for the whole window.
    """

    limit: int
    window: float = LOGIN_WINDOW
    first_wait: float = FIRST_WAIT
    clock: Callable[[], float] = time.monotonic
    # Names are the caller's to choose: past this many keys, forgotten ones are dropped.
    max_keys: int = 10_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        horizon = self.clock() - self.window
        while failures and failures[0] < horizon:
            failures.popleft()
        return failures

    def blocked_for(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        failures = self._recent(key)
        beyond = len(failures) - self.limit
        if beyond < 0:
            return 0.0
        wait = min(self.first_wait * 2.0 ** min(beyond, 32), self.window)
        return max(failures[-1] + wait - self.clock(), 0.0)

    def fail(self, key: str) -> None:
        if key not in self._failures:
            if len(self._failures) >= self.max_keys:
                self._prune()
            self._failures[key] = deque()
        self._recent(key).append(self.clock())

    def take_back(self, key: str) -> None:
        """Undo one `fail`: a try counted ahead that turned out not to be a failure."""
        failures = self._failures.get(key)
        if failures:
            failures.pop()

    def forgive(self, key: str) -> None:
        self._failures.pop(key, None)

    def _prune(self) -> None:
        for key in [k for k in self._failures if not self._recent(k)]:
            del self._failures[key]
        # Still full (many keys at once): the oldest go first, dicts keep insertion order.
        for key in list(self._failures)[: max(len(self._failures) - self.max_keys * 9 // 10, 0)]:
            del self._failures[key]


@dataclass
class LoginThrottle:
    """Who may try a password now, counted three ways:

    - an account from one address (`pair`): one guesser at one account, a few tries;
    - an account from anywhere (`account`), with a higher ceiling: many addresses at one
      account, while one guesser alone never locks its owner (at another address) out;
    - an address, whatever the account (`address`): one address trying many accounts.

    A try is counted before its password is checked, in the same step as the check of the
    counts (`reserve`), so simultaneous tries cannot all pass a count none has raised yet.
    A try that succeeds, or that was not checked after all, is taken back.

    Kept in memory by the web process: a restart forgives, which is acceptable for slowing
    down guessing. The view only calls `reserve`, `succeeded` and `unchecked`: the counts
    can move to the store (one transaction each) without changing it.
    """

    pair: Throttle = field(default_factory=lambda: Throttle(limit=5))
    account: Throttle = field(default_factory=lambda: Throttle(limit=50))
    address: Throttle = field(default_factory=lambda: Throttle(limit=30))

    def _keys(self, account: str, address: str) -> list[tuple[Throttle, str]]:
        name = account.strip().casefold()[:100]
        return [(self.pair, f"{name}\n{address}"), (self.account, name), (self.address, address)]

    def reserve(self, account: str, address: str) -> float:
        """Count a try now and return 0, or return the seconds to wait (nothing counted)."""
        keys = self._keys(account, address)
        wait = max(throttle.blocked_for(key) for throttle, key in keys)
        if wait == 0:
            for throttle, key in keys:
                throttle.fail(key)
        return wait

    def succeeded(self, account: str, address: str) -> None:
        """The password was right: the try is no failure, and this pair's typos are forgiven
        (not the account's: its owner logging in must not reset a guesser elsewhere)."""
        self.unchecked(account, address)
        self.pair.forgive(self._keys(account, address)[0][1])

    def unchecked(self, account: str, address: str) -> None:
        for throttle, key in self._keys(account, address):
            throttle.take_back(key)
