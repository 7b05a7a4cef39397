"""The database: one SQLite writer connection, a few readers, and explicit transactions.

Tasks sharing a connection would interleave their transactions. So every write runs on ONE
writer connection, held by one task (``_write_lock``) from ``BEGIN IMMEDIATE`` to ``COMMIT``
or ``ROLLBACK``; reads take turns on read-only connections, which in WAL mode never see
uncommitted data nor wait for the writer.

    async with Database(path) as db:  # or Database.from_url(url, root)
        rows = await db.fetchall("SELECT ...", params)  # also fetchone, execute, executemany
        async with db.transaction() as tx:  # nested (or re-entered): a SAVEPOINT
            await tx.execute("INSERT ...", params)

www.orm uses only those four methods and ``dialect``: what differs between engines lives
there, so PostgreSQL can arrive as a new dialect and connection class.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import aiosqlite

log = logging.getLogger(__name__)
_background: set[asyncio.Task] = set()  # strong references to clean-up tasks while they run


class DatabaseError(Exception):
    """A database operation failed; driver errors are translated to this."""


class IntegrityError(DatabaseError):
    """A constraint was violated: a duplicate unique value, a dangling foreign key..."""


class ExecResult(NamedTuple):
    rowcount: int
    lastrowid: int | None


class SQLiteDialect:
    """Everything the ORM and the Database need to know that is specific to SQLite."""

    name = "sqlite"
    driver_error = sqlite3.Error  # what translate_error() is given
    no_limit = -1  # SQLite only accepts OFFSET after a LIMIT; -1 means "no limit"
    like = "LIKE"  # already case-insensitive for ASCII in SQLite (PostgreSQL: ILIKE)
    types: ClassVar[dict[str, str]] = dict(
        integer="INTEGER", float="REAL", text="TEXT", boolean="INTEGER", datetime="TEXT"
    )

    def placeholder(self, position: int) -> str:
        """The marker of the ``position``-th parameter, from 1 (PostgreSQL would say $1)."""
        return "?"

    def placeholders(self, first: int, count: int) -> str:
        return ", ".join("?" * count)

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def translate_error(self, exc: Exception) -> DatabaseError:
        """IntegrityError("UNIQUE constraint failed: users.email"), or DatabaseError."""
        error = IntegrityError if isinstance(exc, sqlite3.IntegrityError) else DatabaseError
        return error(str(exc))

    def create_table_sql(self, table: str, fields: Iterable[Any]) -> list[str]:
        """CREATE TABLE and CREATE INDEX statements, IF NOT EXISTS, for orm.Field objects
        (duck-typed: db.py imports no ORM)."""
        columns, indexes, q = [], [], self.quote
        for f in fields:
            column = f"{q(f.name)} {self.types[f.kind]}"
            if f.primary_key:  # AUTOINCREMENT: ids of deleted rows are never reused
                column += " PRIMARY KEY AUTOINCREMENT"
            column += "" if f.null or f.primary_key else " NOT NULL"
            column += " UNIQUE" if f.unique and not f.primary_key else ""
            column += " COLLATE NOCASE" if f.nocase else ""  # ASCII case folding
            if f.references:
                column += f" REFERENCES {q(f.references[0])} ({q(f.references[1])})"
                column += f" ON DELETE {f.on_delete}"
            columns.append(column)
            if f.index and not (f.unique or f.primary_key):
                index = q(f"ix_{table}_{f.name}")
                indexes.append(f"CREATE INDEX IF NOT EXISTS {index} ON {q(table)} ({q(f.name)})")
        columns_sql = ",\n  ".join(columns)
        return [f"CREATE TABLE IF NOT EXISTS {q(table)} (\n  {columns_sql}\n)", *indexes]

    def drop_table_sql(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.quote(table)}"


async def _translated(dialect: SQLiteDialect, call: Awaitable[Any]) -> Any:
    try:
        return await call
    except dialect.driver_error as exc:
        raise dialect.translate_error(exc) from exc


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


class _Executor:
    """The read methods Database and Transaction share."""

    dialect: SQLiteDialect
    _reader: Callable[[], aiosqlite.Connection]  # the connection for the next read

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return await _translated(self.dialect, self._reader().execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


class Transaction(_Executor):
    """A transaction on the writer connection, or a SAVEPOINT when nested.

    ``async with db.transaction() as tx:`` commits at the end of the block and rolls back on
    any exception, cancellation included. It belongs to the task that entered it: other
    tasks, even ones started inside the block, queue for the writer instead of joining it
    (pass ``tx`` explicitly if you must). On Python 3.11 ``asyncio.wait_for`` runs its
    coroutine in a new task: prefer ``asyncio.timeout`` inside a transaction.
    """

    def __init__(self, db: Database, parent: Transaction | None = None):
        self.dialect, self._db, self._parent = db.dialect, db, parent
        self._savepoint = f"sp{id(self)}"  # used when nested
        self._conn: aiosqlite.Connection | None = None  # set once entered
        self._task: asyncio.Task | None = None  # the task it belongs to, while active
        self._token: contextvars.Token | None = None

    def transaction(self) -> Transaction:
        """A nested transaction: a SAVEPOINT inside this one."""
        return Transaction(self._db, parent=self)

    async def __aenter__(self) -> Transaction:
        if self._conn is not None:
            raise DatabaseError("a transaction can only be entered once")
        self._conn = (self._parent or self._db)._connection()
        if self._parent is None:
            await self._db._write_lock.acquire()
            try:
                await self._run("BEGIN IMMEDIATE")
            except BaseException:
                await self._recover()
                raise
        else:  # if this or the exit fails, the enclosing block's ROLLBACK undoes it too
            await self._run(f"SAVEPOINT {self._savepoint}")
        self._task, self._token = asyncio.current_task(), self._db._current_tx.set(self)
        return self

    async def __aexit__(self, exc_type: Any, *exc_info: Any) -> None:
        self._task = None
        self._db._current_tx.reset(self._token)
        if self._parent is None:
            await self._finish(commit=exc_type is None)
        else:
            if exc_type is not None:
                await self._run(f"ROLLBACK TO SAVEPOINT {self._savepoint}")
            await self._run(f"RELEASE SAVEPOINT {self._savepoint}")

    async def _finish(self, *, commit: bool) -> None:
        try:
            await self._run("COMMIT" if commit else "ROLLBACK")
        except BaseException as exc:
            await self._recover()
            if commit or not isinstance(exc, Exception):
                raise
            log.exception("ROLLBACK failed")  # not raised over the error that brought us here
        else:
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
            except Exception:
                log.exception("could not roll back an interrupted transaction")
            finally:
                self._db._write_lock.release()

        task = asyncio.get_running_loop().create_task(recover(self._conn))
        _background.add(task)
        task.add_done_callback(_background.discard)
        await asyncio.shield(task)

    async def _run(self, sql: str) -> None:
        await _translated(self.dialect, self._connection(active=False).execute(sql))

    def _connection(self, *, active: bool = True) -> aiosqlite.Connection:
        """The writer connection, if the database is still open (and this transaction active)."""
        if active and self._task is None:
            raise DatabaseError("the transaction is not active (not entered, or already finished)")
        if self._db._writer is not self._conn:
            raise DatabaseError("the database was closed during the transaction")
        return self._conn

    _reader = _connection

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        cursor = await _translated(self.dialect, self._connection().execute(sql, params))
        return ExecResult(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        cursor = await _translated(self.dialect, self._connection().executemany(sql, rows))
        return ExecResult(cursor.rowcount, None)


class Database(_Executor):
    """A SQLite database file: one writer connection, ``readers`` reader connections."""

    def __init__(self, path: str | Path, *, readers: int = 2, busy_timeout_ms: int = 5000):
        if readers < 1:
            raise ValueError("readers must be at least 1")
        self.path, self.readers, self.busy_timeout_ms = Path(path), readers, busy_timeout_ms
        self.dialect = SQLiteDialect()
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._turn = 0  # the reader that takes the next read
        self._write_lock = asyncio.Lock()
        self._current_tx: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
            f"current_tx_{id(self)}", default=None
        )

    @classmethod
    def from_url(cls, url: str, root: Path, **kwargs: Any) -> Database:
        """``sqlite:///relative/path.db`` (relative to ``root``) or ``sqlite:////abs/path.db``."""
        prefix = "sqlite:///"
        if not url.startswith(prefix):
            scheme = f" scheme {url.split('://')[0]!r}" if "://" in url else ""  # no credentials
            raise ValueError(
                f"unsupported database URL{scheme}: "
                "expected sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        path = url[len(prefix) :]
        if not path or path == ":memory:" or path.endswith("/"):
            raise ValueError(f"database URL {url!r} must name a database file")
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

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def ping(self) -> bool:
        """True if a reader answers ``SELECT 1``. Never raises (except on cancellation)."""
        try:
            return await self.fetchall("SELECT 1") == [(1,)]
        except Exception:
            return False

    async def data_version(self) -> int:
        """A number that changes with every commit, by any connection or process; SQLite keeps
        it per connection, so it is always asked of the same reader (see www/cache.py)."""
        if not self._readers:
            raise DatabaseError("the database is not open")
        return (await self._readers[0].execute_fetchall("PRAGMA data_version"))[0][0]

    def transaction(self) -> Transaction:
        """A new transaction, or a savepoint if this task is already inside one."""
        current = self._active_transaction()
        return current.transaction() if current else Transaction(self)

    def _active_transaction(self) -> Transaction | None:
        tx = self._current_tx.get()  # tasks inherit it: check it is this task's own
        return tx if tx is not None and tx._task is asyncio.current_task() else None

    def _connection(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise DatabaseError("the database is not open")
        return self._writer

    def _reader(self) -> aiosqlite.Connection:
        """This task's transaction, which sees its own writes, or the next reader's turn."""
        tx = self._active_transaction()
        if tx is not None:
            return tx._connection()
        if not self._readers:
            raise DatabaseError("the database is not open")
        self._turn = (self._turn + 1) % len(self._readers)
        return self._readers[self._turn]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        """Run one write: in this task's transaction if any, else as its own transaction."""
        tx = self._active_transaction()
        if tx is not None:
            return await tx.execute(sql, params)
        async with self._write_lock:  # or it could land inside another task's transaction
            cursor = await _translated(self.dialect, self._connection().execute(sql, params))
        return ExecResult(cursor.rowcount, cursor.lastrowid)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        """Run a write for every row, all in one transaction."""
        async with self.transaction() as tx:
            return await tx.executemany(sql, rows)

    async def create_all(self, models: Iterable[Any]) -> None:
        """Create the tables and indexes of ``models`` (in dependency order), IF NOT EXISTS."""
        async with self.transaction() as tx:
            for model in models:
                for sql in self.dialect.create_table_sql(model._meta.table, model._meta.fields):
                    await tx.execute(sql)

    async def drop_all(self, models: Iterable[Any]) -> None:
        """Drop the tables of ``models`` (given in dependency order; dropped in reverse)."""
        async with self.transaction() as tx:
            for model in reversed(list(models)):
                await tx.execute(self.dialect.drop_table_sql(model._meta.table))
