"""PostgreSQL's transactions: each on a connection of its own, from BEGIN to COMMIT.

The rules are base.Transaction's, as for SQLite. A read() body's transaction is read-only
and sees one snapshot (REPEATABLE READ); a write() body's, run on the bodies' thread
(www/db/pgbodies.py), hands its after-commit callbacks back to the caller's loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .base import ExecResult, Transaction, run_to_completion, translated
from .versions import READ_SCOPED_SQL

if TYPE_CHECKING:
    from .dialects import PostgresDialect
    from .postgres import PostgresDatabase

log = logging.getLogger(__name__)
_RETURNING = re.compile(r"\bRETURNING\b[^']*\Z", re.IGNORECASE)  # a last clause, not text


async def execute_one(dialect: PostgresDialect, conn: Any, sql: str, params: Sequence[Any]) -> Any:
    """One statement. With a RETURNING clause (the ORM's INSERT of one row), rowcount is the
    number of rows returned and lastrowid the first value; otherwise rowcount comes from the
    command tag ("UPDATE 3"), -1 when it has no count, and lastrowid is None."""
    if _RETURNING.search(sql):
        rows = await translated(dialect, conn.fetch(sql, *params))
        return ExecResult(len(rows), rows[0][0] if rows else None)
    count = (await translated(dialect, conn.execute(sql, *params))).rpartition(" ")[2]
    return ExecResult(int(count) if count.isdigit() else -1, None)


class PostgresTransaction(Transaction):
    """A transaction on a connection of its own (see base.Transaction for the rules)."""

    _db: PostgresDatabase
    _begin_sql = "BEGIN"
    # Run on the bodies' thread (write()): the after-commit callbacks, for the caller's
    # loop to run (they may use what is bound to it: a Redis client).
    _handed: list | None = None

    async def _begin(self) -> None:
        pool, conn = await self._db._acquire()
        try:
            await translated(self.dialect, conn.execute(self._begin_sql))
        except BaseException:
            await run_to_completion(self._db._release(pool, conn, clean=False))
            raise
        self._pool, self._conn = pool, conn
        self._db._held.add(conn)

    async def _end(self, *, commit: bool) -> None:
        async def finish() -> None:
            clean = False
            try:
                await self._run("COMMIT" if commit else "ROLLBACK")
                clean = True
            finally:
                await self._db._release(self._pool, self._conn, clean=clean)

        try:
            await run_to_completion(finish())
        except Exception:
            if commit:
                raise
            log.exception("ROLLBACK failed")  # not raised over the error that brought us here

    async def _run(self, sql: str) -> None:
        await translated(self.dialect, self._connection(active=False).execute(sql))

    async def _committed(self, callbacks: list[Callable[[], Awaitable[None]]]) -> None:
        if self._handed is None:
            await super()._committed(callbacks)
        else:
            self._handed.extend(callbacks)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list:
        self._db.reads.note(sql)
        return await translated(self.dialect, self._connection().fetch(sql, *params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        return await execute_one(self.dialect, self._connection(), sql, params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        """rowcount is -1: asyncpg does not report counts for a batch."""
        await translated(self.dialect, self._connection().executemany(sql, rows))
        return ExecResult(-1, None)


class PostgresReadTransaction(PostgresTransaction):
    """A read() body's transaction: read-only, and one snapshot for all its statements
    (REPEATABLE READ), as a read body sees on SQLite; a write in it fails."""

    _begin_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"

    def __init__(self, db: Any, parent: Transaction | None = None):
        super().__init__(db, parent)
        self.scoped_by = db.reads.scoped_by  # offered to the ORM: www/db/reads.py
        self.scopes: set[str] = set()

    async def fetchall(
        self, sql: str, params: Sequence[Any] = (), scope: tuple[str, str] | None = None
    ) -> list:
        """`scope`: (table, counter) when the ORM found the query reads one scope of a
        table counted by a column; read() reads the counter at the end, in this snapshot."""
        if scope is None:
            return await super().fetchall(sql, params)
        self._db.reads.note(sql, scope[0])
        self.scopes.add(scope[1])
        return await translated(self.dialect, self._connection().fetch(sql, *params))

    async def scope_versions(self) -> dict[str, int]:
        """The scoped counters the body's queries named, as of this snapshot."""
        condition, params = self.dialect.scopes_filter(sorted(self.scopes))
        rows = await self.fetchall(READ_SCOPED_SQL + condition, params)
        found = dict(rows)
        return {scope: found.get(scope, 0) for scope in self.scopes}
