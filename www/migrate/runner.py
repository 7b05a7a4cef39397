"""Applying migrations: which exist (files in migrations/), which a database has had (its
schema_migrations table), and moving it up or down, one transaction per migration.

Both engines change tables inside a transaction, so a migration that fails half-way
leaves the database as it was before it, and the application refuses to start, naming it.
Two processes migrating at once (two deploying servers) take turns: on SQLite through the
writer lock (BEGIN IMMEDIATE), on PostgreSQL through an advisory lock; the second then
finds the migration applied and goes on to the next one, or has nothing to do.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..db import BaseDatabase, DatabaseError
from ..db.schema import differences, table_of
from ..orm import DateTimeField, Model, TextField, utcnow
from ..settings import PROJECT_ROOT
from .inspect import SchemaError, inspect
from .operations import (
    AddColumn,
    AlterColumn,
    DropColumn,
    MigrationError,
    Operation,
    RunPython,
    Tables,
    build,
)
from .sql import Check, statements

log = logging.getLogger(__name__)

DIRECTORY = PROJECT_ROOT / "migrations"
FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.py")
LOCK_ID = 0x77777700  # PostgreSQL advisory lock of migrations (any constant, shared by all)
LOCK_WAIT = "300s"  # how long a migration waits for the lock or a table another holds


class SchemaMigration(Model):
    """A migration the database has had. Not in MODELS: the migrations do not make it."""

    __table__ = "schema_migrations"
    name = TextField(unique=True)
    applied_at = DateTimeField(default=utcnow)


RECORD = table_of(SchemaMigration)


@dataclass(frozen=True)
class Migration:
    name: str  # "0002_add_color": the file's name without .py
    operations: list[Operation]
    path: Path


def load(directory: Path = DIRECTORY) -> list[Migration]:
    """The migrations in `directory`, in order. A file that is not a valid migration
    raises MigrationError naming it: a migration is never skipped."""
    migrations, numbers = [], set()
    for path in sorted(directory.glob("*.py")):
        if path.name == "__init__.py":
            continue
        match = FILE_NAME.fullmatch(path.name)
        if not match:
            raise MigrationError(f"{path}: a migration's file name is NNNN_name.py")
        if match[1] in numbers:
            raise MigrationError(f"{path}: two migrations are numbered {match[1]}")
        numbers.add(match[1])
        spec = importlib.util.spec_from_file_location(f"migrations.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise MigrationError(f"{path}: {type(exc).__name__}: {exc}") from exc
        operations = getattr(module, "operations", None)
        if not isinstance(operations, list) or not all(
            isinstance(op, Operation) for op in operations
        ):
            raise MigrationError(f"{path}: `operations` must be a list of operations")
        migrations.append(Migration(path.stem, operations, path))
    return migrations


def state(migrations: list[Migration]) -> Tables:
    """The schema the migrations build, applied in order."""
    tables: Tables = {}
    for migration in migrations:
        try:
            tables = build(migration.operations, tables)
        except (MigrationError, KeyError) as exc:
            raise MigrationError(f"{migration.path}: {exc}") from exc
    return tables


async def applied(db: Any) -> dict[str, Any]:
    """The migrations the database has had, by name, with when ({} before the first)."""
    try:
        rows = await SchemaMigration.select(db).order_by("id").all()
    except DatabaseError:
        if RECORD.name in await _table_names(db):
            raise
        return {}
    return {row.name: row.applied_at for row in rows}


async def pending(db: BaseDatabase, migrations: list[Migration]) -> list[Migration]:
    """The migrations not applied yet; MigrationError if the database has had one that is
    not among them (it was made by newer code, or a file was renamed)."""
    done = await applied(db)
    unknown = done.keys() - {m.name for m in migrations}
    if unknown:
        raise MigrationError(
            f"the database has migration {min(unknown)}, which is not in migrations/"
            " (is this code older than the database?)"
        )
    return [m for m in migrations if m.name not in done]


async def up(db: BaseDatabase, migrations: list[Migration], target: str | None = None) -> list[str]:
    """Apply the pending migrations in order (up to `target`, included); their names. A
    database made before migrations is first adopted (see `adopt`)."""
    done = []
    if migrations and await adopt(db, migrations[0]):
        done.append(migrations[0].name)
    for i, migration in enumerate(migrations):
        async with db.schema_transaction() as tx:
            await _lock(tx)
            done_before = await applied(tx)
            unknown = done_before.keys() - {m.name for m in migrations}
            if unknown:
                raise MigrationError(
                    f"the database has migration {min(unknown)}, which is not in migrations/"
                )
            if migration.name in done_before:
                continue  # another process applied it meanwhile (or before)
            await _run(tx, migration.operations, state(migrations[:i]))
            await SchemaMigration.create(tx, name=migration.name)
        log.info("Applied migration %s", migration.name)
        done.append(migration.name)
        if migration.name == target:
            break
    return done


async def adopt(db: BaseDatabase, first: Migration) -> bool:
    """Record `first` as applied to a database whose tables were made before migrations
    (by init_db.py's create_all), if they are exactly what `first` makes; True if so.
    MigrationError says what differs otherwise: nothing is guessed."""
    async with db.schema_transaction() as tx:
        await _lock(tx)
        if await applied(tx):
            return False
        expected = state([first])
        try:
            found = await inspect(tx, expected)
        except SchemaError as exc:
            raise MigrationError(f"this database was made before migrations: {exc}") from exc
        if not found:
            return False  # a new database: migrations make it
        if found != expected:
            lines = differences(found, expected, ("the database", first.name))
            raise MigrationError(
                f"this database was made before migrations and differs from {first.name}: "
                + "; ".join(lines)
            )
        await SchemaMigration.create(tx, name=first.name)
    log.info("Adopted a database made before migrations: %s recorded as applied", first.name)
    return True


async def down(db: BaseDatabase, migrations: list[Migration]) -> str | None:
    """Revert the last applied migration; its name (None when none was applied)."""
    async with db.schema_transaction() as tx:
        await _lock(tx)
        names = list(await applied(tx))
        if not names:
            return None
        by_name = {m.name: i for i, m in enumerate(migrations)}
        if names[-1] not in by_name:
            raise MigrationError(f"migration {names[-1]} is not in migrations/")
        i = by_name[names[-1]]
        migration = migrations[i]
        reverses = [op.reverse() for op in reversed(migration.operations)]
        if None in reverses:
            op = list(reversed(migration.operations))[reverses.index(None)]
            raise MigrationError(f"{migration.name} cannot be reverted: {op!r} has no reverse")
        await _run(tx, reverses, state(migrations[: i + 1]))
        await SchemaMigration.select(tx).where(name=migration.name).delete()
    log.info("Reverted migration %s", migration.name)
    return migration.name


async def _lock(tx: Any) -> None:
    """Wait for any other process migrating, then make sure the record table exists."""
    dialect = tx.dialect
    if dialect.name == "postgresql":
        await tx.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        await tx.fetchall("SELECT pg_advisory_xact_lock($1)", (LOCK_ID,))
        # The data-version triggers are deferred to COMMIT; PostgreSQL refuses to ALTER a
        # table with trigger events pending (after a fill's UPDATE): fire them as they come.
        await tx.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for sql in dialect.setup_sql:  # the counters the tables' triggers bump (db/versions.py)
        await tx.execute(sql)
    for sql in dialect.create_table_sql(RECORD, if_not_exists=True):
        await tx.execute(sql)


async def _run(tx: Any, operations: list[Operation], tables: Tables) -> None:
    """Execute the operations from the schema `tables`; on SQLite, check foreign keys."""
    tables = dict(tables)
    for operation in operations:
        if isinstance(operation, RunPython):
            await operation.forward(tx)
        triggers = await _triggers_of(tx, operation)
        for statement in statements(tx.dialect, operation, tables):
            if isinstance(statement, Check):
                (count,) = await tx.fetchone(statement.sql)
                if count:
                    raise MigrationError(f"{statement.message} ({count} rows)")
            else:
                await tx.execute(statement)
        await _restore(tx, triggers)
        operation.apply(tables)
    if tx.dialect.name == "sqlite":
        broken = await tx.fetchall("PRAGMA foreign_key_check")
        if broken:
            table, rowid, parent, _ = broken[0]
            raise MigrationError(
                f"{len(broken)} rows point to missing rows, e.g. {table} row {rowid} to {parent}"
            )


# The operations that SQLite may carry out by rebuilding the table (www/migrate/sql.py),
# which drops the table's triggers with it: full-text search's (www/db/fulltext.py), a
# RunSQL's. They are read before and made again after, as they were.
_REBUILDS = (AddColumn, AlterColumn, DropColumn)


async def _triggers_of(tx: Any, operation: Operation) -> dict[str, str]:
    """On SQLite, the triggers (name -> SQL) of the table a rebuild may drop."""
    if tx.dialect.name != "sqlite" or not isinstance(operation, _REBUILDS):
        return {}
    sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
    return dict(await tx.fetchall(sql, (operation.table,)))


async def _restore(tx: Any, triggers: dict[str, str]) -> None:
    """Make again those of `triggers` that are gone (a trigger that names a column the
    operation dropped fails here, with the migration: drop it first)."""
    if triggers:
        found = await tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        for name in triggers.keys() - {name for (name,) in found}:
            await tx.execute(triggers[name])


async def _table_names(db: Any) -> set[str]:
    if db.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return {name for (name,) in await db.fetchall(sql)}
