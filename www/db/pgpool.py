"""A pool of asyncpg connections that costs no turn of the event loop to take or give back.

Why not asyncpg's own Pool: it gives a connection back through ``asyncio.shield(...)``, a
task of its own per release, and arms and cancels an inactivity timer per use. A read by
id outside a transaction then took five turns of the event loop where the driver alone
takes two, and about 1.7 times the raw driver's time (benchmarks/orm.py). Here taking an
idle connection and giving one back are plain code that never waits: only opening a
connection, or waiting while all ``size`` are taken, does.

The rules (tests/test_db_pgpool.py proves each, without a server):

- At most ``size`` connections, opened when needed; ``open()`` opens the first, so a wrong
  URL fails at start-up. The most recently used idle connection is taken first, which
  keeps the others idle long enough to be closed after ``idle_timeout`` seconds (all but
  one; 0 keeps them open).
- Waiters are served in arrival order. A connection given back goes straight to the first
  waiter. When a connection closes (the server went away, ``pg_terminate_backend``), or
  one fails to open, its room goes to the first waiter, reserved for it: it opens one.
- Nothing is lost to cancellation: a waiter cancelled just as a connection or a room was
  handed to it passes it on to the next.
- A connection given back in the middle of a transaction is closed, not reused, and
  reported to the loop's exception handler (www/db/postgres.py rolls back first, so this
  is a bug's symptom). A closed connection is dropped and its room handed on.
- ``close()`` fails the waiters and closes every connection; ``terminate()`` cuts them.

Unlike asyncpg's Pool it hands out the connections themselves, not proxies: the caller
(www/db/postgres.py) never uses one after giving it back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from time import monotonic  # when a connection went idle: the idle timeout's clock

import asyncpg


class ConnectionPool:
    """At most ``size`` connections made by ``connect()``; see the module's docstring."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        size: int,
        *,
        idle_timeout: float = 300.0,
    ):
        if size < 1:
            raise ValueError("size must be at least 1")
        self._connect, self._size, self._idle_timeout = connect, size, idle_timeout
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # a stack of (conn, idle since)
        self._taken: set[asyncpg.Connection] = set()  # handed out, to a holder or a waiter
        self._opening = 0  # being opened, or a room reserved for a waiter
        self._waiters: deque[asyncio.Future] = deque()  # each is given a connection, or None
        self._closing = False
        self._trim_timer: asyncio.TimerHandle | None = None

    async def open(self) -> None:
        """Open the first connection: a wrong URL or password fails here."""
        self._give_back(await self._open_one(reserved=False))
        if self._idle_timeout:
            self._schedule_trim()

    def get_size(self) -> int:
        return len(self._taken) + len(self._idle)

    def get_idle_size(self) -> int:
        return len(self._idle)

    def get_max_size(self) -> int:
        return self._size

    def is_closing(self) -> bool:
        return self._closing

    async def acquire(self) -> asyncpg.Connection:
        """An idle connection (no wait), else a new one while fewer than ``size`` are
        open, else the next one given back."""
        conn = self.take_idle()
        if conn is not None:
            return conn
        if self.get_size() + self._opening < self._size:
            return await self._open_one(reserved=False)
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn = await waiter
        except asyncio.CancelledError:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._pass_on(waiter.result())  # handed to us as we were cancelled
            raise
        return conn if conn is not None else await self._open_one(reserved=True)

    def take_idle(self) -> asyncpg.Connection | None:
        """An idle connection, or None: acquire() without a coroutine, for the common case
        (a read by id pays for each layer it goes through)."""
        if self._closing:
            self._check_open()  # raises
        idle = self._idle
        while idle:
            conn = idle.pop()[0]
            if not conn.is_closed():  # else closed while idle: dropped, its room is ours
                self._taken.add(conn)
                return conn
        return None

    async def release(self, conn: asyncpg.Connection) -> None:
        """Give ``conn`` back (give_back); a coroutine, as asyncpg's Pool.release is."""
        self._give_back(conn)

    def give_back(self, conn: asyncpg.Connection) -> None:
        """Give ``conn`` back: to the first waiter, else to the idle ones. Never waits."""
        self._give_back(conn)

    async def _open_one(self, *, reserved: bool) -> asyncpg.Connection:
        """Open a connection in a room counted in ``_opening``: by the caller's own check,
        or ``reserved`` for it by ``_hand_room``. A failure hands the room on."""
        if not reserved:
            self._opening += 1
        try:
            self._check_open()
            conn = await self._connect()
        except BaseException:
            self._opening -= 1
            self._hand_room()
            raise
        self._opening -= 1
        if self._closing:
            conn.terminate()
            self._check_open()
        self._taken.add(conn)
        return conn

    def give_back_clean(self, conn: asyncpg.Connection) -> None:
        """give_back() for a connection its holder has just seen out of any transaction:
        the common case, with nothing asked twice (a read by id pays for every call)."""
        if self._waiters or self._closing or conn.is_closed() or conn not in self._taken:
            self._give_back(conn)
        else:
            self._taken.discard(conn)
            self._idle.append((conn, monotonic()))

    def _give_back(self, conn: asyncpg.Connection) -> None:
        if conn not in self._taken:
            return  # given back twice, or cut by close() or terminate()
        closed = conn.is_closed()  # a closed connection has no transaction to ask about
        if self._closing or closed or conn.is_in_transaction():
            if not closed and not self._closing and conn.is_in_transaction():
                asyncio.get_running_loop().call_exception_handler(
                    {"message": f"a connection came back to its pool in a transaction: {conn!r}"}
                )
            self._taken.discard(conn)
            conn.terminate()
            self._hand_room()
            return
        if not self._wake(conn):  # else it stays taken, by the waiter now
            self._taken.discard(conn)
            self._idle.append((conn, monotonic()))

    def _pass_on(self, handed: asyncpg.Connection | None) -> None:
        """What a cancelled waiter was given, to the next: a connection, or its room."""
        if handed is not None:
            self._give_back(handed)
        else:
            self._opening -= 1
            self._hand_room()

    def _hand_room(self) -> None:
        """A room for one more connection: reserved for the first waiter, who opens it."""
        if not self._closing and self._wake(None):
            self._opening += 1

    def _wake(self, handed: asyncpg.Connection | None) -> bool:
        """Hand a connection (or None: "open one") to the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(handed)
                return True
        return False

    def _schedule_trim(self) -> None:
        loop = asyncio.get_running_loop()
        self._trim_timer = loop.call_later(self._idle_timeout / 2, self._trim)

    def _trim(self) -> None:
        """Close the connections idle for ``idle_timeout`` seconds, all but one: the
        bottom of the stack, least recently used. One timer for the pool, not one per use."""
        deadline = monotonic() - self._idle_timeout
        while self.get_size() > 1 and self._idle and self._idle[0][1] <= deadline:
            conn = self._idle.pop(0)[0]
            conn.terminate()  # idle: nothing to finish
        self._schedule_trim()

    def _check_open(self) -> None:
        if self._closing:
            raise asyncpg.InterfaceError("pool is closing")

    def _shut(self) -> list[asyncpg.Connection]:
        """Stop handing out connections; the ones to close."""
        self._closing = True
        if self._trim_timer is not None:
            self._trim_timer.cancel()
        conns = [*self._taken, *(conn for conn, _ in self._idle)]
        self._taken.clear()
        self._idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("pool is closing"))
        return conns

    async def close(self) -> None:
        """Close every connection, politely (the caller uses terminate() while some are
        taken: www/db/postgres.py compares ``get_idle_size()`` with ``get_size()``)."""
        for conn in self._shut():
            try:
                await conn.close(timeout=5)
            except Exception:
                conn.terminate()

    def terminate(self) -> None:
        """Cut every connection at once: the server rolls back their transactions."""
        for conn in self._shut():
            conn.terminate()
