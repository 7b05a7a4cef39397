"""What SQLite's writer and readers share: a connection owned by a thread of its own.

A sqlite3 connection is used by the thread that opened it, and each call on it blocks:
so each connection gets a thread, jobs go to it through a queue, and results come back
to the caller's event loop with ``call_soon_threadsafe`` (``hand_over``). The writer
(www/db/sqlite_writer.py) adds transactions' ownership to its queue; a reader
(www/db/sqlite_reader.py) runs its jobs in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any


class ConnectionThread:
    """Starts ``_main(ready)`` on a daemon thread named ``thread_name``, which opens the
    connection and settles ``ready`` (with hand_over); a subclass supplies ``_main`` and
    ``close``, which ends the thread and ``await self._join()``."""

    thread_name = "sqlite"
    _thread: threading.Thread | None = None

    async def open(self) -> None:
        """Start the thread and open the connection there; raises what connecting raised."""
        ready = asyncio.get_running_loop().create_future()
        # A daemon: a process that never closes the database can still exit (SQLite's
        # journal keeps the file consistent; what was not committed is rolled back).
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        try:
            await ready
        except BaseException:
            await self.close()
            raise

    def _main(self, ready: asyncio.Future) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def _join(self) -> None:
        """Wait for the thread to end (it was told to), off the loop. Safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join)


def hand_over(
    future: asyncio.Future, result: Any = None, error: BaseException | None = None
) -> None:
    """Settle ``future`` on its loop, from a connection's thread; dropped if the loop is
    gone (nobody waits any more) or the future is done (its caller stopped waiting)."""
    with contextlib.suppress(RuntimeError):  # the loop is closed
        future.get_loop().call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled meanwhile
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
