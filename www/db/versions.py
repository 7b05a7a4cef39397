"""Per-table change counters, kept by the database itself: `table_versions(name, version)`.

A cache that is never stale must know when what it holds may have changed. One number for
the whole database (SQLite's `PRAGMA data_version`) is simple, but then a comment empties
the cached home page. So every model table carries triggers that count its changes in
`table_versions`: a cached entry remembers the versions of the tables it read, and stays
good while those (and only those) are unchanged (www/cache.py, www/responses.py).

The triggers are part of the table (create_table_sql makes them, a SQLite rebuild restores
them), so every writer counts: this process, another worker, `python -m www.admin`, a
migration, raw SQL. A counter only ever grows: drop_all leaves the table, since a counter
started again could come back to a number another process's cache still holds.

- SQLite: row-level triggers (SQLite has no others) that upsert the table's row. They run
  inside the writing transaction, so the new number commits with the data.
- PostgreSQL: the deferred constraint trigger that already bumps `data_version` bumps the
  table's row too, once per table per transaction, at COMMIT (so the counter's row lock
  is held for a moment, not from the first write on).

`tables_read(sql)` says which names a statement may read: every identifier in it. Callers
intersect that with the model tables (over-counting can only cost a reload, never serve
stale data).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

VERSIONS = "table_versions"
READ_VERSIONS_SQL = f"SELECT name, version FROM {VERSIONS}"
_EVENTS = ("insert", "update", "delete")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SQLiteVersions:
    """Mixin of SQLiteDialect: the counter table, and the triggers on each table."""

    setup_sql = (
        f"CREATE TABLE IF NOT EXISTS {VERSIONS} ("
        " name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID",
    )

    def version_trigger_sql(self, table: str) -> list[str]:
        """The three triggers that count the changes to `table`, unless it has them: the
        schema is left alone when nothing is missing (a schema change makes every other
        connection prepare its statements again)."""
        q = self.quote  # type: ignore[attr-defined]
        name = "'" + table.replace("'", "''") + "'"
        return [
            f"CREATE TRIGGER IF NOT EXISTS {q(f'{VERSIONS}_{table}_{event}')}"
            f" AFTER {event.upper()} ON {q(table)} BEGIN"
            f" INSERT INTO {VERSIONS} (name, version) VALUES ({name}, 1)"
            f" ON CONFLICT (name) DO UPDATE SET version = version + 1; END"
            for event in _EVENTS
        ]

    def drop_version_trigger_sql(self, table: str) -> list[str]:
        q = self.quote  # type: ignore[attr-defined]
        return [f"DROP TRIGGER IF EXISTS {q(f'{VERSIONS}_{table}_{e}')}" for e in _EVENTS]


# The function the tables' deferred triggers run (www/db/dialects.py's
# version_trigger_sql): the schema's data_version once per transaction, and each changed
# table's row once per transaction. The flags are settings local to the transaction.
# data_version is always bumped first: its one row is a lock that every writing
# transaction takes at COMMIT before any table's row, so two transactions can never hold
# two table rows in opposite orders (no deadlock, whatever tables they change).
POSTGRES_BUMP_FUNCTION = f"""CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      done text := coalesce(current_setting('www.{VERSIONS}_bumped', true), '');
      mark text := '|' || TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || '|';
    BEGIN
      IF current_setting('www.data_version_bumped', true) IS DISTINCT FROM TG_TABLE_SCHEMA
      THEN
        EXECUTE format('UPDATE %I.data_version SET version = version + 1', TG_TABLE_SCHEMA);
        PERFORM set_config('www.data_version_bumped', TG_TABLE_SCHEMA, true);
      END IF;
      IF strpos(done, mark) = 0 THEN
        EXECUTE format(
          'INSERT INTO %I.{VERSIONS} AS v VALUES (%L, 1)'
          ' ON CONFLICT (name) DO UPDATE SET version = v.version + 1',
          TG_TABLE_SCHEMA, TG_TABLE_NAME);
        PERFORM set_config('www.{VERSIONS}_bumped', done || mark, true);
      END IF;
      RETURN NULL;
    END $$"""

POSTGRES_SETUP_SQL = (
    f"CREATE TABLE IF NOT EXISTS {VERSIONS} (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    POSTGRES_BUMP_FUNCTION,
)


@functools.lru_cache(maxsize=4096)
def tables_read(sql: str) -> frozenset[str]:
    """Every identifier in `sql`: a superset of the tables it reads. Cached: the app's
    statements are few and made from the same templates."""
    return frozenset(_IDENTIFIER.findall(sql))


class ReadLog:
    """Which tables the queries of the current task (and the tasks it starts) read, while
    `recording()`: the engines call `note(sql)` for every read, in or out of a
    transaction, and the caches ask what a page's data depended on."""

    def __init__(self) -> None:
        self._names: ContextVar[set[str] | None] = ContextVar(f"reads_{id(self)}", default=None)

    def note(self, sql: str) -> None:
        names = self._names.get()
        if names is not None:
            names |= tables_read(sql)

    def note_names(self, names: Iterable[str]) -> None:
        """Count reads made earlier (a cached result's) as made now."""
        current = self._names.get()
        if current is not None:
            current.update(names)

    @contextmanager
    def recording(self) -> Iterator[set[str]]:
        """Collect the identifiers read inside the block (nested blocks also count them in
        the enclosing one, when they end)."""
        outer, names = self._names.get(), set()
        token = self._names.set(names)
        try:
            yield names
        finally:
            self._names.reset(token)
            if outer is not None:
                outer |= names
