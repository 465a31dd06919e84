"""Alembic environment: runs on the engine the store hands over (no URL in an ini file)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

import aggregator.tables  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config


def _record(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
    callback = config.attributes.get("on_revision")
    if callback is not None and step.is_upgrade:
        callback(step.up_revision_id)


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from aggregator.store import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///livewall.db")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            # SQLite cannot ALTER most things: batch mode copies the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            on_version_apply=_record,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
