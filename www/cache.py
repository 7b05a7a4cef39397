"""A cache of query results that is never stale: it is emptied whenever the database changes.

Pages such as the home page show the same posts to every visitor, so their data can be
shared between requests. Before each use the cache asks the database's data version
(SQLite's `PRAGMA data_version`; on PostgreSQL a counter that triggers bump), which moves
whenever any connection commits, in this process or another (several gunicorn workers).
One cheap round trip replaces the page's queries, and a write anywhere is seen by the very
next read. Only cache what is the same for every user, and never modify the
objects it returns.

It is bounded by entries and by size (`cache.max_entries`, `cache.max_bytes`): callers say
what an entry weighs (`size`), about its bytes, so a few large pages (a 100 KB post, its
HTML) cannot hold hundreds of megabytes in each worker.

How well it works depends on the traffic (how often writes empty it), so it counts its
hits and misses and can say so in one log line (``log_summary``).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from .db import BaseDatabase

log = logging.getLogger(__name__)


class QueryCache:
    def __init__(
        self,
        db: BaseDatabase,
        max_entries: int = 256,
        max_bytes: int = 64 * 2**20,
        enabled: bool = True,
    ) -> None:
        self.db, self.enabled = db, enabled
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.bytes = 0  # what the entries weigh, by their callers' `size`
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.hits = self.misses = 0
        self._next_read: asyncio.Future[int] | None = None  # the read the next callers share
        self._reader: asyncio.Task | None = None

    async def get(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[Any]],
        size: Callable[[Any], int] | None = None,
    ) -> Any:
        """The cached result for `key`, or `await load()` when missing or out of date.
        `size(value)`: about how many bytes it holds (0 if not given)."""
        if not self.enabled:
            return await load()
        version = await self.version()  # read before the data: never newer than it
        if version != self._version:
            self._entries.clear()
            self.bytes, self._version = 0, version
        elif key in self._entries:
            self.hits += 1
            self._entries.move_to_end(key)
            return self._entries[key][0]
        self.misses += 1
        value = await load()
        if self._version == version:  # not cleared by another request meanwhile
            self._keep(key, value, size(value) if size else 0)
        return value

    def _keep(self, key: Hashable, value: Any, weight: int) -> None:
        """Store, then drop the least recently used entries while over either bound."""
        if weight > self.max_bytes:
            return
        if key in self._entries:  # loaded by two requests at once
            self.bytes -= self._entries.pop(key)[1]
        self._entries[key] = (value, weight)
        self.bytes += weight
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self.bytes -= self._entries.popitem(last=False)[1][1]

    async def version(self) -> int:
        """The database's data version, from a read that began after this call did, so no
        commit before the call is missed. Callers that arrive while a read is running
        share the next one: under load, one round trip to the database thread serves a
        whole batch of requests instead of one each."""
        if self._next_read is None:
            self._next_read = asyncio.get_running_loop().create_future()
            self._next_read.add_done_callback(_retrieve)  # if every caller has gone
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_versions())
        return await asyncio.shield(self._next_read)

    async def _read_versions(self) -> None:
        """Read for the callers waiting, again while new ones came during the read."""
        while self._next_read is not None:
            waiting, self._next_read = self._next_read, None
            try:
                waiting.set_result(await self.db.data_version())
            except BaseException as exc:
                waiting.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise

    def summary(self) -> str:
        """The counts so far, as one line: "Page cache: 12,345 hits, 678 misses (94.8%)"."""
        lookups = self.hits + self.misses
        rate = f"{self.hits / lookups:.1%}" if lookups else "no lookups"
        return f"Page cache: {self.hits:,} hits, {self.misses:,} misses ({rate})"

    async def log_summary(self, _app: object = None) -> None:
        """Log summary() at INFO. Shaped as an aiohttp on_cleanup handler, so that each
        process (each gunicorn worker has its own cache) can report at shutdown; the
        benchmarks read these lines to give the hit rate under their mixed load."""
        log.info(self.summary())


def _retrieve(future: asyncio.Future) -> None:
    """Mark a shared read's error as seen: its callers, if any are left, raise it."""
    if not future.cancelled():
        future.exception()
