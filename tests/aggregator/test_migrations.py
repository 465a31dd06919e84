"""The migration history: one line from the merge on, revisions that never import the live
models, and a store at any past state (empty, or at the heads an older livewall left) brought to
exactly the models' schema, on SQLite and PostgreSQL (throwaway databases: the session's
migrated one is left alone)."""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import aggregator.schema  # noqa: F401  (every model, for the comparison)
from aggregator.store import Store, StoreError, alembic_config

MIGRATIONS = Path(str(resources.files("aggregator") / "migrations"))
MERGE = "0008_one_history"
# The heads an older livewall's `upgrade heads` left in alembic_version, release after release.
PAST_HEADS = [
    (),
    ("0001",),
    ("0004",),
    ("0004", "0003_console"),
    ("0002_wall", "0004", "0003_console"),
    ("0002_wall", "0006", "0003_console"),
    ("0005_message_image", "0006", "0003_console"),
    ("0007_screen_offline", "0006", "0003_console"),
]
# What a revision may import: never a live model module, only its frozen column types.
ALLOWED_IMPORTS = (
    "__future__",
    "collections.abc",
    "datetime",
    "typing",
    "alembic",
    "sqlalchemy",
    "sqlmodel",
    "aggregator.migrations.column_types",
)
POST = {
    "source": "mastodon",
    "external_id": "109",
    "network": "mastodon",
    "kind": "post",
    "author_handle": "@mairie@example.org",
    "author_name": "Mairie",
    "text": "Bonjour les Assises",
    "html": "<p>Bonjour les Assises</p>",
    "created_at": "2026-11-25 14:05:00",
    "collected_at": "2026-11-25 14:06:00",
    "media": "[]",
    "hashtags": '["AssisesUMQ"]',
    "likes": 3,
    "shares": 1,
    "replies": 0,
    "sensitive": False,
    "reveal": False,
    "status": "approved",
    "pinned": False,
    "featured": False,
    "official": False,
    "deleted": False,
    "seq": 1,
}


@pytest.fixture
def blank_store(blank_database_url: str) -> Iterator[Store]:
    """A store on an empty database of its own."""
    store = Store(blank_database_url)
    yield store
    store.dispose()


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _versions(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _schema_differences(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, SQLModel.metadata))


def _upgrade_to(store: Store, heads: tuple[str, ...]) -> None:
    """Build the store as an older livewall did: every branch up to its head."""
    for head in heads:
        command.upgrade(alembic_config(store.engine), head)


def _posts(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [
            tuple(row) for row in conn.execute(sa.text("SELECT source, external_id FROM posts"))
        ]


def _keep_a_post(store: Store) -> None:
    table = sa.table("posts", *(sa.column(name) for name in POST))
    with store.engine.begin() as conn:
        conn.execute(table.insert().values(POST))


def _applied_once_parents_first(applied: list[str], heads: tuple[str, ...]) -> bool:
    scripts = _scripts()
    done = {rev.revision for head in heads for rev in scripts.iterate_revisions(head, "base")}
    missing = {rev.revision for rev in scripts.walk_revisions()} - done
    for revision in applied:
        if not set(_parents(revision)) <= done:
            return False
        done.add(revision)
    return sorted(applied) == sorted(missing)


def _line_from_merge() -> list[str]:
    """MERGE and every revision after it, oldest first."""
    after = [rev.revision for rev in _scripts().iterate_revisions("head", MERGE)]  # MERGE excluded
    return [MERGE, *reversed(after)]


def _parents(revision: str) -> tuple[str, ...]:
    down = _scripts().get_revision(revision).down_revision
    return (down,) if isinstance(down, str) else tuple(down or ())


@pytest.mark.parametrize("heads", PAST_HEADS, ids=lambda heads: "+".join(heads) or "empty")
def test_a_store_at_any_past_state_is_brought_to_the_models(
    blank_store: Store, heads: tuple[str, ...]
) -> None:
    _upgrade_to(blank_store, heads)
    if heads:
        assert _versions(blank_store) == sorted(heads)  # one row per branch, as it was left
        _keep_a_post(blank_store)

    applied = blank_store.migrate()

    assert _versions(blank_store) == [_scripts().get_current_head()]
    assert _schema_differences(blank_store) == []
    assert _applied_once_parents_first(applied, heads), applied
    assert applied[applied.index(MERGE) :] == _line_from_merge()
    assert _posts(blank_store) == ([("mastodon", "109")] if heads else [])
    assert blank_store.migrate() == []


def test_the_models_have_every_table_the_migrations_make(blank_store: Store) -> None:
    # An empty comparison proves nothing if the models were not all registered.
    blank_store.migrate()
    tables = set(sa.inspect(blank_store.engine).get_table_names()) - {"alembic_version"}
    assert tables == set(SQLModel.metadata.tables)


def test_the_history_is_one_line_from_the_merge_on() -> None:
    scripts = _scripts()
    assert len(scripts.get_heads()) == 1, "several heads: a new revision revises the one head"
    assert scripts.get_bases() == ["0001"]
    line = _line_from_merge()
    for parent, revision in pairwise(line):
        assert _parents(revision) == (parent,), f"{revision} must have one parent, {parent}"
    assert all(re.match(r"\d{4}_", revision) for revision in line), f"--rev-id NNNN_name: {line}"
    numbers = [int(revision[:4]) for revision in line]
    assert numbers == sorted(set(numbers)), f"revision numbers out of order: {line}"


def _imports(path: Path) -> list[str]:
    """Every module a file imports, a `from x import y` counted as x.y."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _allowed(name: str) -> bool:
    return any(name == ok or name.startswith(f"{ok}.") for ok in ALLOWED_IMPORTS)


@pytest.mark.parametrize(
    "path",
    [*sorted(MIGRATIONS.glob("versions/*.py")), MIGRATIONS / "column_types.py"],
    ids=lambda path: path.name,
)
def test_a_revision_imports_no_live_model(path: Path) -> None:
    assert [name for name in _imports(path) if not _allowed(name)] == []


def test_an_autogenerated_revision_names_the_frozen_types(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    store = Store(f"sqlite:///{tmp_path / 'blank.db'}")
    config = alembic_config(store.engine)
    config.set_main_option("script_location", str(scripts))
    # Stamped at head but empty: autogenerate writes every table, every column type.
    command.stamp(config, "head")
    command.revision(config, message="every table", autogenerate=True, rev_id="9999_probe")
    store.dispose()

    (path,) = scripts.glob("versions/9999_probe_*.py")
    assert "column_types.UTCDateTime()" in path.read_text(encoding="utf-8")
    assert [name for name in _imports(path) if not _allowed(name)] == []


def test_a_store_from_a_newer_livewall_is_refused_clearly(blank_store: Store) -> None:
    blank_store.migrate()
    with blank_store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0042_future'"))
    with pytest.raises(StoreError, match=r"cannot migrate .*'0042_future'"):
        blank_store.migrate()
