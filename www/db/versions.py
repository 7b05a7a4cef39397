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

Which tables a page read, to remember their counters with it, is www/db/reads.py's.

**Scoped counters.** A table can also be counted by one of its columns (a migration's
`CountChangesBy("comments", "post_id")`): its triggers then bump, besides the table's
row, a row per value of that column in `scoped_versions` (`comments.post_id=500`), for
the old and the new row of every change. A read inside `db.read()` (one snapshot) whose
query asks for `post_id = 500` depends on that counter instead of the table's, read in
the same snapshot as the rows: a comment then drops only its own post's cached page.
Which tables are counted so is itself in `table_versions`, read with every check: a row
named `comments.post_id` whose number is positive while the triggers are there (and
bumped by a TRUNCATE, which fires no row trigger); negative once they are dropped, so
that an entry that depended on them is out of date at once in every process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

VERSIONS = "table_versions"
SCOPED = "scoped_versions"
READ_VERSIONS_SQL = f"SELECT name, version FROM {VERSIONS}"
READ_SCOPED_SQL = f"SELECT scope, version FROM {SCOPED} WHERE "
_EVENTS = ("insert", "update", "delete")


def scope_marker(table: str, column: str) -> str:
    """The name, in table_versions, of the row that says `table` is counted by `column`."""
    return f"{table}.{column}"


def scope_prefix(table: str, column: str) -> str:
    """What each of the column's values is appended to, to name its counter."""
    return f"{table}.{column}="


def scoped_tables(versions: Mapping[str, int]) -> dict[str, str]:
    """{table: column} of the tables whose changes are also counted by a column, from a
    reading of table_versions (their markers, while positive)."""
    found = {}
    for name, version in versions.items():
        table, dot, column = name.partition(".")
        if dot and version > 0 and "=" not in name:
            found[table] = column
    return found


def is_scope(name: str) -> bool:
    """Whether a dependency is a scoped counter (read per entry), not a table_versions row."""
    return "=" in name


class SQLiteVersions:
    """Mixin of SQLiteDialect: the counter tables, and the triggers on each table."""

    setup_sql = (
        f"CREATE TABLE IF NOT EXISTS {VERSIONS} ("
        " name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID",
        f"CREATE TABLE IF NOT EXISTS {SCOPED} ("
        " scope TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID",
    )

    def scopes_filter(self, scopes: Sequence[str]) -> tuple[str, tuple]:
        """The WHERE condition that picks these scoped counters, and its parameters."""
        return f"scope IN ({', '.join('?' * len(scopes))})", tuple(scopes)

    def scoped_trigger_sql(self, table: str, column: str) -> list[str]:
        """The triggers that count `table`'s changes by `column` (see the module), and its
        marker made positive: higher than it ever was, so no process's entry matches it."""
        q, prefix = self.quote, _literal(scope_prefix(table, column))  # type: ignore[attr-defined]

        def bump(row: str) -> str:
            return (
                f" INSERT INTO {SCOPED} (scope, version)"
                f" VALUES ({prefix} || coalesce({row}.{q(column)}, ''), 1)"
                f" ON CONFLICT (scope) DO UPDATE SET version = version + 1;"
            )

        rows = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}
        return [
            *(
                f"CREATE TRIGGER IF NOT EXISTS {q(f'{SCOPED}_{table}_{event}')}"
                f" AFTER {event.upper()} ON {q(table)} BEGIN{''.join(map(bump, rows[event]))} END"
                for event in _EVENTS
            ),
            _mark(_literal(scope_marker(table, column)), "abs(version) + 1"),
        ]

    def drop_scoped_trigger_sql(self, table: str, column: str) -> list[str]:
        """The triggers dropped, and the marker made negative (see the module)."""
        q = self.quote  # type: ignore[attr-defined]
        return [
            *(f"DROP TRIGGER IF EXISTS {q(f'{SCOPED}_{table}_{e}')}" for e in _EVENTS),
            _unmark(_literal(scope_marker(table, column))),
        ]

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
# Both functions below begin here: the schema's data_version, once per transaction.
_DATA_VERSION_FIRST = """\
      IF current_setting('www.data_version_bumped', true) IS DISTINCT FROM TG_TABLE_SCHEMA
      THEN
        EXECUTE format('UPDATE %I.data_version SET version = version + 1', TG_TABLE_SCHEMA);
        PERFORM set_config('www.data_version_bumped', TG_TABLE_SCHEMA, true);
      END IF;
"""
POSTGRES_BUMP_FUNCTION = f"""CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      done text := coalesce(current_setting('www.{VERSIONS}_bumped', true), '');
      mark text := '|' || TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME || '|';
    BEGIN
{_DATA_VERSION_FIRST}      IF strpos(done, mark) = 0 THEN
        EXECUTE format(
          'INSERT INTO %I.{VERSIONS} AS v VALUES (%L, 1)'
          ' ON CONFLICT (name) DO UPDATE SET version = v.version + 1',
          TG_TABLE_SCHEMA, TG_TABLE_NAME);
        PERFORM set_config('www.{VERSIONS}_bumped', done || mark, true);
      END IF;
      RETURN NULL;
    END $$"""

# The function of the scoped counters' deferred trigger: TG_ARGV[0] is the column. Like
# bump_data_version, it takes data_version's row first (see above). A row without that
# column (renamed or dropped by a later migration) bumps the marker instead: every entry
# that depended on one of the table's scoped counters is then out of date.
POSTGRES_BUMP_SCOPED_FUNCTION = f"""CREATE OR REPLACE FUNCTION bump_scoped_version()
    RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      marker text := TG_TABLE_NAME || '.' || TG_ARGV[0];
      changed jsonb;
    BEGIN
{_DATA_VERSION_FIRST}      FOREACH changed IN ARRAY CASE TG_OP
          WHEN 'INSERT' THEN ARRAY[to_jsonb(NEW)]
          WHEN 'DELETE' THEN ARRAY[to_jsonb(OLD)]
          ELSE ARRAY[to_jsonb(OLD), to_jsonb(NEW)] END
      LOOP
        IF changed ? TG_ARGV[0] THEN
          EXECUTE format(
            'INSERT INTO %I.{SCOPED} AS s VALUES ($1, 1)'
            ' ON CONFLICT (scope) DO UPDATE SET version = s.version + 1', TG_TABLE_SCHEMA)
            USING marker || '=' || coalesce(changed ->> TG_ARGV[0], '');
        ELSE
          EXECUTE format('UPDATE %I.{VERSIONS} SET version = version + 1'
            ' WHERE name = $1 AND version > 0', TG_TABLE_SCHEMA) USING marker;
        END IF;
      END LOOP;
      RETURN NULL;
    END $$"""

# A TRUNCATE fires no row trigger: it bumps the marker, which every scoped entry of the
# table depends on. data_version's own TRUNCATE trigger has run first (names' order).
POSTGRES_BUMP_SCOPED_TRUNCATE = f"""CREATE OR REPLACE FUNCTION bump_scoped_truncate()
    RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE format('UPDATE %I.{VERSIONS} SET version = version + 1'
        ' WHERE name = $1 AND version > 0', TG_TABLE_SCHEMA)
        USING TG_TABLE_NAME || '.' || TG_ARGV[0];
      RETURN NULL;
    END $$"""

POSTGRES_SETUP_SQL = (
    f"CREATE TABLE IF NOT EXISTS {VERSIONS} (name TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {SCOPED} (scope TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    POSTGRES_BUMP_FUNCTION,
    POSTGRES_BUMP_SCOPED_FUNCTION,
    POSTGRES_BUMP_SCOPED_TRUNCATE,
)


class PostgresVersions:
    """Mixin of PostgresDialect: the scoped counters' triggers (the table's own counter
    is bumped by its data_version trigger: www/db/dialects.py)."""

    def scopes_filter(self, scopes: Sequence[str]) -> tuple[str, tuple]:
        """The WHERE condition that picks these scoped counters, and its one parameter."""
        return "scope = ANY($1::text[])", (list(scopes),)

    def scoped_trigger_sql(self, table: str, column: str) -> list[str]:
        q, name, truncate = self.quote, self.quote(SCOPED), self.quote(f"{SCOPED}_truncate")  # type: ignore[attr-defined]
        argument = _literal(column)
        return [  # no CREATE OR REPLACE for constraint triggers: drop, then create
            f"DROP TRIGGER IF EXISTS {name} ON {q(table)}",
            f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {q(table)}"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            f" EXECUTE FUNCTION bump_scoped_version({argument})",
            f"DROP TRIGGER IF EXISTS {truncate} ON {q(table)}",
            f"CREATE TRIGGER {truncate} AFTER TRUNCATE ON {q(table)}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION bump_scoped_truncate({argument})",
            _mark(_literal(scope_marker(table, column)), f"abs({VERSIONS}.version) + 1"),
        ]

    def drop_scoped_trigger_sql(self, table: str, column: str) -> list[str]:
        q = self.quote  # type: ignore[attr-defined]
        return [
            f"DROP TRIGGER IF EXISTS {q(SCOPED)} ON {q(table)}",
            f"DROP TRIGGER IF EXISTS {q(f'{SCOPED}_truncate')} ON {q(table)}",
            _unmark(_literal(scope_marker(table, column))),
        ]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mark(marker: str, new_version: str) -> str:
    return (
        f"INSERT INTO {VERSIONS} (name, version) VALUES ({marker}, 1)"
        f" ON CONFLICT (name) DO UPDATE SET version = {new_version}"
    )


def _unmark(marker: str) -> str:
    return f"UPDATE {VERSIONS} SET version = -(abs(version) + 1) WHERE name = {marker}"
