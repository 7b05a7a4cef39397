"""PostgreSQL's read() and write() bodies, run whole on a thread of their own.

Why: an await on the database resumes only when the app's event loop comes round to it,
and under load one turn of that loop takes tens of milliseconds (it renders every page
whose answer arrived meanwhile). A page that misses the cache makes ten round trips
(BEGIN, seven queries, its scoped counters, COMMIT): ten turns, half a second under the
mixed load of benchmarks/. SQLite's engine runs a read() or write() body whole on a
thread, one turn from the loop; this does the same for PostgreSQL: a thread with an event
loop and a pool of its own (``db.body_pool_size`` connections) runs the body, whose round
trips are answered as they come, and the caller waits one turn for the result.

A body may do what it may do on SQLite (base.BaseDatabase.read and write): use the db or
tx it is given, and plain Python. Anything bound to the app's loop (a Redis client, an
aiohttp session) fails loudly there ("attached to a different loop"). It runs in a copy
of the caller's context (so the caches still learn which tables it read), and is
cancelled with its caller. Single statements and explicit transactions stay on the app's
loop and its pool: one round trip each, where a hop to this thread would add two turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .base import DatabaseError
from .pgpool import ConnectionPool
from .sqlite_thread import ConnectionThread, hand_over

T = TypeVar("T")
SHUT_TIMEOUT = 5.0  # seconds the bodies still running get to roll back at close()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (as the app's own loop is: www/__main__.py), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class BodyThread(ConnectionThread):
    """The thread, its event loop (``loop``) and its pool (``pool``), made by
    ``new_pool()`` on that loop; ``run(job)`` runs ``await job()`` there."""

    thread_name = "postgres-bodies"

    def __init__(self, new_pool: Callable[[], ConnectionPool]):
        self._new_pool = new_pool
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pool: ConnectionPool | None = None

    def _main(self, ready: asyncio.Future) -> None:
        loop = _new_loop()
        try:
            pool = self._new_pool()
            loop.run_until_complete(pool.open())
        except BaseException as exc:  # a wrong URL, the server down: open() raises it
            loop.close()
            hand_over(ready, error=exc)
            return
        self.loop, self.pool = loop, pool
        hand_over(ready)
        try:
            loop.run_forever()  # until close() stops it
        finally:
            loop.run_until_complete(_shut(pool))
            loop.close()

    async def close(self) -> None:
        """Stop the loop: bodies still running are cancelled (rolled back), the pool is
        closed, or cut if a connection is still taken. Safe to call twice."""
        loop, self.loop = self.loop, None
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(loop.stop)
        await self._join()

    def here(self) -> bool:
        """Whether the caller runs on this thread's loop (a body, or what it started)."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    async def run(self, job: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """``await job()`` on the thread's loop, in a copy of the caller's context;
        cancelling the caller cancels it there. Stopped by close(), it raises
        DatabaseError."""
        loop = self.loop
        if loop is None:
            raise DatabaseError("the database is not open")
        context = contextvars.copy_context()  # the task over there starts from a copy of it
        coro = job()
        try:
            future = context.run(asyncio.run_coroutine_threadsafe, coro, loop)
        except RuntimeError:  # closed by close() since: never started
            coro.close()
            raise DatabaseError("the database is not open") from None
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the caller's own cancellation
            # Cancelled over there by close(): a failure, not a cancellation of the caller.
            raise DatabaseError("the database was closed while the body ran") from None


async def _shut(pool: ConnectionPool) -> None:
    """On the thread, as its loop ends: cancel the bodies still running (they roll back),
    then close the pool, or cut it if a connection is still taken (the server rolls that
    transaction back), as PostgresDatabase.close does with the app's own pool."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=SHUT_TIMEOUT)
    if pool.get_idle_size() < pool.get_size():
        pool.terminate()
    else:
        await pool.close()
