"""Which tables a page's queries read, so that a cache can remember their change counters
(www/db/versions.py) with what it keeps, and know when it is out of date.

`tables_read(sql)` says which names a statement may read: every identifier in it. Callers
intersect that with the model tables (over-counting can only cost a reload, never serve
stale data). The engines note every statement they read with in `ReadLog.note()`, and the
caches (www/cache.py, www/responses.py) record a block's reads with `recording()`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from .versions import is_scope

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=4096)
def tables_read(sql: str) -> frozenset[str]:
    """Every identifier in `sql`: a superset of the tables it reads. Cached: the app's
    statements are few and made from the same templates."""
    return frozenset(_IDENTIFIER.findall(sql))


class Reads:
    """What a recorded block read: `names`, every identifier of its statements (a
    superset of the tables), and `scopes`, the scoped counters its snapshot reads
    depended on instead of their tables, with their numbers as of the snapshot."""

    __slots__ = ("names", "scopes")

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.scopes: dict[str, int] = {}

    def add(self, other: Reads) -> None:
        self.names |= other.names
        self.scopes.update(other.scopes)


class ReadLog:
    """Which tables the queries of the current task (and the tasks it starts) read, while
    `recording()`: the engines call `note(sql)` for every read, in or out of a
    transaction, and the caches ask what a page's data depended on.

    `scoped_by` is {table: column} for the tables counted by a column, as the last reading
    of the counters said (www/cache.py reads them): a snapshot read (db.read()) offers
    it to the ORM, which then names the scope of a query that asks for one value of it."""

    def __init__(self) -> None:
        self._reads: ContextVar[Reads | None] = ContextVar(f"reads_{id(self)}", default=None)
        self.scoped_by: dict[str, str] = {}

    def note(self, sql: str, scoped: str | None = None) -> None:
        """A statement read: every name in it, but the table `scoped` (a scoped query's,
        whose counter the engine notes with note_scopes)."""
        reads = self._reads.get()
        if reads is not None:
            names = tables_read(sql)
            reads.names |= names if scoped is None else names - {scoped}

    def note_scopes(self, versions: Mapping[str, int]) -> None:
        """Scoped counters read, with their numbers (from the reads' own snapshot)."""
        reads = self._reads.get()
        if reads is not None:
            reads.scopes.update(versions)

    def note_depends(self, depends: Mapping[str, int]) -> None:
        """Count the reads of a cached result (its `depends`) as made now."""
        reads = self._reads.get()
        if reads is not None:
            for name, version in depends.items():
                if is_scope(name):
                    reads.scopes[name] = version
                else:
                    reads.names.add(name)

    @contextmanager
    def recording(self) -> Iterator[Reads]:
        """Collect what is read inside the block (nested blocks also count it in the
        enclosing one, when they end)."""
        outer, reads = self._reads.get(), Reads()
        token = self._reads.set(reads)
        try:
            yield reads
        finally:
            self._reads.reset(token)
            if outer is not None:
                outer.add(reads)
