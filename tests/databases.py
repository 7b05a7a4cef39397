"""Which database the suite runs on, and an empty one for each test.

`make test` runs every test on SQLite files under tmp_path. `make test-pg` sets
WWW_TEST_DB_URL to a PostgreSQL database (.ci/postgres.sh starts a throwaway one): each
test then gets a schema of its own in it, created before the test and dropped after, and
reaches it through `?search_path=<schema>` in the URL, as the app would be configured.

When that server cannot be reached, the tests that need it skip with the reason, or fail
with CI=true, where a skipped suite would pass for a green one.
"""

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from www.db import BaseDatabase, Database
from www.db.versions import SCOPED, VERSIONS
from www.migrate.runner import load, up
from www.settings import PROJECT_ROOT

URL = os.environ.get("WWW_TEST_DB_URL", "")
ON_POSTGRES = URL.startswith("postgresql://")
IN_CI = os.environ.get("CI", "").lower() == "true"
CONNECT_TIMEOUT = 5  # seconds: a missing server is reported, not waited for
if URL and not ON_POSTGRES:
    raise pytest.UsageError(f"WWW_TEST_DB_URL must be a postgresql:// URL, not {URL!r}")


def _run(coro_factory: Any) -> Any:
    """Run a coroutine to completion in a thread of its own, away from the test's loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _admin(*statements: str) -> None:
    """Run statements on the test server (creating and dropping the tests' schemas)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(URL, timeout=CONNECT_TIMEOUT)
        try:
            await conn.execute("SET lock_timeout = '10s'")  # a stuck test fails, never hangs
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    _run(run)


_problem: list[str] = []  # why the server cannot be used, found once per session


def postgres_problem() -> str | None:
    """None if the PostgreSQL of WWW_TEST_DB_URL answers, else why not (in one line)."""
    if not _problem:
        try:
            _admin("SELECT 1")
            _problem.append("")
        except Exception as exc:
            where = Database.from_url(URL, PROJECT_ROOT).location  # no password
            reason = " ".join(str(exc).split()) or type(exc).__name__
            _problem.append(f"PostgreSQL at {where} is not reachable ({reason})")
    return _problem[0] or None


def require_postgres() -> None:
    """Skip the test (fail it with CI=true) when the test server cannot be reached."""
    problem = postgres_problem()
    if problem and IN_CI:
        pytest.fail(f"{problem}; CI=true needs it")
    if problem:
        pytest.skip(f"{problem}: start one with .ci/postgres.sh start")


# Before a test's schema is dropped: end the sessions still holding one of its tables or
# listening on its live channel. The test's app has closed its pool and its broker by then,
# yet now and then (1 run in 5 of tests/posts/test_api.py) a pool connection inside a
# transaction on broker_messages and the broker's LISTEN session outlive it for a while,
# and DROP SCHEMA would wait for their locks until lock_timeout. Not understood yet: see
# the session notes. Ended here so that one test's leftovers never fail the next.
LEFTOVERS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND (
    query = 'LISTEN "www_live:{schema}"'
    OR pid IN (
        SELECT l.pid FROM pg_locks l
        JOIN pg_class c ON c.oid = l.relation
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = '{schema}'
    )
)
"""


@contextlib.contextmanager
def fresh_database_url(tmp_path: Any) -> Iterator[str]:
    """The URL of an empty database for one test: a SQLite file under ``tmp_path``, or a
    new schema on the test server, dropped afterwards with everything in it."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    require_postgres()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    _admin(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{URL}{'&' if '?' in URL else '?'}search_path={schema}"
    finally:
        _admin(LEFTOVERS.format(schema=schema), f'DROP SCHEMA "{schema}" CASCADE')


async def migrate(db: BaseDatabase) -> None:
    """Bring ``db`` to the newest schema through the migrations, as init_db.py does: what a
    server started on it checks (the ``db`` fixture's create_all does not record them)."""
    await up(db, load())


def open_database(url: str, **options: Any) -> BaseDatabase:
    """The database of ``url`` (not opened yet), with the tests' small pool."""
    return Database.from_url(url, PROJECT_ROOT, **{"pool_size": 4, **options})


async def table_names(db: BaseDatabase) -> set[str]:
    """The tables of the database (on PostgreSQL: of the test's schema), but the change
    counters (www/db/versions.py) and SQLite's full-text search tables (virtual, and their
    shadows), beside the schema."""
    if db.dialect.name == "sqlite":
        sql = "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'"
        names = {name for (name,) in await db.fetchall(sql) if not name.startswith("sqlite_")}
        return names - {VERSIONS, SCOPED}
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    return {name for (name,) in await db.fetchall(sql)} - {"data_version", VERSIONS, SCOPED}


def sql(db: BaseDatabase, text: str) -> str:
    """``text`` with each ``?`` turned into the dialect's placeholder ($1, $2... on
    PostgreSQL), so a test's raw SQL runs on either engine."""
    parts = text.split("?")
    marks = [db.dialect.placeholder(i) for i in range(1, len(parts))]
    return parts[0] + "".join(mark + part for mark, part in zip(marks, parts[1:], strict=True))


async def index_names(db: BaseDatabase) -> set[str]:
    if db.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {name for (name,) in await db.fetchall(sql)}


async def column_names(db: BaseDatabase, table: str) -> list[str]:
    """The table's columns, in order."""
    if db.dialect.name == "sqlite":
        return [row[1] for row in await db.fetchall(f'PRAGMA table_info("{table}")')]
    query = sql(
        db,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
    )
    return [name for (name,) in await db.fetchall(query, (table,))]
