"""A cache of query results that is never stale: an entry is dropped when a table it read
changes.

Pages such as the home page show the same posts to every visitor, so their data can be
shared between requests. While an entry loads, the database notes which tables its
queries read (www/db/reads.py); it is kept with those tables' change counters
(www/db/versions.py), read *before* the data. Before each use the cache reads the
counters again (kept by the database's triggers, so writes by any connection or process
count: several gunicorn workers, the admin command), and the entry is used only if its
tables' counters have not moved. One cheap round trip replaces the page's queries, a
write is seen by the very next read, and a new comment leaves the cached list of posts
alone. Only cache what is the same for every user, and never modify the objects it
returns.

It is bounded by entries and by size (`cache.max_entries`, `cache.max_bytes`): callers say
what an entry weighs (`size`), about its bytes, so a few large pages (a 100 KB post, its
HTML) cannot hold hundreds of megabytes in each worker.

How well it works depends on the traffic (how often writes empty it), so it counts its
hits and misses and can say so in one log line (``log_summary``).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from .db import BaseDatabase
from .db.reads import Reads
from .db.versions import is_scope

log = logging.getLogger(__name__)


class Entry(NamedTuple):
    value: Any
    weight: int  # about its bytes, as its caller said (and what derive() made from it)
    depends: dict[str, int]  # the change counter of each table it read, when it was read
    scopes: tuple[str, ...]  # those of depends that are scoped counters (read on demand)
    derived: dict[Hashable, Any]  # what derive() made from value: kept, and dropped, with it

    def current(self, versions: Mapping[str, int]) -> bool:
        """Whether none of the tables it read has changed since."""
        return unchanged(self.depends, versions)


def unchanged(depends: Mapping[str, int], versions: Mapping[str, int]) -> bool:
    """Whether no counter in `depends` (as they were when read) differs in `versions` (as
    they are now). A loop, not all() over a generator: every cached answer asks this."""
    get = versions.get
    for table, seen in depends.items():  # noqa: SIM110 (see above)
        if get(table, 0) != seen:
            return False
    return True


def scopes_of(depends: Mapping[str, int]) -> tuple[str, ...]:
    """The scoped counters among `depends` (www/db/versions.py)."""
    return tuple(name for name in depends if is_scope(name))


class QueryCache:
    def __init__(
        self,
        db: BaseDatabase,
        max_entries: int = 256,
        max_bytes: int = 64 * 2**20,
        enabled: bool = True,
        tables: Collection[str] | None = None,
    ) -> None:
        """`tables`: the names that are tables (the models'); None counts every name a
        query mentions, which is as safe and a little slower."""
        self.db, self.enabled = db, enabled
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.tables = frozenset(tables) if tables is not None else None
        self.bytes = 0  # what the entries weigh, by their callers' `size`
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._keys: dict[int, Hashable] = {}  # id(entry.value) -> its key, for derive()
        self.hits = self.misses = 0
        # The callers waiting for the next read of the counters, which they share.
        self._waiting: list[asyncio.Future[dict[str, int]]] = []
        self._reader: asyncio.Task | None = None
        self._scopes: set[str] = set()  # the scoped counters they asked for
        # The scoped counters that a one_check() block asked for last, by its hint.
        self._hints: OrderedDict[Hashable, frozenset[str]] = OrderedDict()
        # The counters as one GET read them (one_check()), for the rest of that request.
        self._checked: ContextVar[dict | None] = ContextVar(f"checked_{id(self)}", default=None)

    @contextmanager
    def one_check(
        self, versions: dict[str, int] | None = None, hint: Hashable = None
    ) -> Iterator[None]:
        """Within the block, the counters are read once, by the first lookup, and every
        later lookup uses that reading: a GET that shows the user's row and a page's data
        pays one round trip. Safe for requests that write nothing (GET, HEAD): everything
        they are served is as of one moment after they began. A request that writes must
        not use it, or it could read its own write's table as unchanged. `versions`: a
        reading already made for this request, to use instead (the response cache's).
        `hint` (the request's path): the scoped counters the last block with this hint
        asked for are read with the first lookup's counters, so that a page whose entries
        depend on some (a post's comments) still costs one round trip."""
        checked: dict[str, Any] = {"hint": hint, "asked": set()}
        if versions is not None:
            checked["versions"] = versions
        token = self._checked.set(checked)
        try:
            yield
        finally:
            self._checked.reset(token)
            if hint is not None and checked["asked"]:
                self._hints[hint] = frozenset(checked["asked"])
                self._hints.move_to_end(hint)
                if len(self._hints) > self.max_entries:
                    self._hints.popitem(last=False)

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
        entry = self._entries.get(key)
        # Read before the data (never newer than it), with the entry's scoped counters.
        versions = await self.versions(entry.scopes if entry is not None else ())
        entry = self._entries.get(key)  # again: others may have dropped or replaced it
        if entry is not None and entry.current(versions):
            self.hits += 1
            self._entries.move_to_end(key)
            self.db.reads.note_depends(entry.depends)  # for an enclosing cache
            return entry.value
        self.misses += 1
        with self.db.reads.recording() as read:
            value = await load()
        depends = self.depends(read, versions)
        weight = size(value) if size else 0
        self._keep(key, Entry(value, weight, depends, scopes_of(depends), {}))
        return value

    def derive(
        self, value: Any, name: Hashable, make: Callable[[Any], Any], size: Callable[[Any], int]
    ) -> Any:
        """`make(value)` for a `value` that get() returned, made once while the cache
        holds it and kept with its entry: dropped with it when its tables change, and
        weighed with it (`size`) against max_bytes. For what depends on that value alone,
        such as the HTML of a fragment of a page that shows only it (www/templating.py):
        a page of posts is then rendered once per change, not once per logged-in view. A
        value the cache no longer holds (replaced since, or the cache off) is made again
        each time, and not kept."""
        key = self._keys.get(id(value))
        entry = self._entries.get(key) if key is not None else None
        if entry is None or entry.value is not value:
            return make(value)
        if name in entry.derived:
            return entry.derived[name]
        made = entry.derived[name] = make(value)
        weight = size(made)
        self._entries[key] = entry._replace(weight=entry.weight + weight)  # keeps its place
        self.bytes += weight
        self._trim()
        return made

    def depends(self, read: Reads, versions: Mapping[str, int]) -> dict[str, int]:
        """The change counters of what was `read`: of its tables, as `versions` (read
        before) gives them; of its scoped counters, as its snapshot read them, with their
        table's marker as `versions` gives it (www/db/versions.py). A table also read
        whole depends on the table's counter alone."""
        tables = read.names if self.tables is None else read.names & self.tables
        depends = {table: versions.get(table, 0) for table in tables}
        for scope, seen in read.scopes.items():
            marker = scope.partition("=")[0]
            if marker.partition(".")[0] not in depends:
                depends[scope] = seen
                depends[marker] = versions.get(marker, 0)
        return depends

    def _keep(self, key: Hashable, entry: Entry) -> None:
        """Store, then drop the least recently used entries while over either bound."""
        if entry.weight > self.max_bytes:
            return
        if key in self._entries:  # out of date, or loaded by two requests at once
            self._drop(key, self._entries.pop(key))
        self._entries[key] = entry
        self._keys[id(entry.value)] = key
        self.bytes += entry.weight
        self._trim()

    def _trim(self) -> None:
        """Drop the least recently used entries while over either bound."""
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(*self._entries.popitem(last=False))

    def _drop(self, key: Hashable, entry: Entry) -> None:
        """Account for an entry taken out of _entries."""
        self.bytes -= entry.weight
        if self._keys.get(id(entry.value)) == key:  # values may be shared (None)
            del self._keys[id(entry.value)]

    async def versions(self, scopes: Collection[str] = ()) -> dict[str, int]:
        """The tables' change counters, and the scoped counters `scopes`, from a read
        that began after this call did (or, within one_check(), after the block began),
        so no commit before it is missed. Callers that arrive while a read is running
        share the next one: under load, one round trip to the database thread serves a
        whole batch of requests. Within one_check(), scoped counters the block's reading
        lacks are read then, and added to it (a later reading is as safe)."""
        checked = self._checked.get()
        if checked is None:
            return await self._read(scopes)
        checked["asked"].update(scopes)
        if "versions" not in checked:
            hinted = self._hints.get(checked["hint"], ()) if checked["hint"] is not None else ()
            checked["versions"] = await self._read({*scopes, *hinted})
            return checked["versions"]
        versions = checked["versions"]
        missing = [scope for scope in scopes if scope not in versions]
        if missing:
            read = await self._read(missing)
            versions = checked["versions"] = {**versions, **{s: read.get(s, 0) for s in missing}}
        return versions

    async def _read(self, scopes: Collection[str] = ()) -> dict[str, int]:
        # A future of its own per caller: a caller cancelled while it waits cancels only
        # its own, never the read the others wait for.
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._scopes.update(scopes)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_versions())
        return await waiter

    async def _read_versions(self) -> None:
        """Read for the callers waiting, again while new ones came during the read."""
        while self._waiting:
            waiting, self._waiting = self._waiting, []
            scopes, self._scopes = self._scopes, set()
            try:
                versions = await self.db.table_versions(scopes=sorted(scopes))
            except BaseException as exc:
                for waiter in waiting:
                    if waiter.done():  # its caller was cancelled
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        waiter.cancel()
                    else:
                        waiter.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(versions)

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
