"""What every engine shares: the errors, the transaction rules, and picking an engine by URL.

An engine (www/db/sqlite.py, www/db/postgres.py) supplies its dialect, how to read and
write, and how a top-level transaction begins and ends. The rules stay here, once: who
owns a transaction, SAVEPOINTs when nested, rollback on any exception (cancellation
included), and calls on the database joining the calling task's own transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from .reads import ReadLog
from .schema import tables_of
from .versions import READ_SCOPED_SQL, READ_VERSIONS_SQL, scoped_tables

T = TypeVar("T")
log = logging.getLogger(__name__)
_background: set[asyncio.Task] = set()  # strong references to clean-up tasks while they run


class DatabaseError(Exception):
    """A database operation failed; driver errors are translated to this."""


class IntegrityError(DatabaseError):
    """A constraint was violated: a duplicate unique value, a dangling foreign key..."""


class ExecResult(NamedTuple):
    rowcount: int  # -1 when the driver cannot tell
    lastrowid: int | None


async def translated(dialect: Any, call: Awaitable[T]) -> T:
    """Await ``call``, raising the driver's errors as DatabaseError or IntegrityError."""
    try:
        return await call
    except dialect.driver_error as exc:
        raise dialect.translate_error(exc) from exc


def background(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start ``coro`` in a task that is kept (strongly referenced) until it ends."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def run_to_completion(coro: Coroutine[Any, Any, T]) -> T:
    """Run clean-up that must finish (a ROLLBACK, freeing a connection) in a task of its own:
    cancelling the caller, even twice, cannot interrupt it half-way."""
    return await asyncio.shield(background(coro))


class Transaction:
    """A transaction, or a SAVEPOINT when nested: ``async with db.transaction() as tx``.

    It commits at the end of the block and rolls back on any exception, cancellation
    included. It belongs to the task that entered it: other tasks, even ones started
    inside the block, do not join it (pass ``tx`` explicitly if you must). On Python 3.11
    ``asyncio.wait_for`` runs its coroutine in a new task: prefer ``asyncio.timeout``
    inside a transaction.

    An engine's subclass supplies ``_begin()`` (take a connection into ``_conn``, BEGIN,
    and hold nothing if that fails), ``_end(commit=...)`` (COMMIT or ROLLBACK, then let
    the connection go whatever happens), ``_run(sql)``, and ``fetchall``, ``execute``,
    ``executemany``.
    """

    def __init__(self, db: Any, parent: Transaction | None = None):
        self.dialect, self._db, self._parent = db.dialect, db, parent
        self._savepoint = f"sp{id(self)}"  # used when nested
        self._conn: Any = None  # the connection, set once entered
        self._task: asyncio.Task | None = None  # the task it belongs to, while active
        self._token: contextvars.Token | None = None
        self._after_commit: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Have ``await callback()`` run once the whole transaction has committed, by the
        task that commits it; forgotten if this transaction (or savepoint) rolls back."""
        self._after_commit.append(callback)

    def transaction(self) -> Transaction:
        """A nested transaction: a SAVEPOINT inside this one."""
        return type(self)(self._db, parent=self)

    async def __aenter__(self) -> Transaction:
        if self._conn is not None:
            raise DatabaseError("a transaction can only be entered once")
        if self._parent is None:
            await self._begin()
        else:  # if this or the exit fails, the enclosing block's ROLLBACK undoes it too
            self._conn = self._parent._connection()
            await self._run(f"SAVEPOINT {self._savepoint}")
        self._task, self._token = asyncio.current_task(), self._db._current_tx.set(self)
        return self

    async def __aexit__(self, exc_type: Any, *exc_info: Any) -> None:
        self._task = None
        self._db._current_tx.reset(self._token)
        if self._parent is None:
            await self._end(commit=exc_type is None)
            if exc_type is None:
                await self._committed(self._after_commit)
        else:
            if exc_type is not None:
                await self._run(f"ROLLBACK TO SAVEPOINT {self._savepoint}")
            await self._run(f"RELEASE SAVEPOINT {self._savepoint}")
            if exc_type is None:
                self._parent._after_commit += self._after_commit
        self._after_commit = []

    async def _committed(self, callbacks: list[Callable[[], Awaitable[None]]]) -> None:
        """Run the after-commit callbacks, now that the whole transaction has committed
        (a transaction run on another thread hands them to its caller instead)."""
        await run_callbacks(callbacks)

    def _connection(self, *, active: bool = True) -> Any:
        """The connection, if the database is still open (and this transaction active)."""
        if active and self._task is None:
            raise DatabaseError("the transaction is not active (not entered, or already finished)")
        if not self._db._holds(self._conn):
            raise DatabaseError("the database was closed during the transaction")
        return self._conn

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


async def run_callbacks(callbacks: list[Callable[[], Awaitable[None]]]) -> None:
    """Run after-commit callbacks in order. The data is committed whatever they do, so
    their errors are logged, not raised: the caller must not think its write failed."""
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("An after-commit callback failed (the transaction is committed)")


class BaseDatabase:
    """The interface www.orm and the app use, whatever the engine: ``dialect``,
    ``fetchall``, ``fetchone``, ``execute``, ``executemany``, ``transaction()``, ``write``,
    ``read``, ``create_all``/``drop_all``, ``ping``, ``data_version``, ``table_versions``,
    ``reads``, ``open``/``close``.

    An engine's subclass supplies ``url_prefix`` and ``from_options(url, root, options)``
    for from_url, ``_holds(conn)`` (does a transaction's connection still belong to this
    open database?), and ``open``, ``close``, ``fetchall``, ``execute``, ``data_version``.
    """

    dialect: Any
    location: str  # where the data is, for messages (never a password)
    transaction_class: type[Transaction]
    url_prefix: str

    def __init__(self) -> None:
        self._current_tx: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
            f"current_tx_{id(self)}", default=None
        )
        self.reads = ReadLog()  # the tables the current task reads, while recorded

    @classmethod
    def from_url(cls, url: str, root: Path, **options: Any) -> BaseDatabase:
        """The database ``url`` names, whichever class this is called on:
        ``sqlite:///relative/path.db`` (relative to ``root``), ``sqlite:////abs/path.db``,
        or ``postgresql://user:password@host:port/dbname``. ``options`` are the ``db``
        settings (readers, busy_timeout_ms, pool_size, connect_timeout): each engine takes
        those it uses."""
        from .postgres import PostgresDatabase  # the engines import this module
        from .sqlite import SQLiteDatabase

        for engine in (SQLiteDatabase, PostgresDatabase):
            if url.startswith(engine.url_prefix):
                return engine.from_options(url, root, options)
        scheme = f" scheme {url.split('://')[0]!r}" if "://" in url else ""  # no credentials
        raise ValueError(
            f"unsupported database URL{scheme}: expected sqlite:///relative/path.db, "
            "sqlite:////absolute/path.db or postgresql://user:password@host:port/dbname"
        )

    async def __aenter__(self) -> BaseDatabase:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def ping(self) -> bool:
        """True if the database answers ``SELECT 1``. Never raises (except on cancellation)."""
        try:
            return await self.fetchall("SELECT 1") == [(1,)]
        except Exception:
            return False

    async def table_versions(self, scopes: Sequence[str] = ()) -> dict[str, int]:
        """Each table's change counter (www/db/versions.py), by any connection or process,
        and the scoped counters named in `scopes`; one never changed has none (count it
        as 0). Read in one query: a reader that sees a number also sees the rows
        committed with it. Keeps `reads.scoped_by` up to date."""
        sql, params = READ_VERSIONS_SQL, ()
        if scopes:
            condition, params = self.dialect.scopes_filter(scopes)
            sql = f"{READ_VERSIONS_SQL} UNION ALL {READ_SCOPED_SQL}{condition}"
        versions = dict(await self.fetchall(sql, params))
        self.reads.scoped_by = scoped_tables(versions)
        return versions

    def transaction(self) -> Transaction:
        """A new transaction, or a savepoint if this task is already inside one."""
        current = self._active_transaction()
        return current.transaction() if current else self.transaction_class(self)

    async def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """``await callback()`` once this task's transaction commits (nothing if it rolls
        back), or now when the task is in none: to tell the world outside the database
        (another server, a mail) only about what is saved."""
        tx = self._active_transaction()
        if tx is not None:
            tx.after_commit(callback)
        else:
            await run_callbacks([callback])

    def schema_transaction(self) -> Transaction:
        """A top-level transaction for changing tables (www/migrate/). PostgreSQL changes
        them in place, within an ordinary transaction; SQLite's engine says otherwise."""
        if self._active_transaction() is not None:
            raise DatabaseError("a schema change cannot be nested in a transaction")
        return self.transaction_class(self)

    def _active_transaction(self) -> Transaction | None:
        tx = self._current_tx.get()  # tasks inherit it: check it is this task's own
        return tx if tx is not None and tx._task is asyncio.current_task() else None

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> ExecResult:
        """Run a write for every row, all in one transaction."""
        return await self.write(lambda tx: tx.executemany(sql, rows))

    async def write(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """``await body(tx)`` in a transaction of its own (a savepoint of this task's
        transaction, if it is in one), committed when it returns, rolled back if it
        raises: ``comment = await db.write(lambda tx: Comment.create(tx, ...))``.

        Keep the body short, and let it touch only the database (through ``tx`` or this
        database) and plain Python: SQLite runs it whole on its writer's thread, where
        nothing bound to the caller's event loop may be used (see SQLiteDatabase.write).
        Callbacks given to ``after_commit`` run on the caller's loop, after the COMMIT."""
        async with self.transaction() as tx:
            return await body(tx)

    async def read(self, body: Callable[[Any], Awaitable[T]]) -> T:
        """``await body(db)``: several reads as one unit, where the engine can do better
        than a call each: ``page = await db.read(lambda db: Post.select(db).paginate(1, 20))``.

        Let the body only read, through the ``db`` it is given, and do plain Python. Its
        reads see one snapshot, and a write in it fails: SQLite runs it whole on a
        reader's thread, in one trip (SQLiteDatabase.read), where awaiting anything else
        fails too; PostgreSQL in a read-only transaction on one pool connection. Here
        (an engine without its own), each read runs as it would alone."""
        return await body(self)

    def writer_summary(self) -> str:
        """One line on the writer's lock wait, for the logs. Only SQLite has one writer."""
        return f"Writer: none ({self.dialect.name}: each transaction has a connection of its own)"

    async def create_all(self, models: Iterable[Any]) -> None:
        """Create the tables and indexes of ``models`` (in dependency order), IF NOT EXISTS,
        after what the engine itself needs (``dialect.setup_sql``)."""
        async with self.transaction() as tx:
            for sql in self.dialect.setup_sql:
                await tx.execute(sql)
            for table in tables_of(models).values():
                for sql in self.dialect.create_table_sql(table, if_not_exists=True):
                    await tx.execute(sql)

    async def drop_all(self, models: Iterable[Any]) -> None:
        """Drop the tables of ``models`` (given in dependency order; dropped in reverse),
        and their full-text search (www/db/fulltext.py), which SQLite keeps apart."""
        async with self.transaction() as tx:
            for model in reversed(list(models)):
                for sql in self.dialect.drop_search_index_sql(model._meta.table):
                    await tx.execute(sql)
                await tx.execute(self.dialect.drop_table_sql(model._meta.table))
