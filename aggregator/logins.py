"""Login throttling: failed logins counted in the store, so every web process sees the same counts.

With `serve --workers N` (or N services behind a balancer) each try may reach another
process: counts kept in one process's memory would give a guesser N times the tries. Each
try is one writing transaction (serialized, store.py), which also makes counting and
checking one step: simultaneous tries cannot all pass a count none has raised yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from aggregator.accounts import digest
from aggregator.store import Store

LOGIN_WINDOW = 15 * 60.0
FIRST_WAIT = 30.0


class LoginFailure(SQLModel, table=True):
    """One failed (or not yet judged) try, under one of the three counts."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    count: str = Field(max_length=10)  # pair, account or address
    # A hash: what people type as a name is sometimes their password.
    key_hash: str = Field(max_length=64)
    at: float = Field(index=True)  # seconds since the epoch: every process shares the clock

    __table_args__ = (sa.Index("ix_login_failures_count_key", "count", "key_hash"),)


@dataclass(frozen=True)
class Throttle:
    """How long to wait after failures in a sliding window.

    The first `limit` failures cost nothing; past them each try waits twice as long as the
    one before (from `first_wait`, at most the window), so guessing slows down steadily
    instead of hitting a wall that also stops the owner for the whole window.
    """

    limit: int
    window: float = LOGIN_WINDOW
    first_wait: float = FIRST_WAIT

    def wait(self, failures: Sequence[float], now: float) -> float:
        """Seconds until the next try (0: now), given the window's failure times, oldest first."""
        beyond = len(failures) - self.limit
        if beyond < 0:
            return 0.0
        wait = min(self.first_wait * 2.0 ** min(beyond, 32), self.window)
        return max(failures[-1] + wait - now, 0.0)


@dataclass
class LoginThrottle:
    """Who may try a password now, counted three ways:

    - an account from one address (`pair`): one guesser at one account, a few tries;
    - an account from anywhere (`account`), with a higher ceiling: many addresses at one
      account, while one guesser alone never locks its owner (at another address) out;
    - an address, whatever the account (`address`): one address trying many accounts.

    A try is counted before its password is checked (`reserve`); one that succeeds, or that
    was not checked after all, is taken back. Every method blocks: call it from a thread.
    """

    store: Store
    clock: Callable[[], float] = time.time
    pair: Throttle = field(default_factory=lambda: Throttle(limit=5))
    account: Throttle = field(default_factory=lambda: Throttle(limit=50))
    address: Throttle = field(default_factory=lambda: Throttle(limit=30))

    def _keys(self, account: str, address: str) -> list[tuple[str, Throttle, str]]:
        name = account.strip().casefold()[:100]
        return [
            ("pair", self.pair, digest(f"{name}\n{address}")),
            ("account", self.account, digest(name)),
            ("address", self.address, digest(address)),
        ]

    def reserve(self, account: str, address: str) -> float:
        """Count a try now and return 0, or return the seconds to wait (nothing counted)."""
        now = self.clock()
        keys = self._keys(account, address)
        with self.store.write() as session:
            self._forget_old(session, now)
            wait = max(
                throttle.wait(_failures(session, count, key, now - throttle.window), now)
                for count, throttle, key in keys
            )
            if wait == 0:
                session.add_all(LoginFailure(count=c, key_hash=k, at=now) for c, _t, k in keys)
        return wait

    def succeeded(self, account: str, address: str) -> None:
        """The password was right: the try is no failure, and this pair's typos are forgiven
        (not the account's: its owner logging in must not reset a guesser elsewhere)."""
        count, _throttle, key = self._keys(account, address)[0]
        with self.store.write() as session:
            self._take_back(session, account, address)
            session.execute(sa.delete(LoginFailure).where(*_of(count, key)))

    def unchecked(self, account: str, address: str) -> None:
        """The try was not judged (the server was busy, the store down): it is no failure."""
        with self.store.write() as session:
            self._take_back(session, account, address)

    def failures(self, account: str) -> int:
        """The account's failures in its window (what a report or a test reads)."""
        _count, throttle, key = self._keys(account, "")[1]
        with self.store.read() as session:
            return len(_failures(session, "account", key, self.clock() - throttle.window))

    def _take_back(self, session: Session, account: str, address: str) -> None:
        for count, _throttle, key in self._keys(account, address):
            newest = sa.select(sa.func.max(LoginFailure.id)).where(*_of(count, key))
            session.execute(
                sa.delete(LoginFailure).where(col(LoginFailure.id) == newest.scalar_subquery())
            )

    def _forget_old(self, session: Session, now: float) -> None:
        # Past every window, a failure counts for nothing: the table stays as small as the
        # last quarter of an hour's tries, however many names guessers make up.
        longest = max(self.pair.window, self.account.window, self.address.window)
        session.execute(sa.delete(LoginFailure).where(col(LoginFailure.at) < now - longest))


def _of(count: str, key: str) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    return col(LoginFailure.count) == count, col(LoginFailure.key_hash) == key


def _failures(session: Session, count: str, key: str, since: float) -> list[float]:
    query = (
        select(LoginFailure.at)
        .where(*_of(count, key), col(LoginFailure.at) >= since)
        .order_by(col(LoginFailure.at))
    )
    return list(session.exec(query))
