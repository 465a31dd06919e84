"""Rows of a batch written and matched with a few statements, values as the driver takes them.

SQLAlchemy's own `executemany` passes every value of every row through its type machinery
and, with RETURNING, renders one statement of a hundred rows × 39 columns that PostgreSQL
parses and plans afresh each time: for the ingest's batches that was most of the cost of
storing a post. Here each value needing it goes once through its column type's own bind
processor (the same conversions: UTC datetimes, JSON, booleans), the rows go in with the
driver's `executemany` (psycopg pipelines it), and whatever ids are needed come back with one
indexed query. Statements still go through the session's connection, in its transaction,
with SQLAlchemy's events (the tests count them).

A list of values to match is one parameter, whatever its length (`where_in`), in a statement
built once per dialect: building and keying a statement cost more than running it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from aggregator.models import UTCDateTime, sqlite_moment

Processor = Callable[[Any], Any]


class DriverRows:
    """Statements of one writing transaction, in the store's dialect."""

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self.sqlite = self.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"

    def insert(
        self, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Insert rows (values in `columns`' order) with one `executemany`."""
        marks = ", ".join(self.mark for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        self.execute_many(sql, self.bound(table, columns, rows))

    def execute_many(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        if params:
            self.connection.exec_driver_sql(sql, params)

    def bound(
        self, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> list[tuple[Any, ...]]:
        """The rows' values as the driver takes them, converted column by column (a batch's
        rows turned into columns and back by `zip`, in C)."""
        converted, json_columns = _processors(self.dialect, table, tuple(columns))
        if not converted:
            return [tuple(row) for row in rows]
        values: list[Sequence[Any]] = list(zip(*rows, strict=True))
        if not values:
            return []
        for index, process in converted:
            values[index] = _column(values[index], process, index in json_columns)
        return list(zip(*values, strict=True))


def _column(values: Sequence[Any], process: Processor, json: bool) -> list[Any]:
    """One column's values converted; NULL stays NULL whatever the type. A JSON column's
    empty lists and objects (most rows' media, hashtags) are converted once each."""
    if not json:
        return [None if value is None else process(value) for value in values]
    empty: dict[type, Any] = {}
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
        elif value == [] or value == {}:
            kind = type(value)
            if kind not in empty:
                empty[kind] = process(value)
            out.append(empty[kind])
        else:
            out.append(process(value))
    return out


def where_in(
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    key: str,
    item: sa.types.TypeEngine[Any],
    dialect: Dialect,
) -> sa.Select[Any]:
    """`query` kept to rows whose `column` is one of a list given, at execution, as the one
    parameter `key` (`listed` makes its value): the statement is the same for every batch, so
    it is built once, and each value is one index lookup. SQLite reads a JSON array with
    `json_each` in an `IN`; PostgreSQL joins the unnested array (its planner keeps the join an
    index lookup per value even before the table has statistics, where an `IN` or `= ANY` was
    planned as a scan of a fast-growing table)."""
    if dialect.name == "sqlite":
        array = sa.bindparam(key, type_=sa.String)
        values = sa.func.json_each(array).table_valued("value")
        return query.where(column.in_(sa.select(values.c.value)))
    bound = sa.bindparam(key, type_=postgresql.ARRAY(item))
    unnested = sa.func.unnest(bound).table_valued("value").render_derived().alias("listed")
    return query.join(unnested, column == unnested.c.value)


def listed(values: Iterable[Any], dialect: Dialect) -> Any:
    """The value of a `where_in` parameter: the list as the dialect's statement reads it."""
    return json.dumps(list(values)) if dialect.name == "sqlite" else list(values)


@cache
def _processors(
    dialect: Dialect, table: sa.Table, columns: tuple[str, ...]
) -> tuple[tuple[tuple[int, Processor], ...], frozenset[int]]:
    """The columns whose values need converting, with their types' bind processors, and
    those of JSON columns (whose empty values are converted once). SQLite's booleans go as
    they are: the driver stores a bool as the integer its processor would make of it."""
    found = []
    for index, name in enumerate(columns):
        kind = table.c[name].type
        process: Processor | None = kind.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "sqlite" and isinstance(kind, UTCDateTime):
            process = sqlite_moment  # the same text, without two Python-level steps
        if process is None or (dialect.name == "sqlite" and isinstance(kind, sa.Boolean)):
            continue
        found.append((index, process))
    json = frozenset(i for i, _ in found if isinstance(table.c[columns[i]].type, sa.JSON))
    return tuple(found), json
