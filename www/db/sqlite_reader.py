"""SQLite's readers: read-only connections, each on a thread of its own that runs jobs in
order, and ``SQLiteDatabase.read(body)``, which runs several reads as one job.

Each trip between the event loop and a connection's thread costs CPU on both sides: a
queue, a wake-up, a call back into the loop, and on one busy core the two threads take
the processor from each other. A statement a trip (what aiosqlite, which the readers
were, does) made the home page four trips: the count, the posts, their authors and their
tags. With the data cache off that was a tenth of the page's CPU. ``read(body)`` runs the
whole body on a reader's thread instead: one trip, however many statements, and one
read transaction, so its statements see one snapshot (a page's count and rows agree).
aiosqlite has no way to run a body on its thread, hence a thread of ours, as for the
writer (www/db/sqlite_writer.py).

A read body (``async def body(db)``) may await only the reads of the ``db`` it is given
(``fetchall``, ``fetchone``, and the ORM's queries on it): they run at once on the
thread, so the body never suspends. Awaiting anything else (a lock, a sleep, the cache,
another database call) fails with a DatabaseError, as does a write.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .base import DatabaseError, ExecResult
from .sqlite_thread import ConnectionThread, hand_over
from .versions import READ_SCOPED_SQL

T = TypeVar("T")


class SQLiteReader(ConnectionThread):
    """A read-only connection and its thread. ``connect`` opens the connection (on the
    thread); ``run(call, label)`` makes ``call(connection)`` there and awaits the result.
    A job is its caller's future and the call: the leanest trip there is (a read is a few
    microseconds; the writer's jobs carry more, for its transactions)."""

    thread_name = "sqlite-reader"

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._connect = connect
        self._jobs: queue.SimpleQueue[tuple[asyncio.Future, Callable] | None] = queue.SimpleQueue()
        self._closing = False
        self.conn: sqlite3.Connection | None = None  # the thread's; read elsewhere by tests

    async def close(self) -> None:
        """Let the queued reads finish, close the connection and end the thread. Safe to
        call twice; a read submitted afterwards fails."""
        self._closing = True
        if self._thread is not None:
            self._jobs.put(None)
        await self._join()

    async def run(self, call: Callable[[sqlite3.Connection], T], label: str) -> T:
        """``call(connection)`` on the thread (``label`` says what it is, as the writer's
        jobs do). Cancelled while still queued, it never runs; once running it finishes
        (reads are short) and its result is dropped."""
        if self._closing:
            raise DatabaseError("the database is not open")
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((future, call))
        return await future  # cancelling the caller cancels it: the thread skips the job

    # --- on the thread ----------------------------------------------------------------

    def _main(self, ready: asyncio.Future) -> None:
        try:
            self.conn = conn = self._connect()
        except BaseException as exc:
            hand_over(ready, error=exc)
            return
        hand_over(ready)
        try:
            while (job := self._jobs.get()) is not None:
                future, call = job
                if future.cancelled():  # its caller stopped waiting before it began
                    continue
                try:
                    result, error = call(conn), None
                except BaseException as exc:
                    result, error = None, exc
                if conn.in_transaction:  # a body that failed half-way: clean before telling
                    conn.rollback()
                hand_over(future, result, error)
        finally:
            conn.close()


class Snapshot:
    """The database as a read body sees it, on the reader's thread: its reads run at once,
    inside the body's read transaction. ``statements``: the SQL it ran, which the caller's
    ReadLog notes afterwards (the tables a cached value depends on: www/cache.py)."""

    def __init__(self, dialect: Any, conn: sqlite3.Connection, scoped_by: dict[str, str]):
        self.dialect, self._conn = dialect, conn
        self.scoped_by = scoped_by  # offered to the ORM: www/db/versions.py
        self.statements: list[tuple[str, str | None]] = []  # and the table it scoped
        self.scopes: set[str] = set()

    async def fetchall(
        self, sql: str, params: Sequence[Any] = (), scope: tuple[str, str] | None = None
    ) -> list[tuple]:
        """`scope`: (table, counter) when the ORM found the query reads one scope of a
        table counted by a column; the counter is read at the end, in this snapshot."""
        if scope is None:
            self.statements.append((sql, None))
        else:
            self.statements.append((sql, scope[0]))
            self.scopes.add(scope[1])
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self.dialect.translate_error(exc) from exc

    def scope_versions(self) -> dict[str, int]:
        """The scoped counters the body's queries named, as of this snapshot."""
        condition, params = self.dialect.scopes_filter(sorted(self.scopes))
        found = dict(self._conn.execute(READ_SCOPED_SQL + condition, params).fetchall())
        return {scope: found.get(scope, 0) for scope in self.scopes}

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        raise DatabaseError("a read() body cannot write: use db.write() or a transaction")

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        raise DatabaseError("a read() body cannot write: use db.write() or a transaction")


Statements = list[tuple[str, str | None]]


def read_job(
    dialect: Any, body: Callable[[Snapshot], Awaitable[T]], scoped_by: dict[str, str]
) -> Callable[[sqlite3.Connection], tuple[T, Statements, dict[str, int]]]:
    """The job that runs ``body`` whole on a reader's connection, in one read transaction:
    it returns the body's value, the statements it ran (each with the table it scoped, or
    None), and the scoped counters they named, read in the same snapshot."""

    def call(conn: sqlite3.Connection) -> tuple[T, Statements, dict[str, int]]:
        snapshot = Snapshot(dialect, conn, scoped_by)
        try:
            conn.execute("BEGIN")  # deferred: the snapshot is taken at the first read
            value = _complete(body(snapshot))
            scoped = snapshot.scope_versions() if snapshot.scopes else {}
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise dialect.translate_error(exc) from exc
        return value, snapshot.statements, scoped

    return call


def _complete(awaitable: Awaitable[T]) -> T:
    """The result of a body that never suspends: every await in it is a read, done at once.
    One that suspends waits for something no one on this thread will ever do."""
    steps = awaitable.__await__()
    try:
        steps.send(None)
    except StopIteration as done:
        return done.value
    steps.close()
    raise DatabaseError(
        "a read() body may await only the reads of the database it is given: it runs whole "
        "on a reader's thread, where nothing else can complete"
    )
