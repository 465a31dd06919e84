"""Staff accounts: users with Argon2 passwords, console sessions, API tokens and login throttling.

Sessions live in the store, not only in a cookie: a session id is rotated at login, ends at
logout, expires when idle or too old, and stops at once when its user is disabled. The
cookie carries a signed random id; the store keeps only its SHA-256, as for API tokens, so
a copy of the database opens no session.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Field, Session, SQLModel, col, select

from aggregator import audit
from aggregator.i18n import N_
from aggregator.models import User, utc_column, utcnow
from aggregator.store import Store

ROLES = (N_("admin"), N_("moderator"))
FIRST_ADMIN = "admin"
# A working day at the event, then log in again; idle sessions end sooner.
SESSION_LIFETIME = timedelta(hours=14)
SESSION_IDLE = timedelta(hours=4)
# Writing last_seen on every request would contend with the collectors for SQLite's one writer.
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10

HashingProfile = Literal["standard", "cheapest"]
# Argon2id's cost of a password: RFC 9106's low-memory profile (argon2-cffi's default: 64 MiB,
# three passes), or argon2's cheapest, for test suites only (`[console] password_hashing`).
HASHING_PROFILES = {"standard": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


class Passwords:
    """Hashing and checking passwords with one Argon2 parameter set."""

    def __init__(self, profile: HashingProfile) -> None:
        self.profile = profile
        self.hasher = PasswordHasher.from_parameters(HASHING_PROFILES[profile])
        # Verified when the name is unknown: a wrong name costs the time of a wrong password.
        self.dummy_hash = self.hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)


@functools.cache
def passwords(profile: HashingProfile = "standard") -> Passwords:
    """The one `Passwords` of a profile in this process (its dummy hash is made once)."""
    return Passwords(profile)


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
    # The user's own choices (language, shortcuts…), read with the session: no second query.
    preferences: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str, hashing: Passwords | None = None) -> str:
    return (hashing or passwords()).hash(password)


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


def add_user(
    store: Store,
    name: str,
    role: str,
    password: str,
    actor: str = "cli",
    hashing: Passwords | None = None,
) -> User:
    name, role = _check_name(name), _check_role(role)
    check_password_strength(password)
    password_hash = hash_password(password, hashing)  # slow on purpose: outside the write lock
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


def set_password(
    store: Store, name: str, password: str, actor: str = "cli", hashing: Passwords | None = None
) -> None:
    """A new password; the user's other sessions end, since the old one may have leaked."""
    check_password_strength(password)
    password_hash = hash_password(password, hashing)
    with store.write() as session:
        user = _existing(session, name)
        user.password_hash = password_hash
        session.add(user)
        for staff_session in session.exec(
            select(StaffSession).where(StaffSession.user_id == user.id)
        ):
            session.delete(staff_session)
        session.add(audit.entry(actor, "user:password", name))


def authenticate(
    store: Store, name: str, password: str, hashing: Passwords | None = None
) -> User | None:
    """The enabled user with this name and password, or None (in about the same time).
    A password hashed with other parameters than `hashing`'s is hashed again with them."""
    hashing = hashing or passwords()
    user = find_user(store, name.strip())
    stored = user.password_hash if user is not None and user.password_hash else hashing.dummy_hash
    try:
        hashing.hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if hashing.hasher.check_needs_rehash(stored):
        _rehash(store, user, password, hashing)
    return user


def _rehash(store: Store, user: User, password: str, hashing: Passwords) -> None:
    new_hash = hash_password(password, hashing)
    with store.write() as session:
        stored = session.get(User, user.id)
        if stored is not None:
            stored.password_hash = new_hash
            session.add(stored)


def ensure_first_admin(store: Store, hashing: Passwords | None = None) -> str | None:
    """Create the `admin` account if there is no account at all; return its one-time password."""
    with store.read() as session:
        if session.exec(select(User)).first() is not None:
            return None
    password = secrets.token_urlsafe(12)
    try:
        add_user(store, FIRST_ADMIN, "admin", password, actor="first run", hashing=hashing)
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
    return key, Staff(user.name, user.role, row.id, row.csrf_token, user.id, dict(user.preferences))


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
    return Staff(user.name, user.role, row.id, row.csrf_token, user.id, dict(user.preferences))


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

    def __init__(self, store: Store, hashing: Passwords | None = None) -> None:
        self.store = store
        self.hashing = hashing or passwords()

    def authenticate(self, name: str, password: str) -> User | None:
        return authenticate(self.store, name, password, self.hashing)

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
        return add_user(self.store, name, role, password, actor, self.hashing)

    def set_disabled(self, name: str, disabled: bool, actor: str) -> None:
        set_disabled(self.store, name, disabled, actor)

    def set_password(self, name: str, password: str, actor: str) -> None:
        set_password(self.store, name, password, actor, self.hashing)

    def ensure_first_admin(self) -> str | None:
        return ensure_first_admin(self.store, self.hashing)

    def create_token(self, name: str, role: str, actor: str) -> str:
        return create_token(self.store, name, role, actor)

    def revoke_token(self, token_id: int, actor: str) -> None:
        revoke_token(self.store, token_id, actor)

    def preferences(self, user_id: int) -> dict[str, Any]:
        return preferences(self.store, user_id)

    def set_preferences(self, user_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return set_preferences(self.store, user_id, changes)
