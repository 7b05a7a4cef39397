"""SQLite: one writer, a few readers, and explicit transactions.

Tasks sharing a connection would interleave their transactions. So every write runs on ONE
writer connection, owned by a thread of its own (www/db/sqlite_writer.py) that runs one
transaction at a time, from ``BEGIN IMMEDIATE`` to ``COMMIT`` or ``ROLLBACK``; reads take
turns on read-only connections, each with a thread of its own too
(www/db/sqlite_reader.py), which in WAL mode never see uncommitted data nor wait for the
writer.

    async with SQLiteDatabase(path) as db:  # or Database.from_url(url, root)
        rows = await db.fetchall("SELECT ...", params)  # also fetchone, execute, executemany
        async with db.transaction() as tx:  # nested (or re-entered): a SAVEPOINT
            await tx.execute("INSERT ...", params)
        row = await db.write(lambda tx: Comment.create(tx, ...))  # one job on the writer
        page = await db.read(lambda db: Post.select(db).paginate(1, 20))  # one on a reader

The transaction rules (ownership, savepoints) are www/db/base.py's; this module says how
a transaction begins and ends here: as jobs on the writer's thread, with ``BEGIN
IMMEDIATE``. A short transaction is best written as a ``write()`` body (www/db/sqlite_body.py):
it runs whole on the writer's thread and never waits for a busy event loop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .base import (
    BaseDatabase,
    DatabaseError,
    ExecResult,
    Transaction,
    background,
    run_callbacks,
    run_to_completion,
    translated,
)
from .dialects import SQLiteDialect
from .sqlite_body import body_job
from .sqlite_reader import SQLiteReader, read_job
from .sqlite_writer import SQLiteWriter, WriterStats

log = logging.getLogger(__name__)
T = TypeVar("T")


def _pragmas(busy_timeout_ms: int, *, read_only: bool) -> list[str]:
    pragmas = [f"busy_timeout={int(busy_timeout_ms)}", "journal_mode=WAL"]
    pragmas += ["foreign_keys=ON", "synchronous=NORMAL"]
    if read_only:
        pragmas.append("query_only=ON")  # a stray write there would bypass the writer
    return pragmas


def _connect(path: Path, busy_timeout_ms: int, *, read_only: bool) -> sqlite3.Connection:
    """A connection for the writer or a reader, opened on its thread (explicit
    transactions only)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in _pragmas(busy_timeout_ms, read_only=read_only):
            conn.execute(f"PRAGMA {pragma}")
    except BaseException:
        conn.close()
        raise
    return conn


def _foreign_keys_on(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA foreign_keys = ON")


class SQLiteTransaction(Transaction):
    """A transaction on the writer (see base.Transaction for the rules): each statement
    is a job on the writer's thread, which runs no one else's jobs from this BEGIN to its
    COMMIT or ROLLBACK (www/db/sqlite_writer.py). Other tasks queue instead of joining."""

    _db: SQLiteDatabase
    _conn: SQLiteWriter
    _foreign_keys = True  # False in a schema change: see SQLiteDatabase.schema_transaction

    async def _begin(self) -> None:
        writer = self._conn = self._db._connection()
        fk = self._foreign_keys

        def begin(conn: sqlite3.Connection) -> None:
            if not fk:  # a no-op inside a transaction: set before BEGIN
                conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("BEGIN IMMEDIATE")

        cleanup = None if fk else _foreign_keys_on  # back on before the next owner
        job = writer.submit(begin, "BEGIN IMMEDIATE", owner=self, begins=True, cleanup=cleanup)
        try:
            await translated(self.dialect, job.future)
        except asyncio.CancelledError:
            if not writer.cancel(job):  # it ran or runs: the writer is ours until we end it
                await run_to_completion(self._abandon(writer))
            raise

    async def _abandon(self, writer: SQLiteWriter) -> None:
        """End a transaction whose BEGIN was interrupted (it ends on the writer's thread)."""
        try:
            await writer.submit(lambda conn: None, "ROLLBACK", owner=self, ends=True).future
        except Exception:
            log.exception("could not roll back an interrupted transaction")

    async def _end(self, *, commit: bool) -> None:
        if not self._db._holds(self._conn):
            return  # closed: the transaction went with the connection
        sql = "COMMIT" if commit else "ROLLBACK"
        job = self._conn.submit(lambda conn: conn.execute(sql), sql, owner=self, ends=True)
        try:  # the writer is free once it has run, whatever happens here
            await translated(self.dialect, job.future)
        except Exception:
            if commit:
                raise
            log.exception("ROLLBACK failed")  # not raised over the error that brought us here

    async def _job(self, run: Any, label: str, *, active: bool = True) -> Any:
        writer, owner = self._connection(active=active), self
        while owner._parent is not None:  # a savepoint's statements are its transaction's
            owner = owner._parent
        return await translated(self.dialect, writer.run(run, label, owner=owner))

    async def _run(self, sql: str) -> None:
        await self._job(lambda conn: conn.execute(sql), sql, active=False)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._db.reads.note(sql)
        return await self._job(lambda conn: conn.execute(sql, params).fetchall(), sql)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        return await self._job(lambda conn: _result(conn.execute(sql, params)), sql)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        return await self._job(lambda conn: _result(conn.executemany(sql, rows), False), sql)


def _result(cursor: sqlite3.Cursor, lastrowid: bool = True) -> ExecResult:
    return ExecResult(cursor.rowcount, cursor.lastrowid if lastrowid else None)


class SQLiteDatabase(BaseDatabase):
    """A SQLite database file: one writer (a thread with its connection), ``readers``
    reader connections."""

    url_prefix = "sqlite:///"
    transaction_class = SQLiteTransaction

    def __init__(self, path: str | Path, *, readers: int = 2, busy_timeout_ms: int = 5000):
        if readers < 1:
            raise ValueError("readers must be at least 1")
        super().__init__()
        self.path, self.readers, self.busy_timeout_ms = Path(path), readers, busy_timeout_ms
        self.location = str(self.path)
        self.dialect = SQLiteDialect()
        self._writer: SQLiteWriter | None = None
        self._readers: list[SQLiteReader] = []
        self._turn = 0  # the reader that takes the next read
        self.writer_stats = WriterStats()  # kept across close(), for writer_summary()

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
            path, busy_timeout_ms = self.path, self.busy_timeout_ms
            writer = SQLiteWriter(
                lambda: _connect(path, busy_timeout_ms, read_only=False), self.writer_stats
            )
            await writer.open()  # first: it sets WAL, which the readers then find
            self._writer = writer
            for _ in range(self.readers):
                reader = SQLiteReader(lambda: _connect(path, busy_timeout_ms, read_only=True))
                await reader.open()
                self._readers.append(reader)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, OSError | sqlite3.Error):
                raise DatabaseError(f"cannot open database {str(self.path)!r}: {exc}") from exc
            raise

    async def close(self) -> None:
        """Close every connection. Safe to call twice."""
        writer, readers = self._writer, self._readers
        self._writer, self._readers = None, []
        if writer is not None:
            await writer.close()
        for conn in readers:
            await conn.close()

    def writer_summary(self) -> str:
        """One line for the logs, "Writer: 1,234 transactions, lock wait p50 0.4 ms, p99
        3.1 ms; held ...": how long transactions (and writes in no transaction) waited for
        the writer and held it, since this database was made (WriterStats)."""
        return self.writer_stats.summary()

    async def data_version(self) -> int:
        """A number that changes with every commit, by any connection or process; SQLite keeps
        it per connection, so it is always asked of the same reader (see www/cache.py)."""
        if not self._readers:
            raise DatabaseError("the database is not open")
        sql = "PRAGMA data_version"
        return await self._readers[0].run(lambda conn: conn.execute(sql).fetchone()[0], sql)

    def schema_transaction(self) -> SQLiteTransaction:
        """A transaction that changes tables, with foreign keys unenforced until it ends:
        rebuilding a table drops the old one, which would otherwise cascade to the rows
        that point to it. The caller checks them (PRAGMA foreign_key_check) before commit."""
        if self._active_transaction() is not None:
            raise DatabaseError("a schema change cannot be nested in a transaction")
        tx = SQLiteTransaction(self)
        tx._foreign_keys = False
        return tx

    def _connection(self) -> SQLiteWriter:
        if self._writer is None:
            raise DatabaseError("the database is not open")
        return self._writer

    def _holds(self, conn: SQLiteWriter) -> bool:
        return conn is self._writer

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """In this task's transaction, which sees its own writes, or on the next reader."""
        self.reads.note(sql)  # which tables a cached page depends on (db/reads.py)
        tx = self._active_transaction()
        if tx is not None:
            return await tx.fetchall(sql, params)
        try:  # what translated() does, written out: every read outside a transaction runs it
            return await self._reader().run(lambda conn: conn.execute(sql, params).fetchall(), sql)
        except self.dialect.driver_error as exc:
            raise self.dialect.translate_error(exc) from exc

    async def read(self, body: Callable[[Any], Awaitable[T]]) -> T:
        """``await body(db)`` whole on the next reader's thread: one trip from the loop
        however many reads it makes, in one read transaction (they see one snapshot). The
        body may await only the reads of the ``db`` it is given (www/db/sqlite_reader.py);
        a write there fails. In this task's transaction, run here, seeing its writes."""
        if self._active_transaction() is not None:
            return await body(self)
        job = read_job(self.dialect, body, self.reads.scoped_by)
        value, statements, scoped = await self._reader().run(job, "read()")
        for sql, table in statements:
            self.reads.note(sql, table)
        if scoped:
            self.reads.note_scopes(scoped)
        return value

    def _reader(self) -> SQLiteReader:
        """The reader whose turn it is: reads take turns, whoever makes them."""
        if not self._readers:
            raise DatabaseError("the database is not open")
        self._turn = (self._turn + 1) % len(self._readers)
        return self._readers[self._turn]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        """Run one write: in this task's transaction if any, else as its own transaction."""
        tx = self._active_transaction()
        if tx is not None:
            return await tx.execute(sql, params)
        writer = self._connection()  # one job: it never lands inside a transaction
        job = writer.run(lambda conn: _result(conn.execute(sql, params)), sql)
        return await translated(self.dialect, job)

    async def write(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """``await body(tx)`` in a transaction of its own, run whole on the writer's thread:
        BEGIN, the body's statements and COMMIT never wait for this event loop, so writes
        stay fast however busy it is. In this task's transaction, a savepoint of it instead
        (run here). See base.BaseDatabase.write, and www/db/sqlite_body.py for what a body
        must not do (anything bound to this loop: it fails loudly).

        Cancelled while it waits for the writer, the body never runs; while it runs, it
        stops at its next statement and rolls back, unless its COMMIT has begun. A
        committed body's after-commit callbacks run here, even if the caller was cancelled."""
        if self._active_transaction() is not None:
            return await super().write(body)
        writer = self._connection()
        job = body_job(self, writer, body)
        job.orphaned = _callbacks_when_committed
        try:  # awaited directly (no shield): one turn of a busy loop less per write
            value, callbacks = await job.future
        except asyncio.CancelledError:
            writer.cancel(job)  # dropped if still queued; else it stops before COMMIT
            raise
        await run_callbacks(callbacks)
        return value


def _callbacks_when_committed(outcome: Any) -> None:
    """A write() whose caller was cancelled may still commit: announce what it saved."""
    if outcome.callbacks:
        background(run_callbacks(outcome.callbacks))
