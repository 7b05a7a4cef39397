"""The dialects: what differs between database engines, as data on one class each.
www.orm and the engines ask them for placeholders, column types, case folding, how an
INSERT reports its id, the DDL of a model's table, and how to translate the driver's errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar

from .base import DatabaseError, IntegrityError


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
