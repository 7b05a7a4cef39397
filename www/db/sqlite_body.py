"""A whole SQLite transaction as one job on the writer's thread: ``SQLiteDatabase.write``.

The body (``async def body(tx)``) runs on the writer's thread, in a private event loop,
with a transaction (``ThreadTransaction``) whose statements run synchronously on the
connection: the ORM's awaits complete at once, so BEGIN ... COMMIT never waits for the
application's loop, however busy. The rules are base.Transaction's (savepoints when
nested, rollback on any exception, errors translated); calls on the database inside the
body join its transaction as usual (the broker's message row, for instance). Its
after-commit callbacks are handed back and run on the caller's loop after the job.

What a body must not do: use anything bound to the caller's loop (a lock, a queue, a
future, a client connection: awaiting one fails with "attached to a different loop"),
start tasks that outlive it (checked: the transaction then rolls back), sleep, or do
slow work: every other write waits for it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from .base import DatabaseError, ExecResult, Transaction
from .sqlite_writer import Job, SQLiteWriter

T = TypeVar("T")


class Outcome(NamedTuple):
    value: Any
    callbacks: list[Callable[[], Awaitable[None]]]  # after-commit, for the caller's loop


class ThreadTransaction(Transaction):
    """A transaction (or savepoint) on the writer's thread, for a write() body."""

    _conn: SQLiteWriter

    def __init__(self, db: Any, parent: ThreadTransaction | None = None):
        super().__init__(db, parent)
        self._raw: sqlite3.Connection | None = parent._raw if parent else None
        self._job: Job | None = parent._job if parent else None
        self.callbacks: list[Callable[[], Awaitable[None]]] = []

    def _statement(self, sql: str, run: Callable[[sqlite3.Connection], T]) -> T:
        """``run(connection)`` for the statement ``sql``, unless the caller was cancelled."""
        if self._job is not None and self._job.cancel_requested:
            raise asyncio.CancelledError  # the caller was cancelled: roll back
        try:
            return run(self._raw)  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            raise self.dialect.translate_error(exc) from exc

    async def _begin(self) -> None:
        self._conn = self._db._connection()
        self._statement("BEGIN IMMEDIATE", lambda conn: conn.execute("BEGIN IMMEDIATE"))

    async def _end(self, *, commit: bool) -> None:
        sql = "COMMIT" if commit else "ROLLBACK"
        self._statement(sql, lambda conn: conn.execute(sql))
        # a failed COMMIT is rolled back by the writer when the job ends

    async def _committed(self, callbacks: list[Callable[[], Awaitable[None]]]) -> None:
        self.callbacks = callbacks  # for the caller's loop: see run_body

    async def _run(self, sql: str) -> None:
        self._connection(active=False)
        self._statement(sql, lambda conn: conn.execute(sql))

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._connection()
        return self._statement(sql, lambda conn: conn.execute(sql, params).fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        self._connection()
        cursor = self._statement(sql, lambda conn: conn.execute(sql, params))
        return ExecResult(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        self._connection()
        cursor = self._statement(sql, lambda conn: conn.executemany(sql, rows))
        return ExecResult(cursor.rowcount, None)


def body_job(db: Any, writer: SQLiteWriter, body: Callable[[Any], Awaitable[T]]) -> Job:
    """Submit ``body`` as one job that holds the writer from its BEGIN to its COMMIT."""

    async def in_transaction(conn: sqlite3.Connection) -> Outcome:
        tx = ThreadTransaction(db)
        tx._raw, tx._job = conn, writer.current
        async with tx:
            value = await body(tx)
            left = asyncio.all_tasks() - {asyncio.current_task()}
            if left:
                for task in left:
                    task.cancel()
                raise DatabaseError(
                    f"a write() body must not leave tasks running ({len(left)} left): "
                    "it runs on the writer's thread, which its tasks cannot outlive"
                )
        return Outcome(value, tx.callbacks)

    def call(conn: sqlite3.Connection) -> Outcome:
        loop = writer.thread_loop
        assert loop is not None
        try:
            return loop.run_until_complete(in_transaction(conn))
        finally:
            leftover = asyncio.all_tasks(loop)
            if leftover:  # cancelled above: let them end before the next job
                loop.run_until_complete(asyncio.wait(leftover))

    return writer.submit(call, "write()", owner=object(), begins=True, ends=True)
