"""The dialects: everything that differs between SQLite and PostgreSQL, as data on one
class each, side by side. www.orm and the engines ask them for placeholders, column types,
case folding, how an INSERT reports its id, the DDL of a model's table, and how to translate
the driver's errors.

PostgreSQL is made to answer as SQLite does: text compares and sorts byte by byte
(``COLLATE "C"``, SQLite's BINARY), and ``nocase`` and ``__contains`` fold ASCII letters
only (SQLite's NOCASE and LIKE), so a model behaves the same on either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar

import asyncpg

from .base import DatabaseError, IntegrityError

DATA_VERSION = "data_version"  # PostgreSQL's counter table (see PostgresDatabase.data_version)


class SQLiteDialect:
    """Everything the ORM and the Database need to know that is specific to SQLite."""

    name = "sqlite"
    driver_error = sqlite3.Error  # what translate_error() is given
    no_limit = -1  # SQLite only accepts OFFSET after a LIMIT; -1 means "no limit"
    like = "LIKE"  # already case-insensitive for ASCII in SQLite (PostgreSQL: ILIKE)
    nocase = None  # COLLATE NOCASE on the column already folds comparisons and order
    returning = ""  # an INSERT's new id comes from the cursor's lastrowid
    setup_sql = ()  # create_all needs nothing but the tables
    types: ClassVar[dict[str, str]] = dict(
        integer="INTEGER", float="REAL", text="TEXT", boolean="INTEGER", datetime="TEXT"
    )

    def placeholder(self, position: int) -> str:
        """The marker of the ``position``-th parameter, from 1 (PostgreSQL would say $1)."""
        return "?"

    def placeholders(self, first: int, count: int) -> str:
        return ", ".join("?" * count)

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def translate_error(self, exc: Exception) -> DatabaseError:
        """IntegrityError("UNIQUE constraint failed: users.email"), or DatabaseError."""
        error = IntegrityError if isinstance(exc, sqlite3.IntegrityError) else DatabaseError
        return error(str(exc))

    def create_table_sql(self, table: str, fields: Iterable[Any]) -> list[str]:
        """CREATE TABLE and CREATE INDEX statements, IF NOT EXISTS, for orm.Field objects
        (duck-typed: db.py imports no ORM)."""
        columns, indexes, q = [], [], self.quote
        for f in fields:
            column = f"{q(f.name)} {self.types[f.kind]}"
            if f.primary_key:  # AUTOINCREMENT: ids of deleted rows are never reused
                column += " PRIMARY KEY AUTOINCREMENT"
            column += "" if f.null or f.primary_key else " NOT NULL"
            column += " UNIQUE" if f.unique and not f.primary_key else ""
            column += " COLLATE NOCASE" if f.nocase else ""  # ASCII case folding
            if f.references:
                column += f" REFERENCES {q(f.references[0])} ({q(f.references[1])})"
                column += f" ON DELETE {f.on_delete}"
            columns.append(column)
            if f.index and not (f.unique or f.primary_key):
                index = q(f"ix_{table}_{f.name}")
                indexes.append(f"CREATE INDEX IF NOT EXISTS {index} ON {q(table)} ({q(f.name)})")
        columns_sql = ",\n  ".join(columns)
        return [f"CREATE TABLE IF NOT EXISTS {q(table)} (\n  {columns_sql}\n)", *indexes]

    def drop_table_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.quote(table)}"


# The counter behind data_version(): one row, bumped at most once per transaction that
# changes a model table, by a trigger that create_table_sql puts on each of them. It only
# ever grows: drop_all leaves it, since a counter started again could come back to a
# number that another process's cache still holds for rows that are gone.
_SETUP_SQL = (
    f"CREATE TABLE IF NOT EXISTS {DATA_VERSION} ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
    f"INSERT INTO {DATA_VERSION} VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    # Deferred triggers run at COMMIT, so the counter's row lock is held for a moment at
    # the end of a transaction, not from its first write on: writers do not queue behind
    # one another, and cannot deadlock over the counter while they hold row locks. The
    # flag (local to the transaction, and to the schema of the table) skips all but the
    # first bump.
    f"""CREATE OR REPLACE FUNCTION bump_{DATA_VERSION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('www.{DATA_VERSION}_bumped', true) IS DISTINCT FROM TG_TABLE_SCHEMA
      THEN
        EXECUTE format('UPDATE %I.{DATA_VERSION} SET version = version + 1', TG_TABLE_SCHEMA);
        PERFORM set_config('www.{DATA_VERSION}_bumped', TG_TABLE_SCHEMA, true);
      END IF;
      RETURN NULL;
    END $$""",
    f"UPDATE {DATA_VERSION} SET version = version + 1",  # new tables are a change too
)


class PostgresDialect:
    """Everything the ORM and the Database need to know that is specific to PostgreSQL."""

    name = "postgresql"
    driver_error = (asyncpg.PostgresError, asyncpg.InterfaceError)
    no_limit = None  # LIMIT NULL: no limit
    like = "ILIKE"  # under COLLATE "C" it folds ASCII letters only, as SQLite's LIKE
    # Both sides of a comparison with a nocase column, and its ORDER BY: "C" folds ASCII
    # letters only, and a parameter would otherwise take the database's own collation.
    nocase = 'lower({} COLLATE "C")'
    returning = " RETURNING {}"  # how the ORM's INSERT of one row gets its new id
    setup_sql = _SETUP_SQL
    types: ClassVar[dict[str, str]] = dict(
        integer="BIGINT",
        float="DOUBLE PRECISION",
        text='TEXT COLLATE "C"',  # byte order and ASCII-only case folding, as in SQLite
        boolean="BOOLEAN",
        datetime="TIMESTAMPTZ",
    )

    def placeholder(self, position: int) -> str:
        return f"${position}"

    def placeholders(self, first: int, count: int) -> str:
        return ", ".join(f"${i}" for i in range(first, first + count))

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def translate_error(self, exc: Exception) -> DatabaseError:
        """IntegrityError for SQLSTATE class 23 (unique, foreign key, not null, check),
        else DatabaseError. The message is PostgreSQL's first line, which names the
        constraint; its DETAIL, which may quote the row's values, is left out."""
        integrity = isinstance(exc, asyncpg.IntegrityConstraintViolationError)
        message = getattr(exc, "message", None) or str(exc)  # InterfaceError: no DETAIL
        return (IntegrityError if integrity else DatabaseError)(message)

    def create_table_sql(self, table: str, fields: Iterable[Any]) -> list[str]:
        """CREATE TABLE and CREATE INDEX statements, IF NOT EXISTS, for orm.Field objects,
        and the trigger that bumps the data version. A ``nocase`` unique or indexed column
        is indexed on its folded value (``nocase``): what the ORM's comparisons use."""
        columns, indexes, q = [], [], self.quote
        for f in fields:
            column = f"{q(f.name)} {self.types[f.kind]}"
            if f.primary_key:  # BY DEFAULT: an explicit id is accepted (the sequence stays)
                column = f"{q(f.name)} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
            column += "" if f.null or f.primary_key else " NOT NULL"
            column += " UNIQUE" if f.unique and not (f.primary_key or f.nocase) else ""
            if f.references:
                column += f" REFERENCES {q(f.references[0])} ({q(f.references[1])})"
                column += f" ON DELETE {f.on_delete}"
            columns.append(column)
            key = self.nocase.format(q(f.name)) if f.nocase else q(f.name)
            if f.unique and f.nocase:  # named as PostgreSQL names a UNIQUE constraint
                index = q(f"{table}_{f.name}_key")
                indexes.append(f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {q(table)} ({key})")
            elif f.index and not (f.unique or f.primary_key):
                index = q(f"ix_{table}_{f.name}")
                indexes.append(f"CREATE INDEX IF NOT EXISTS {index} ON {q(table)} ({key})")
        columns_sql = ",\n  ".join(columns)
        bump, trigger = f"bump_{DATA_VERSION}()", q(DATA_VERSION)
        triggers = [  # no CREATE OR REPLACE for constraint triggers: drop, then create
            f"DROP TRIGGER IF EXISTS {trigger} ON {q(table)}",
            f"CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE"
            f" ON {q(table)} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {bump}",
            f"DROP TRIGGER IF EXISTS {q(DATA_VERSION + '_truncate')} ON {q(table)}",
            f"CREATE TRIGGER {q(DATA_VERSION + '_truncate')} AFTER TRUNCATE ON {q(table)}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {bump}",
        ]
        table_sql = f"CREATE TABLE IF NOT EXISTS {q(table)} (\n  {columns_sql}\n)"
        return [table_sql, *indexes, *triggers]

    def drop_table_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.quote(table)}"
