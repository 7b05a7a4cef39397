"""A pool of asyncpg connections that costs no event-loop round trip to take or give back.

asyncpg's own Pool gives a connection back through ``asyncio.shield(...)``: a task of its
own per release, and three more turns of the event loop (each an epoll call) on every
statement outside a transaction. A read by id then took 5 loop turns where the driver
alone takes 2, and measured about 1.8 times the raw driver's time (benchmarks/orm.py).
Here taking an idle connection and giving one back are plain code that never waits:
only opening a connection, or waiting while all ``size`` are taken, does.

What it keeps of asyncpg's Pool, for www/db/postgres.py: at most ``size`` connections,
opened when needed (one at ``open()``, so a wrong URL fails there), the most recently used
first; a connection found closed (the server went away, ``pg_terminate_backend``) is
dropped and replaced on demand; waiters are served in order, and one cancelled while a
connection was being handed to it passes it on. A connection given back in the middle
of a transaction is reported to the loop's exception handler, as asyncpg reports it, and
closed rather than reused (www/db/postgres.py rolls back before giving one back, so
this is a bug's symptom). Unlike asyncpg's Pool it hands out the connections themselves
(no proxy), and keeps idle connections open until ``close()``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg


class ConnectionPool:
    """At most ``size`` connections made by ``connect()``; see the module's docstring."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], size: int):
        self._connect, self._size = connect, size
        self._idle: list[asyncpg.Connection] = []  # a stack: the warmest on top
        self._conns: set[asyncpg.Connection] = set()  # every open one, idle or taken
        self._opening = 0  # connections being opened
        self._waiters: deque[asyncio.Future] = deque()  # each gets a connection, or None
        self._closing = False

    async def open(self) -> None:
        self._give_back(await self._new())

    def get_size(self) -> int:
        return len(self._conns)

    def get_idle_size(self) -> int:
        return len(self._idle)

    def get_max_size(self) -> int:
        return self._size

    def is_closing(self) -> bool:
        return self._closing

    async def acquire(self) -> asyncpg.Connection:
        """An idle connection (no wait), else a new one while fewer than ``size`` are
        open, else the next one given back."""
        while True:
            self._check_open()
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._conns.discard(conn)
            if len(self._conns) + self._opening < self._size:
                return await self._new()
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                conn = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._give_back(waiter.result())  # handed over as we were cancelled
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if conn is not None:
                return conn
            # None: a connection was dropped, there is room for a new one: loop again

    async def _new(self) -> asyncpg.Connection:
        self._opening += 1
        try:
            conn = await self._connect()
        finally:
            self._opening -= 1
        if self._closing:
            conn.terminate()
            self._check_open()
        self._conns.add(conn)
        return conn

    def _check_open(self) -> None:
        if self._closing:
            raise asyncpg.InterfaceError("pool is closing")

    async def release(self, conn: asyncpg.Connection) -> None:
        """Give ``conn`` back: to the first waiter, else to the idle ones. Never waits
        (a coroutine, as asyncpg's Pool.release is)."""
        self._give_back(conn)

    def _give_back(self, conn: asyncpg.Connection) -> None:
        if conn not in self._conns:
            return  # terminated by close(), or given back twice
        closed = conn.is_closed()  # a closed connection has no transaction state to ask
        if self._closing or closed or conn.is_in_transaction():
            if not closed and conn.is_in_transaction():
                asyncio.get_running_loop().call_exception_handler(
                    {"message": f"a connection came back to its pool in a transaction: {conn!r}"}
                )
            self._conns.discard(conn)
            conn.terminate()
            self._wake(None)  # room for a new connection
            return
        if not self._wake(conn):
            self._idle.append(conn)

    def _wake(self, conn: asyncpg.Connection | None) -> bool:
        """Hand ``conn`` (or None: "open one") to the first waiter still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    async def close(self) -> None:
        """Close every idle connection, and terminate the taken ones (callers check
        ``get_idle_size() < get_size()`` first to choose terminate())."""
        self._closing = True
        conns, self._idle = list(self._conns), []
        self._conns.clear()
        self._fail_waiters()
        for conn in conns:
            try:
                await conn.close(timeout=5)
            except Exception:
                conn.terminate()

    def terminate(self) -> None:
        """Cut every connection at once: the server rolls back their transactions."""
        self._closing = True
        conns, self._idle = list(self._conns), []
        self._conns.clear()
        self._fail_waiters()
        for conn in conns:
            conn.terminate()

    def _fail_waiters(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("pool is closing"))
