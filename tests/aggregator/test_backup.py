"""`livewall backup`: a copy taken while posts keep arriving opens and agrees with itself."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

from aggregator.application import Livewall
from aggregator.backup import BackupError, backup, pg_dump_command, what_else_to_copy
from aggregator.store import Store
from tests.builders import candidate, result, source

BATCHES, PER_BATCH = 60, 20


def keep_ingesting(livewall: Livewall, stop: threading.Event, done: list[int]) -> None:
    """Batches of posts, each written with its source's count in one transaction."""
    options = source("relais")
    for number in range(BATCHES):
        if stop.is_set():
            return
        posts = [candidate(f"{number}-{i}", f"Message {number}-{i}") for i in range(PER_BATCH)]
        livewall.pipeline.ingest(options, result(*posts))
        done.append(number)


def test_a_copy_during_inserts_opens_and_is_consistent(
    livewall: Livewall, store: Store, tmp_path: Path
) -> None:
    if not store.is_sqlite:
        pytest.skip("the SQLite copy; PostgreSQL's is pg_dump's (below)")
    stop, done = threading.Event(), []
    writer = threading.Thread(target=keep_ingesting, args=(livewall, stop, done))
    writer.start()
    try:
        while len(done) < 3:  # posts are arriving when the copy starts
            threading.Event().wait(0.01)
        report = backup(store, tmp_path / "copy.db")
        finished_while_copying = len(done) < BATCHES
    finally:
        stop.set()
        writer.join()
    assert finished_while_copying, "the copy should have run while posts were arriving"
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    posts = copy.execute("SELECT count(*) FROM posts").fetchone()[0]
    (counted,) = copy.execute(
        "SELECT posts_collected FROM sources WHERE name = 'relais'"
    ).fetchone()
    # Whole batches only, and the source's count written with them agrees: one snapshot.
    assert posts == report.posts == counted and posts % PER_BATCH == 0 and posts >= 3 * PER_BATCH
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert not (tmp_path / "copy.db-wal").exists()


def test_an_existing_file_is_never_overwritten(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    target.write_text("précieux")
    with pytest.raises(BackupError, match="already exists"):
        backup(store, target)
    assert target.read_text() == "précieux"


def test_what_else_names_the_media_folder_and_never_a_secret(store: Store) -> None:
    secret = "ne-jamais-afficher-cette-cle"
    lines = what_else_to_copy(
        store, {"LIVEWALL_SECRET_KEY": secret, "LIVEWALL_MEDIA_DIR": "/srv/m"}
    )
    assert "/srv/m" in lines[0] and "LIVEWALL_SECRET_KEY" in lines[1]
    assert not any(secret in line for line in lines)
    assert ".key" in what_else_to_copy(store, {})[1]


def test_postgresql_is_dumped_by_pg_dump(livewall: Livewall, store: Store, tmp_path: Path) -> None:
    if store.is_sqlite:
        pytest.skip("PostgreSQL only")
    livewall.pipeline.ingest(source("relais"), result(candidate("a"), candidate("b")))
    report = backup(store, tmp_path / "livewall.dump")
    listing = subprocess.run(
        ["pg_restore", "--list", str(report.target)], capture_output=True, text=True, check=True
    )
    assert "TABLE DATA public posts" in listing.stdout


def test_without_pg_dump_the_exact_command_is_given(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.is_sqlite:
        pytest.skip("PostgreSQL only")
    monkeypatch.setenv("PATH", str(tmp_path))  # nowhere to find pg_dump
    with pytest.raises(BackupError) as refused:
        backup(store, tmp_path / "livewall.dump")
    command = " ".join(pg_dump_command(store, tmp_path / "livewall.dump"))
    assert command in str(refused.value) and "--format=custom" in command
    assert store.engine.url.password is None or str(store.engine.url.password) not in command
