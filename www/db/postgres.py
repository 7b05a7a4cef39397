"""PostgreSQL through asyncpg: a pool of connections, the same ORM, models and transactions.

Every statement and transaction takes a connection from a pool and gives it back when done
(www/db/pgpool.py: our own pool, which takes and gives back without a turn of the event
loop, where asyncpg's costs three per statement): single statements and explicit
transactions from the app's loop (``pool_size``), read() and write() bodies whole on a
thread of their own (``body_pool_size``: www/db/pgbodies.py says why). The transaction
rules are www/db/base.py's, as for SQLite (www/db/pgtransactions.py); here a transaction
holds its own connection from BEGIN to COMMIT, so other tasks' writes run beside it
(PostgreSQL locks rows, not the database) instead of queueing for one writer.

A connection goes back to the pool only outside a transaction: after an error or a
cancellation it is rolled back first, in a task that cancelling the caller cannot stop,
and closed if even that fails (``_release``).

What the ORM sees is what it sees on SQLite (``PostgresDialect``): datetimes are written as
the same UTC ISO text (or aware datetimes) and read back as aware UTC datetimes, text
compares and sorts byte by byte (``COLLATE "C"``) and ``nocase`` folds ASCII letters only,
as SQLite's NOCASE and LIKE do.
"""

from __future__ import annotations

import contextlib
import logging
from asyncio import current_task, get_running_loop
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from .base import (
    BaseDatabase,
    DatabaseError,
    ExecResult,
    Transaction,
    run_callbacks,
    run_to_completion,
)
from .dialects import DATA_VERSION, PostgresDialect
from .pgbodies import BodyThread
from .pgpool import ConnectionPool
from .pgtransactions import PostgresReadTransaction, PostgresTransaction, execute_one

log = logging.getLogger(__name__)
T = TypeVar("T")
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL counts microseconds from here


def _timestamp_to_pg(value: str | datetime) -> tuple[int]:
    """The ORM's UTC ISO text (or an aware datetime: from raw SQL, or insert_many's UTC
    datetimes, PostgresDialect.binds_datetimes) as asyncpg's tuple."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    delta = moment - _EPOCH  # a naive datetime raises: asyncpg reports a bad parameter
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds,)


def _timestamp_from_pg(value: tuple[int], _epoch=_EPOCH, _delta=timedelta) -> datetime:
    """A timestamptz as an aware UTC datetime: what the ORM loads (DateTimeField takes it
    as it is), with no text in between. Every timestamp of every row read comes through
    here, in Python: one addition, where formatting the ORM's text and parsing it back took
    most of a page of 20 posts' overhead over the raw driver (benchmarks/orm.py)."""
    return _epoch + _delta(0, 0, value[0])


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=_timestamp_to_pg,
        decoder=_timestamp_from_pg,
        format="tuple",
    )


def _gone(conn: Any) -> bool:
    """Whether a pool connection was closed (a call on an asyncpg connection that was
    detached from its pool raises InterfaceError: counted as closed too)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    credentials, at, hosts = parts.netloc.rpartition("@")
    return f"{parts.scheme}://{credentials.partition(':')[0]}{at}{hosts}{parts.path}"


class PostgresDatabase(BaseDatabase):
    """A PostgreSQL database: at most ``pool_size`` + ``body_pool_size`` connections per
    process.

    ``busy_timeout_ms`` becomes the server's ``lock_timeout``: how long a statement waits
    for a lock another connection holds before failing, as SQLite's busy timeout does.
    Query parameters of the URL other than libpq's (``sslmode``...) are server settings,
    e.g. ``?search_path=blog``.
    """

    url_prefix = "postgresql://"
    transaction_class = PostgresTransaction
    OPTIONS = (
        "pool_size",
        "body_pool_size",
        "pool_idle_timeout",
        "busy_timeout_ms",
        "connect_timeout",
    )

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        body_pool_size: int = 10,
        pool_idle_timeout: float = 300.0,
        busy_timeout_ms: int = 5000,
        connect_timeout: float = 10.0,
    ):
        if pool_size < 1 or body_pool_size < 1:
            raise ValueError("pool_size and body_pool_size must be at least 1")
        super().__init__()
        self.url, self.location = url, _without_password(url)
        self.pool_size, self.busy_timeout_ms = pool_size, busy_timeout_ms
        self.body_pool_size = body_pool_size
        self.pool_idle_timeout = pool_idle_timeout
        self.connect_timeout = connect_timeout
        self.dialect = PostgresDialect()
        self._pool: ConnectionPool | None = None
        self._bodies: BodyThread | None = None  # read() and write() bodies run there
        self._held: set[Any] = set()  # the connections of open transactions

    @classmethod
    def from_options(cls, url: str, root: Path, options: dict[str, Any]) -> PostgresDatabase:
        """Of the ``db`` settings, PostgreSQL uses ``pool_size``, ``body_pool_size``,
        ``pool_idle_timeout``, ``busy_timeout_ms`` and ``connect_timeout``."""
        return cls(url, **{k: v for k, v in options.items() if k in cls.OPTIONS})

    async def open(self) -> None:
        """Create the pools (this loop's, and the bodies' thread with its own: see
        www/db/pgbodies.py), each with one connection made now: a wrong URL fails here."""
        if self._pool is not None:
            raise DatabaseError("the database is already open")
        pool = ConnectionPool(
            self._new_connection, self.pool_size, idle_timeout=self.pool_idle_timeout
        )
        bodies = BodyThread(
            lambda: ConnectionPool(
                self._new_connection, self.body_pool_size, idle_timeout=self.pool_idle_timeout
            )
        )
        try:
            await pool.open()
            self._pool = pool
            await bodies.open()
            self._bodies = bodies
        except (OSError, TimeoutError, *PostgresDialect.driver_error) as exc:
            await self.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__  # on one line
            raise DatabaseError(f"cannot open database {self.location!r}: {reason}") from exc

    async def _new_connection(self) -> asyncpg.Connection:
        """A connection for the pool: the server's lock timeout, the ORM's timestamps."""
        conn = await asyncpg.connect(
            self.url,
            timeout=self.connect_timeout,
            server_settings={"lock_timeout": str(self.busy_timeout_ms)},
        )
        try:
            await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def connect(self, application_name: str) -> asyncpg.Connection:
        """A connection of its own, outside the pool, for a task that keeps one (a LISTEN);
        the caller closes it. Its name shows in the server's pg_stat_activity."""
        settings = {"lock_timeout": str(self.busy_timeout_ms), "application_name": application_name}
        return await asyncpg.connect(
            self.url, timeout=self.connect_timeout, server_settings=settings
        )

    async def close(self) -> None:
        """Close every connection. Safe to call twice. A connection still in use (a
        transaction that outlived the app's shutdown) is cut: the server rolls it back."""
        bodies, self._bodies = self._bodies, None
        if bodies is not None:
            await bodies.close()
        pool, self._pool = self._pool, None
        self._held.clear()
        if pool is None:
            return
        if pool.get_idle_size() < pool.get_size():
            pool.terminate()
        else:
            await pool.close()

    async def data_version(self) -> int:
        """A number that changes with every commit that changed a table of create_all, by
        any connection or process (see www/cache.py): the counter of one row that the
        tables' triggers bump, read in one cheap query.

        It moves in the same transaction as the data, so a reader that sees the new number
        also sees the new rows. A sequence (nextval) would be wrong: it moves at once and is
        never rolled back, so another process could read the new number before the
        transaction commits, cache the old rows under it, and serve them until the next
        write."""
        return (await self.fetchone(f"SELECT version FROM {DATA_VERSION}"))[0]

    def _pool_here(self) -> ConnectionPool:
        """The pool of the loop the caller runs on: this loop's, or the bodies' thread's
        for what a body runs (a pool's connections belong to its loop)."""
        pool, bodies = self._pool, self._bodies  # not bodies.here(): every statement is here
        if bodies is not None and bodies.loop is get_running_loop():
            pool = bodies.pool
        if pool is None:
            raise DatabaseError("the database is not open")
        return pool

    async def _acquire(self) -> tuple[ConnectionPool, Any]:
        """A connection of the pool here (_pool_here)."""
        pool = self._pool_here()
        return pool, pool.take_idle() or await pool.acquire()

    async def _release(self, pool: ConnectionPool, conn: Any, *, clean: bool) -> None:
        """Give ``conn`` back to ``pool``, never in the middle of a transaction. Unless the
        last statement ended cleanly its state is unknown (an error, a cancelled statement):
        it is rolled back first (asyncpg waits for the cancelled statement to stop before
        the ROLLBACK), and closed if even that fails. Run it with run_to_completion."""
        self._held.discard(conn)
        if not clean and not _gone(conn):
            try:
                await conn.execute("ROLLBACK")  # no transaction open: a harmless notice
            except Exception:
                if not _gone(conn):
                    log.warning("could not roll back a connection; closing it", exc_info=True)
                    conn.terminate()
        if not pool.is_closing():
            await pool.release(conn)

    @contextlib.asynccontextmanager
    async def _pooled(self) -> AsyncIterator[Any]:
        """A connection of the pool for one statement outside any transaction."""
        pool, conn = await self._acquire()
        clean = False
        try:
            yield conn
            clean = not conn.is_in_transaction()  # raw SQL may have said BEGIN
        finally:
            await self._put_back(pool, conn, clean=clean)

    async def _put_back(self, pool: ConnectionPool, conn: Any, *, clean: bool) -> None:
        """After one statement outside any transaction: straight back to the pool if it
        ended cleanly, else through ``_release`` (rolled back, or closed)."""
        if clean:
            pool.give_back_clean(conn)
        else:
            await run_to_completion(self._release(pool, conn, clean=False))

    def _holds(self, conn: Any) -> bool:
        return conn in self._held

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list:
        """In this task's transaction, which sees its own writes, or on a pool connection."""
        self.reads.note(sql)  # which tables a cached page depends on (db/reads.py)
        tx = self._current_tx.get()  # _active_transaction(), written out (see below)
        if tx is not None and tx._task is current_task():
            return await tx.fetchall(sql, params)
        # What _pooled() and translated() do, written out, with no coroutine to take or
        # give back an idle connection: every read outside a transaction runs this, and
        # each layer (each call, even) costs a read by id its share of the ORM's few µs
        # over the raw driver's ~30 (benchmarks/orm.py).
        pool = self._pool_here()
        conn = pool.take_idle() or await pool.acquire()
        clean = False
        try:
            rows = await conn.fetch(sql, *params)
            clean = not conn.is_in_transaction()  # raw SQL may have said BEGIN
            return rows
        except self.dialect.driver_error as exc:
            raise self.dialect.translate_error(exc) from exc
        finally:
            if clean:
                pool.give_back_clean(conn)
            else:
                await run_to_completion(self._release(pool, conn, clean=False))

    async def read(self, body: Callable[[Any], Awaitable[T]]) -> T:
        """``await body(db)`` whole on the bodies' thread (www/db/pgbodies.py), in a
        read-only transaction on one connection: its reads see one snapshot, and a busy
        pool is waited for once, not once a query. In this task's transaction, run here,
        in it, seeing its writes."""
        if self._active_transaction() is not None or self._bodies_here():
            return await self._read_here(body)
        return await self._body_thread().run(lambda: self._read_here(body))

    async def write(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        """``await body(tx)`` in a transaction of its own, run whole on the bodies' thread
        (www/db/pgbodies.py): BEGIN, the body's statements and COMMIT never wait for this
        event loop, so writes stay fast however busy it is. Its after-commit callbacks
        run here, once it has committed (dropped if the caller is cancelled meanwhile, as
        an explicit transaction's are). In this task's transaction, a savepoint of it
        (run here). See base.BaseDatabase.write."""
        if self._active_transaction() is not None or self._bodies_here():
            return await super().write(body)
        value, callbacks = await self._body_thread().run(lambda: self._write_there(body))
        await run_callbacks(callbacks)
        return value

    async def _write_there(self, body: Callable[[Transaction], Awaitable[T]]) -> tuple:
        tx = self.transaction_class(self)
        tx._handed = []
        async with tx:
            value = await body(tx)
        return value, tx._handed

    def _bodies_here(self) -> bool:
        return self._bodies is not None and self._bodies.here()

    def _body_thread(self) -> BodyThread:
        if self._bodies is None:
            raise DatabaseError("the database is not open")
        return self._bodies

    async def _read_here(self, body: Callable[[Any], Awaitable[T]]) -> T:
        if self._active_transaction() is not None:
            return await body(self)
        async with PostgresReadTransaction(self) as tx:
            value = await body(tx)
            if tx.scopes:
                self.reads.note_scopes(await tx.scope_versions())
            return value

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> ExecResult:
        """Run one write: in this task's transaction if any, else as its own transaction."""
        tx = self._active_transaction()
        if tx is not None:
            return await tx.execute(sql, params)
        async with self._pooled() as conn:
            return await execute_one(self.dialect, conn, sql, params)
