"""Each operation's SQL, per dialect: what www/migrate/runner.py executes.

PostgreSQL alters tables in place. SQLite's ALTER TABLE can only add and rename columns,
so everything else (dropping a column, changing a type, nullability, uniqueness, a foreign
key) rebuilds the table, as SQLite's documentation prescribes: create the new table, copy
the rows, drop the old one, rename the new one, recreate the indexes. The runner turns
foreign keys off around it, or dropping the old table would cascade to the rows that point
to it, and checks them before committing.

A statement is SQL text, or a `Check`: a query counting rows that must not exist (values a
type change could not convert), which fails the migration with its message.
"""

# ruff: noqa: S608 (identifiers go through dialect.quote(), values through literal())
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..db.schema import Column, Table
from .operations import (
    AddColumn,
    AlterColumn,
    CountChanges,
    CountChangesBy,
    CreateIndex,
    CreateSearchIndex,
    CreateTable,
    DropColumn,
    DropIndex,
    DropSearchIndex,
    DropTable,
    MigrationError,
    Operation,
    RenameColumn,
    RunPython,
    RunSQL,
    StopCountingChanges,
    StopCountingChangesBy,
    Tables,
)


@dataclass(frozen=True)
class Check:
    sql: str  # SELECT COUNT(*) ... of the rows that are wrong
    message: str


Statement = str | Check

# What SQLite's typeof() says of a value stored in a column of each kind.
SQLITE_TYPEOF = dict(
    integer="integer", float="real", text="text", boolean="integer", datetime="text"
)


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def literal(dialect: Any, column: Column, value: Any) -> str:
    """`value` as an SQL constant for `column`: DDL takes no parameters."""
    if value is None:
        return "NULL"
    if isinstance(value, bool) and column.type == "boolean":
        return ("TRUE" if value else "FALSE") if dialect.name == "postgresql" else str(int(value))
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and column.type in ("integer", "float")
    ):
        return str(value)
    if isinstance(value, float) and column.type == "float" and math.isfinite(value):
        return repr(value)
    if isinstance(value, str) and column.type in ("text", "datetime") and "\0" not in value:
        quoted = _string(value)
        return (
            f"{quoted}::timestamptz"
            if column.type == "datetime" and dialect.name == "postgresql"
            else quoted
        )
    raise MigrationError(f"{column.name}: {value!r} is not a {column.type} value to fill rows with")


def statements(dialect: Any, operation: Operation, tables: Tables) -> list[Statement]:
    """The SQL of `operation` on `dialect`, given the schema `tables` before it."""
    if isinstance(operation, RunSQL):
        return list(operation.sqlite if dialect.name == "sqlite" else operation.postgresql)
    if isinstance(operation, RunPython):
        return []  # no SQL of its own: the runner awaits it
    if isinstance(operation, CreateSearchIndex):
        return dialect.search_index_sql(operation.table, operation.columns)
    if isinstance(operation, DropSearchIndex):
        return dialect.drop_search_index_sql(operation.table)
    if isinstance(operation, CountChanges):
        return [sql for name in tables for sql in dialect.version_trigger_sql(name)]
    if isinstance(operation, StopCountingChanges):
        return [sql for name in tables for sql in dialect.drop_version_trigger_sql(name)]
    if isinstance(operation, CountChangesBy):
        return dialect.scoped_trigger_sql(operation.table, operation.column)
    if isinstance(operation, StopCountingChangesBy):
        return dialect.drop_scoped_trigger_sql(operation.table, operation.column)
    q = dialect.quote
    if isinstance(operation, CreateTable):
        return dialect.create_table_sql(operation.table)
    if isinstance(operation, DropTable):
        return [f"DROP TABLE {q(operation.table.name)}"]
    if isinstance(operation, CreateIndex):
        return [dialect.index_sql(tables[operation.table], operation.index)]
    if isinstance(operation, DropIndex):
        return [f"DROP INDEX {q(operation.index.name)}"]
    after = dict(tables)
    operation.apply(after)
    before_table, after_table = tables[operation.table], after[operation.table]
    if dialect.name == "sqlite":
        return _sqlite(dialect, operation, before_table, after_table)
    return _postgres(dialect, operation, before_table, after_table)


def _sqlite(dialect: Any, op: Operation, before: Table, after: Table) -> list[Statement]:
    q, q_table = dialect.quote, dialect.quote(before.name)
    if isinstance(op, RenameColumn):
        return [f"ALTER TABLE {q_table} RENAME COLUMN {q(op.old)} TO {q(op.new)}"]
    if isinstance(op, AddColumn) and op.column.null and not op.column.unique:
        add = [f"ALTER TABLE {q_table} ADD COLUMN {dialect.column_sql(op.column)}"]
        if op.fill is not None:
            add.append(
                f"UPDATE {q_table} SET {q(op.column.name)} = {literal(dialect, op.column, op.fill)}"
            )
        return add
    sources = {c.name: q(c.name) for c in before.columns}
    changed: list[Column] = []
    if isinstance(op, AddColumn):
        if op.fill is None and not op.column.null:
            raise MigrationError(f"{op.table}.{op.column.name}: a NOT NULL column needs a fill")
        sources[op.column.name] = literal(dialect, op.column, op.fill)
    elif isinstance(op, AlterColumn):
        name = q(op.new.name)
        if op.fill is not None:
            sources[op.new.name] = f"COALESCE({name}, {literal(dialect, op.new, op.fill)})"
        if op.old.type != op.new.type:
            changed.append(op.new)
    return rebuild(dialect, before, after, sources, changed)


def rebuild(
    dialect: Any, before: Table, after: Table, sources: dict[str, str], changed: list[Column]
) -> list[Statement]:
    """SQLite: `after` made anew from `before`'s rows (each column's value from `sources`),
    keeping the AUTOINCREMENT counter, with a Check for each column whose type changed."""
    q, name, new = dialect.quote, before.name, f"_migrate_{before.name}"
    # The CREATE TABLE alone: the old table's triggers (change counters, search) are made
    # again on the renamed table by the runner, as they were.
    create = dialect.create_table_sql(after.replace(name=new, indexes=()))[:1]
    columns = ", ".join(q(c.name) for c in after.columns)
    values = ", ".join(sources[c.name] for c in after.columns)
    checks = [
        Check(
            f"SELECT COUNT(*) FROM {q(new)} WHERE typeof({q(c.name)}) NOT IN"
            f" ('{SQLITE_TYPEOF[c.type]}', 'null')",
            f"{name}.{c.name}: some values cannot be converted to {c.type}",
        )
        for c in changed
    ]
    return [
        *create,
        f"INSERT INTO {q(new)} ({columns}) SELECT {values} FROM {q(name)}",
        *checks,
        # AUTOINCREMENT: the counter goes along, so ids of deleted rows stay unused.
        f"DELETE FROM sqlite_sequence WHERE name = {_string(new)}",
        f"INSERT INTO sqlite_sequence (name, seq) SELECT {_string(new)}, seq FROM sqlite_sequence"
        f" WHERE name = {_string(name)}",
        f"DROP TABLE {q(name)}",
        f"ALTER TABLE {q(new)} RENAME TO {q(name)}",
        *(dialect.index_sql(after, index) for index in after.indexes),
    ]


def _postgres(dialect: Any, op: Operation, before: Table, after: Table) -> list[Statement]:
    q, t = dialect.quote, dialect.quote(before.name)
    if isinstance(op, RenameColumn):
        column = before.column(op.old)
        sql = [f"ALTER TABLE {t} RENAME COLUMN {q(op.old)} TO {q(op.new)}"]
        # Constraints are named after the column (PostgreSQL's own names): keep it so.
        if column.unique:
            old, new = f"{before.name}_{op.old}_key", f"{before.name}_{op.new}_key"
            sql.append(f"ALTER INDEX {q(old)} RENAME TO {q(new)}")
        if column.references:
            old, new = f"{before.name}_{op.old}_fkey", f"{before.name}_{op.new}_fkey"
            sql.append(f"ALTER TABLE {t} RENAME CONSTRAINT {q(old)} TO {q(new)}")
        return sql
    if isinstance(op, DropColumn):
        return [f"ALTER TABLE {t} DROP COLUMN {q(op.column.name)}"]
    if isinstance(op, AddColumn):
        column, sql = op.column, []
        if op.fill is None:
            if not column.null:
                raise MigrationError(f"{op.table}.{column.name}: a NOT NULL column needs a fill")
            sql.append(f"ALTER TABLE {t} ADD COLUMN {dialect.column_sql(column)}")
        else:  # the default fills the rows, then goes: the ORM gives new rows their values
            fill = literal(dialect, column, op.fill)
            sql.append(f"ALTER TABLE {t} ADD COLUMN {dialect.column_sql(column)} DEFAULT {fill}")
            sql.append(f"ALTER TABLE {t} ALTER COLUMN {q(column.name)} DROP DEFAULT")
        if column.unique and column.nocase:
            sql.append(dialect.unique_sql(after, column))
        return sql
    assert isinstance(op, AlterColumn)
    return _postgres_alter(dialect, op, before, after)


def _postgres_alter(dialect: Any, op: AlterColumn, before: Table, after: Table) -> list[Statement]:
    q, t, old, new = dialect.quote, dialect.quote(before.name), op.old, op.new
    c, sql = q(new.name), []
    key, fkey = q(f"{before.name}_{new.name}_key"), q(f"{before.name}_{new.name}_fkey")
    refolded = old.nocase != new.nocase
    if old.unique and (not new.unique or refolded):
        sql.append(f"DROP INDEX {key}" if old.nocase else f"ALTER TABLE {t} DROP CONSTRAINT {key}")
    if (old.references, old.on_delete) != (new.references, new.on_delete) and old.references:
        sql.append(f"ALTER TABLE {t} DROP CONSTRAINT {fkey}")
    indexes = [i for i in before.indexes if new.name in i.columns] if refolded else []
    sql += [f"DROP INDEX {q(i.name)}" for i in indexes]
    if old.type != new.type:
        using = f"({c} <> 0)" if new.type == "boolean" and old.type == "integer" else f"{c}"
        if old.type == "boolean" and new.type in ("integer", "float"):
            using = f"{c}::int"
        sql.append(
            f"ALTER TABLE {t} ALTER COLUMN {c} TYPE {dialect.types[new.type]}"
            f" USING {using}::{dialect.types[new.type].split(' COLLATE')[0]}"
        )
    if op.fill is not None:
        sql.append(f"UPDATE {t} SET {c} = {literal(dialect, new, op.fill)} WHERE {c} IS NULL")
    if old.null != new.null:
        sql.append(f"ALTER TABLE {t} ALTER COLUMN {c} {'DROP' if new.null else 'SET'} NOT NULL")
    if new.unique and (not old.unique or refolded):
        if new.nocase:
            sql.append(dialect.unique_sql(after, new))
        else:
            sql.append(f"ALTER TABLE {t} ADD CONSTRAINT {key} UNIQUE ({c})")
    if (old.references, old.on_delete) != (new.references, new.on_delete) and new.references:
        sql.append(
            f"ALTER TABLE {t} ADD CONSTRAINT {fkey} FOREIGN KEY ({c})"
            f" REFERENCES {q(new.references)} ({q('id')}) ON DELETE {new.on_delete}"
        )
    sql += [dialect.index_sql(after, i) for i in indexes]
    return sql
