"""`livewall backup FILE`: a consistent copy of the store while posts keep arriving.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the database as it was
when the copy began, in one read transaction, while the WAL lets writers go on. PostgreSQL:
`pg_dump`, which also reads one snapshot; when it is not installed, the exact command to run.
The media cache and the key are files: the report says where they are and what to copy.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from aggregator.media_urls import KEY_FILE, MEDIA_DIR_ENV, default_directory
from aggregator.settings import SESSION_KEY_ENV
from aggregator.store import Store


class BackupError(Exception):
    """The copy could not be made: the message says what to do instead."""


@dataclass(frozen=True)
class BackupReport:
    target: Path
    size: int
    posts: int | None  # counted in the copy (SQLite); None when the copy is a dump file


def backup(store: Store, target: Path) -> BackupReport:
    """Copy the store into `target` (a new file); raise BackupError when it cannot."""
    if target.exists():
        raise BackupError(f"{target}: already exists (give a new file name)")
    if store.is_sqlite:
        return _sqlite_backup(_sqlite_path(store), target)
    return _pg_dump(store, target)


def _sqlite_path(store: Store) -> Path:
    database = store.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("the store is in memory: there is nothing on disk to copy")
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> BackupReport:
    partial = target.with_name(f".{target.name}.part")
    partial.unlink(missing_ok=True)
    # Read-only: a backup must never create the store or change it.
    live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    try:
        live.execute("PRAGMA busy_timeout = 15000")
        live.backup(copy)  # all pages in one step: one snapshot, whatever is written meanwhile
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside
        posts = int(copy.execute("SELECT count(*) FROM posts").fetchone()[0])
    finally:
        copy.close()
        live.close()
    partial.replace(target)  # a half-written copy never carries the name asked for
    return BackupReport(target, target.stat().st_size, posts)


def pg_dump_command(store: Store, target: Path) -> list[str]:
    """The pg_dump line for this store; the password, if any, goes in PGPASSWORD, never here."""
    url = make_url(store.libpq_url)
    command = ["pg_dump", "--format=custom", f"--file={target}"]
    for option, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            command.append(f"{option}={value}")
    return [*command, str(url.database or "")]


def _pg_dump(store: Store, target: Path) -> BackupReport:
    command = pg_dump_command(store, target)
    if shutil.which("pg_dump") is None:
        raise BackupError(
            "pg_dump is not installed here (Debian: apt install postgresql-client); "
            f"run it where it is, with the password in PGPASSWORD: {' '.join(command)}"
        )
    env = dict(os.environ)
    password = make_url(store.libpq_url).password
    if password:
        env["PGPASSWORD"] = str(password)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")
    return BackupReport(target, target.stat().st_size, None)


def what_else_to_copy(store: Store, env: Mapping[str, str]) -> list[str]:
    """The files and secrets a restore needs beside the store's copy (never their values)."""
    media = default_directory(store.url, env)
    where = f"{MEDIA_DIR_ENV}" if env.get(MEDIA_DIR_ENV) else "beside the store"
    lines = [f"media: copy the folder {media} ({where}): staff images and the image cache"]
    if env.get(SESSION_KEY_ENV):
        lines.append(
            f"key: keep {SESSION_KEY_ENV} with your secrets (set here; not printed): sessions "
            "and the images of digest emails already sent depend on it"
        )
    else:
        lines.append(
            f"key: {SESSION_KEY_ENV} is not set; the media key is {media / KEY_FILE} "
            "(in the media folder): copy it with the folder"
        )
    return lines
