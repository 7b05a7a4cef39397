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
from typing import ClassVar

import asyncpg

from .base import DatabaseError, IntegrityError
from .fulltext import PostgresSearch, SQLiteSearch
from .schema import Column, Index, Table
from .versions import POSTGRES_SETUP_SQL, PostgresVersions, SQLiteVersions

DATA_VERSION = "data_version"  # PostgreSQL's counter table (see PostgresDatabase.data_version)


class SQLiteDialect(SQLiteSearch, SQLiteVersions):
    """Everything the ORM and the Database need to know that is specific to SQLite
    (full-text search: www/db/fulltext.py; the tables' change counters and their
    ``setup_sql``: www/db/versions.py)."""

    name = "sqlite"
    driver_error = sqlite3.Error  # what translate_error() is given
    no_limit = -1  # SQLite only accepts OFFSET after a LIMIT; -1 means "no limit"
    like = "LIKE"  # already case-insensitive for ASCII in SQLite (PostgreSQL: ILIKE)
    nocase = None  # COLLATE NOCASE on the column already folds comparisons and order
    returning = ""  # an INSERT's new id comes from the cursor's lastrowid
    binds_datetimes = False  # a datetime parameter must be the ORM's text (see PostgreSQL's)
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

    def column_sql(self, c: Column) -> str:
        """A column's definition, in CREATE TABLE or ADD COLUMN."""
        q = self.quote
        sql = f"{q(c.name)} {self.types[c.type]}"
        if c.primary_key:  # AUTOINCREMENT: ids of deleted rows are never reused
            sql += " PRIMARY KEY AUTOINCREMENT"
        sql += "" if c.null or c.primary_key else " NOT NULL"
        sql += " UNIQUE" if c.unique else ""
        sql += " COLLATE NOCASE" if c.nocase else ""  # ASCII case folding
        if c.references:
            sql += f" REFERENCES {q(c.references)} ({q('id')}) ON DELETE {c.on_delete}"
        return sql

    def create_table_sql(self, table: Table, *, if_not_exists: bool = False) -> list[str]:
        """CREATE TABLE, its CREATE INDEX statements, and the triggers that count its
        changes (www/db/versions.py)."""
        exists = " IF NOT EXISTS" if if_not_exists else ""
        columns_sql = ",\n  ".join(map(self.column_sql, table.columns))
        create = f"CREATE TABLE{exists} {self.quote(table.name)} (\n  {columns_sql}\n)"
        indexes = [self.index_sql(table, i, if_not_exists=if_not_exists) for i in table.indexes]
        return [create, *indexes, *self.version_trigger_sql(table.name)]

    def index_sql(self, table: Table, index: Index, *, if_not_exists: bool = False) -> str:
        unique, exists = (
            " UNIQUE" if index.unique else "",
            " IF NOT EXISTS" if if_not_exists else "",
        )
        keys, q = ", ".join(map(self.quote, index.columns)), self.quote
        return f"CREATE{unique} INDEX{exists} {q(index.name)} ON {q(table.name)} ({keys})"

    def drop_table_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.quote(table)}"


# The counter behind data_version(): one row, bumped at most once per transaction that
# changes a model table, by a trigger that create_table_sql puts on each of them; the same
# trigger counts each table's changes in table_versions (www/db/versions.py). It only
# ever grows: drop_all leaves it, since a counter started again could come back to a
# number that another process's cache still holds for rows that are gone.
_SETUP_SQL = (
    f"CREATE TABLE IF NOT EXISTS {DATA_VERSION} ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
    f"INSERT INTO {DATA_VERSION} VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    # Deferred triggers run at COMMIT, so the counters' row locks are held for a moment
    # at the end of a transaction, not from its first write on: writers do not queue
    # behind one another, and cannot deadlock over the counters while they hold row locks.
    *POSTGRES_SETUP_SQL,
    f"UPDATE {DATA_VERSION} SET version = version + 1",  # new tables are a change too
)


class PostgresDialect(PostgresSearch, PostgresVersions):
    """Everything the ORM and the Database need to know that is specific to PostgreSQL
    (full-text search: www/db/fulltext.py)."""

    name = "postgresql"
    driver_error = (asyncpg.PostgresError, asyncpg.InterfaceError)
    no_limit = None  # LIMIT NULL: no limit
    like = "ILIKE"  # under COLLATE "C" it folds ASCII letters only, as SQLite's LIKE
    # Both sides of a comparison with a nocase column, and its ORDER BY: "C" folds ASCII
    # letters only, and a parameter would otherwise take the database's own collation.
    nocase = 'lower({} COLLATE "C")'
    returning = " RETURNING {}"  # how the ORM's INSERT of one row gets its new id
    # The driver's timestamptz codec (www/db/postgres.py) sends an aware datetime as it
    # sends the ORM's text for it: insert_many passes them as they are, saving a
    # format-and-parse round trip per value. It reads them back as aware UTC datetimes.
    binds_datetimes = True
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

    def column_sql(self, c: Column) -> str:
        """A column's definition, in CREATE TABLE or ADD COLUMN. A ``nocase`` unique column
        is made unique by an index on its folded value instead (see unique_sql)."""
        q = self.quote
        if c.primary_key:  # BY DEFAULT: an explicit id is accepted (the sequence stays)
            return f"{q(c.name)} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        sql = f"{q(c.name)} {self.types[c.type]}"
        sql += "" if c.null else " NOT NULL"
        sql += " UNIQUE" if c.unique and not c.nocase else ""
        if c.references:
            sql += f" REFERENCES {q(c.references)} ({q('id')}) ON DELETE {c.on_delete}"
        return sql

    def key_sql(self, table: Table, name: str) -> str:
        """A column as an index key: folded if the column is ``nocase``, as compared."""
        column = self.quote(name)
        return self.nocase.format(column) if table.column(name).nocase else column

    def unique_sql(self, table: Table, c: Column, *, if_not_exists: bool = False) -> str:
        """The unique index of a ``nocase`` unique column, named as PostgreSQL names a
        UNIQUE constraint (<table>_<column>_key)."""
        exists, q = " IF NOT EXISTS" if if_not_exists else "", self.quote
        name, key = q(f"{table.name}_{c.name}_key"), self.key_sql(table, c.name)
        return f"CREATE UNIQUE INDEX{exists} {name} ON {q(table.name)} ({key})"

    def create_table_sql(self, table: Table, *, if_not_exists: bool = False) -> list[str]:
        """CREATE TABLE, its indexes, and the trigger that bumps the data version."""
        q, exists = self.quote, " IF NOT EXISTS" if if_not_exists else ""
        columns_sql = ",\n  ".join(map(self.column_sql, table.columns))
        statements = [f"CREATE TABLE{exists} {q(table.name)} (\n  {columns_sql}\n)"]
        statements += [
            self.unique_sql(table, c, if_not_exists=if_not_exists)
            for c in table.columns
            if c.unique and c.nocase
        ]
        statements += [self.index_sql(table, i, if_not_exists=if_not_exists) for i in table.indexes]
        return [*statements, *self.version_trigger_sql(table.name)]

    def index_sql(self, table: Table, index: Index, *, if_not_exists: bool = False) -> str:
        unique, exists = (
            " UNIQUE" if index.unique else "",
            " IF NOT EXISTS" if if_not_exists else "",
        )
        keys, q = ", ".join(self.key_sql(table, name) for name in index.columns), self.quote
        return f"CREATE{unique} INDEX{exists} {q(index.name)} ON {q(table.name)} ({keys})"

    def version_trigger_sql(self, table: str) -> list[str]:
        """The triggers that bump the data version, and the table's own counter
        (www/db/versions.py), on every change to ``table``."""
        q, bump, trigger = self.quote, f"bump_{DATA_VERSION}()", self.quote(DATA_VERSION)
        return [  # no CREATE OR REPLACE for constraint triggers: drop, then create
            f"DROP TRIGGER IF EXISTS {trigger} ON {q(table)}",
            f"CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE"
            f" ON {q(table)} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {bump}",
            f"DROP TRIGGER IF EXISTS {q(DATA_VERSION + '_truncate')} ON {q(table)}",
            f"CREATE TRIGGER {q(DATA_VERSION + '_truncate')} AFTER TRUNCATE ON {q(table)}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {bump}",
        ]

    def drop_version_trigger_sql(self, table: str) -> list[str]:
        """Nothing: the trigger counts the data version too, as it did before."""
        return []

    def drop_table_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.quote(table)}"
