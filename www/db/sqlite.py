"""SQLite: one writer connection, a few readers, and explicit transactions.

Tasks sharing a connection would interleave their transactions. So every write runs on ONE
writer connection, held by one task (``_write_lock``) from ``BEGIN IMMEDIATE`` to ``COMMIT``
or ``ROLLBACK``; reads take turns on read-only connections, which in WAL mode never see
uncommitted data nor wait for the writer.

    async with SQLiteDatabase(path) as db:  # or Database.from_url(url, root)
        rows = await db.fetchall("SELECT ...", params)  # also fetchone, execute, executemany
        async with db.transaction() as tx:  # nested (or re-entered): a SAVEPOINT
            await tx.execute("INSERT ...", params)

The transaction rules (ownership, savepoints) are www/db/base.py's; this module says how
a transaction begins and ends here: under the writer lock, with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from .base import (
    BaseDatabase,
    DatabaseError,
    ExecResult,
    Transaction,
    run_to_completion,
    translated,
)
from .dialects import SQLiteDialect

log = logging.getLogger(__name__)


async def _connect(path: Path, busy_timeout_ms: int, *, read_only: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)  # explicit transactions only
    try:
        pragmas = [f"busy_timeout={int(busy_timeout_ms)}", "journal_mode=WAL"]
        pragmas += ["foreign_keys=ON", "synchronous=NORMAL"]
        if read_only:
            pragmas.append("query_only=ON")  # a stray write there would bypass the writer lock
        for pragma in pragmas:
            await conn.execute(f"PRAGMA {pragma}")
    except BaseException:
        await conn.close()
        raise
    return conn


class SQLiteTransaction(Transaction):
    """A transaction on the writer connection (see base.Transaction for the rules). Other
    tasks queue for the writer instead of joining it."""

    _db: SQLiteDatabase
    _foreign_keys = True  # False in a schema change: see SQLiteDatabase.schema_transaction

    async def _begin(self) -> None:
        self._conn = self._db._connection()
        await self._db._write_lock.acquire()
        try:
            if not self._foreign_keys:  # a no-op inside a transaction: set before BEGIN
                await self._run("PRAGMA foreign_keys = OFF")
            await self._run("BEGIN IMMEDIATE")
        except BaseException:
            await self._recover()
            raise

    async def _end(self, *, commit: bool) -> None:
        try:
            await self._run("COMMIT" if commit else "ROLLBACK")
        except BaseException as exc:
            await self._recover()
            if commit or not isinstance(exc, Exception):
                raise
            log.exception("ROLLBACK failed")  # not raised over the error that brought us here
        else:
            try:
                if not self._foreign_keys:  # back on before another task gets the writer
                    await run_to_completion(self._conn.execute("PRAGMA foreign_keys = ON"))
            finally:
                self._db._write_lock.release()

    async def _recover(self) -> None:
        """After a failed or interrupted BEGIN, COMMIT or ROLLBACK (which still runs on the
        connection's thread), roll back what is left open and free the writer: in a task of
        its own, which cancelling the caller cannot stop."""

        async def recover(conn: aiosqlite.Connection) -> None:
            try:
                if conn is self._db._writer:  # else closed: the transaction went with it
                    await conn.execute_fetchall("SELECT 1")  # queued after that statement
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    if not self._foreign_keys:
                        await conn.execute("PRAGMA foreign_keys = ON")
            except Exception:
                log.exception("could not roll back an interrupted transaction")
            finally:
                self._db._write_lock.release()

        await run_to_completion(recover(self._conn))

    async def _run(self, sql: str) -> None:
        await translated(self.dialect, self._connection(active=False).execute(sql))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._db.reads.note(sql)
        return await translated(self.dialect, self._connection().execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        cursor = await translated(self.dialect, self._connection().execute(sql, params))
        return ExecResult(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        cursor = await translated(self.dialect, self._connection().executemany(sql, rows))
        return ExecResult(cursor.rowcount, None)


class SQLiteDatabase(BaseDatabase):
    """A SQLite database file: one writer connection, ``readers`` reader connections."""

    url_prefix = "sqlite:///"
    transaction_class = SQLiteTransaction

    def __init__(self, path: str | Path, *, readers: int = 2, busy_timeout_ms: int = 5000):
        if readers < 1:
            raise ValueError("readers must be at least 1")
        super().__init__()
        self.path, self.readers, self.busy_timeout_ms = Path(path), readers, busy_timeout_ms
        self.location = str(self.path)
        self.dialect = SQLiteDialect()
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._turn = 0  # the reader that takes the next read
        self._write_lock = asyncio.Lock()

    @classmethod
    def from_options(cls, url: str, root: Path, options: dict[str, Any]) -> SQLiteDatabase:
        """``sqlite:///relative/path.db`` (relative to ``root``) or ``sqlite:////abs/path.db``;
        of the ``db`` settings, SQLite uses ``readers`` and ``busy_timeout_ms``."""
        path = url[len(cls.url_prefix) :]
        if not path or path == ":memory:" or path.endswith("/"):
            raise ValueError(f"database URL {url!r} must name a database file")
        kwargs = {k: v for k, v in options.items() if k in ("readers", "busy_timeout_ms")}
        return cls(Path(root) / path, **kwargs)  # an absolute path replaces root

    async def open(self) -> None:
        """Create the parent folder and open the connections (writer first: it sets WAL)."""
        if self._writer is not None:
            raise DatabaseError("the database is already open")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Fail here, not in aiosqlite.connect: after a failed connect, its thread reports
            # to the event loop later, which raises if the loop is gone (asyncio.run exited).
            await asyncio.to_thread(lambda: sqlite3.connect(self.path).close())
            self._writer = await _connect(self.path, self.busy_timeout_ms, read_only=False)
            for _ in range(self.readers):
                conn = await _connect(self.path, self.busy_timeout_ms, read_only=True)
                self._readers.append(conn)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, OSError | sqlite3.Error):
                raise DatabaseError(f"cannot open database {str(self.path)!r}: {exc}") from exc
            raise

    async def close(self) -> None:
        """Close every connection. Safe to call twice."""
        connections = [c for c in (self._writer, *self._readers) if c is not None]
        self._writer, self._readers = None, []
        for conn in connections:
            await conn.close()

    async def data_version(self) -> int:
        """A number that changes with every commit, by any connection or process; SQLite keeps
        it per connection, so it is always asked of the same reader (see www/cache.py)."""
        if not self._readers:
            raise DatabaseError("the database is not open")
        return (await self._readers[0].execute_fetchall("PRAGMA data_version"))[0][0]

    def schema_transaction(self) -> SQLiteTransaction:
        """A transaction that changes tables, with foreign keys unenforced until it ends:
        rebuilding a table drops the old one, which would otherwise cascade to the rows
        that point to it. The caller checks them (PRAGMA foreign_key_check) before commit."""
        if self._active_transaction() is not None:
            raise DatabaseError("a schema change cannot be nested in a transaction")
        tx = SQLiteTransaction(self)
        tx._foreign_keys = False
        return tx

    def _connection(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise DatabaseError("the database is not open")
        return self._writer

    def _holds(self, conn: aiosqlite.Connection) -> bool:
        return conn is self._writer

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """In this task's transaction, which sees its own writes, or on the next reader."""
        self.reads.note(sql)  # which tables a cached page depends on (db/versions.py)
        tx = self._active_transaction()
        if tx is not None:
            return await tx.fetchall(sql, params)
        if not self._readers:
            raise DatabaseError("the database is not open")
        self._turn = (self._turn + 1) % len(self._readers)
        reader = self._readers[self._turn]
        return await translated(self.dialect, reader.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        """Run one write: in this task's transaction if any, else as its own transaction."""
        tx = self._active_transaction()
        if tx is not None:
            return await tx.execute(sql, params)
        async with self._write_lock:  # or it could land inside another task's transaction
            cursor = await translated(self.dialect, self._connection().execute(sql, params))
        return ExecResult(cursor.rowcount, cursor.lastrowid)
