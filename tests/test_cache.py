"""The query cache: shared results, emptied by any committed change, from any connection."""

import asyncio
import logging

import pytest

from tests.databases import open_database
from www import DB
from www.accounts.models import User
from www.cache import QueryCache
from www.db import DatabaseError
from www.db.reads import ReadLog
from www.posts.models import Post


async def make_user(db, name="alice"):
    return await User.create(db, name=name, email=f"{name}@example.com", password_hash="x")


async def test_hit_until_the_database_changes(db):
    cache = QueryCache(db)
    calls = []

    async def load():
        calls.append(1)
        return await User.select(db).count()

    assert await cache.get("users", load) == 0
    assert await cache.get("users", load) == 0
    assert len(calls) == 1 and cache.hits == 1
    await make_user(db)
    assert await cache.get("users", load) == 1  # the write emptied the cache
    assert len(calls) == 2


async def test_turned_off_it_loads_every_time(db):
    """cache.data: false: every call reads the database, and nothing is counted."""
    cache = QueryCache(db, enabled=False)
    calls = []

    async def load():
        calls.append(1)
        return len(calls)

    assert [await cache.get("users", load) for _ in range(3)] == [1, 2, 3]
    assert cache.hits == cache.misses == 0


async def test_changes_from_another_connection_are_seen(db, db_url):
    cache = QueryCache(db)

    async def load():
        return await User.select(db).count()

    assert await cache.get("users", load) == 0
    async with open_database(db_url) as other:  # as another worker process would
        await make_user(other)
    assert await cache.get("users", load) == 1


async def test_result_loaded_across_a_change_is_not_kept(db):
    cache = QueryCache(db)

    async def load_then_write():
        value = await User.select(db).count()
        await make_user(db, f"u{value}")  # a commit while this result is being built
        return value

    assert await cache.get("k", load_then_write) == 0
    assert await cache.get("k", load_then_write) == 1  # not served from the cache
    assert cache.hits == 0


async def test_oldest_entries_are_dropped(db):
    cache = QueryCache(db, max_entries=2)

    async def load():
        return object()

    first = await cache.get(1, load)
    await cache.get(2, load)
    assert await cache.get(1, load) is first  # 1 is now the most recent
    await cache.get(3, load)  # evicts 2
    assert cache.misses == 3
    await cache.get(2, load)
    assert cache.misses == 4
    assert await cache.get(1, load) is not first  # evicted by 2


async def test_pages_show_a_change_at_once(client, app):
    user = await make_user(app[DB])
    post = await Post.create(app[DB], user_id=user.id, title="First title")
    assert "First title" in await (await client.get("/")).text()
    assert "First title" in await (await client.get(f"/posts/{post.id}")).text()
    post.title = "Second title"
    await post.save(app[DB])
    assert "Second title" in await (await client.get("/")).text()
    assert "Second title" in await (await client.get(f"/posts/{post.id}")).text()


async def test_summary_counts_hits_and_misses(db, caplog):
    cache = QueryCache(db)
    assert cache.summary() == "Page cache: 0 hits, 0 misses (no lookups)"

    async def load():
        return 1

    await cache.get("k", load)
    for _ in range(1233):
        await cache.get("k", load)
    with caplog.at_level(logging.INFO, logger="www.cache"):
        await cache.log_summary()  # as an on_cleanup handler would be called, with the app
        await cache.log_summary(object())
    assert [r.getMessage() for r in caplog.records] == [
        "Page cache: 1,233 hits, 1 misses (99.9%)"
    ] * 2


class SlowVersions:
    """A database whose table_versions reads wait for `go`, counting them; `version` is
    the counter of table "t" a read returns, as of when it began (a commit during a read
    is not in it)."""

    def __init__(self) -> None:
        self.version, self.reads, self.go = 1, 0, asyncio.Event()

    async def table_versions(self, scopes: list[str] = ()) -> dict[str, int]:
        self.reads += 1
        seen = self.version
        await self.go.wait()
        return {"t": seen}


async def test_callers_waiting_together_share_one_read():
    db = SlowVersions()
    cache = QueryCache(db)
    callers = [asyncio.create_task(cache.versions()) for _ in range(50)]
    await asyncio.sleep(0)
    db.go.set()
    assert await asyncio.gather(*callers) == [{"t": 1}] * 50
    assert db.reads == 1


async def test_a_caller_never_shares_a_read_that_began_before_it():
    """Never stale: a commit just before a call is seen, even with a read in flight."""
    db = SlowVersions()
    cache = QueryCache(db)
    early = asyncio.create_task(cache.versions())
    while db.reads < 1:  # until its read has begun
        await asyncio.sleep(0)
    db.version = 2  # a commit, then a new caller
    late = asyncio.create_task(cache.versions())
    await asyncio.sleep(0)
    db.go.set()
    assert (await early, await late) == ({"t": 1}, {"t": 2})
    assert db.reads == 2


async def test_a_cancelled_caller_leaves_the_shared_read_to_the_others():
    db = SlowVersions()
    cache = QueryCache(db)
    callers = [asyncio.create_task(cache.versions()) for _ in range(3)]
    await asyncio.sleep(0)
    callers[1].cancel()  # a client gone away while its request waited
    await asyncio.sleep(0)
    db.go.set()
    assert (await callers[0], await callers[2]) == ({"t": 1}, {"t": 1})
    assert callers[1].cancelled()
    assert db.reads == 1


async def test_a_failed_read_fails_its_callers_and_the_next_read_is_fresh():
    class Broken(SlowVersions):
        async def table_versions(self, scopes: list[str] = ()) -> dict[str, int]:
            self.reads += 1
            if self.reads == 1:
                raise DatabaseError("database is locked")
            return {"t": self.version}

    db = Broken()
    cache = QueryCache(db)
    with pytest.raises(DatabaseError, match="locked"):
        await cache.versions()
    assert await cache.versions() == {"t": 1}


async def test_entries_are_bounded_by_size_too(db):
    cache = QueryCache(db, max_entries=100, max_bytes=1000)

    async def load():
        return object()

    def weighs(n):
        return lambda _value: n

    first = await cache.get(1, load, weighs(400))
    await cache.get(2, load, weighs(400))
    assert await cache.get(1, load, weighs(400)) is first and cache.bytes == 800
    await cache.get(3, load, weighs(400))  # over 1000: evicts 2, the least recently used
    assert cache.bytes == 800
    assert await cache.get(1, load, weighs(400)) is first
    assert cache.misses == 3
    await cache.get(2, load, weighs(400))
    assert cache.misses == 4
    huge = await cache.get(4, load, weighs(1001))  # bigger than the whole cache: not kept
    assert await cache.get(4, load, weighs(1001)) is not huge
    assert cache.bytes == 800


async def test_within_one_check_the_counters_are_read_once(db):
    """A GET's lookups share the first reading; the next request reads afresh."""
    cache = QueryCache(db)
    reads = []
    real = db.table_versions

    async def counted(scopes=()):
        reads.append(1)
        return await real(scopes=scopes)

    db.table_versions = counted

    async def load():
        return await User.select(db).count()

    with cache.one_check():
        assert await cache.get("users", load) == 0
        await make_user(db)  # as another request would, meanwhile
        assert await cache.get("users", load) == 0  # as of the request's one moment
        assert await cache.get("others", load) == 1  # a miss loads what is there now
    assert len(reads) == 1
    assert await cache.get("users", load) == 1  # the next request sees the write
    assert len(reads) == 2


async def test_an_entry_dropped_while_its_lookup_waits_is_loaded_again():
    """A lookup reads the counters after finding its entry; meanwhile another lookup may
    push it out (here: a cache of one entry). It is then a miss, never an error."""

    class Quick:
        reads = ReadLog()

        async def table_versions(self, scopes=()):
            await asyncio.sleep(0)
            return {}

    cache = QueryCache(Quick(), max_entries=1)

    async def value(name):
        return name

    assert await cache.get("a", lambda: value("a")) == "a"
    pusher = asyncio.create_task(cache.get("b", lambda: value("b")))  # resumes first
    looker = asyncio.create_task(cache.get("a", lambda: value("a again")))
    assert await asyncio.gather(pusher, looker) == ["b", "a again"]


async def test_derived_values_are_made_once_and_dropped_with_their_entry(db):
    """derive(): made once while the cache holds the value; after a change the reloaded
    value gets its own, and the old value's is not kept (nor made again for it)."""
    cache = QueryCache(db)
    made = []

    async def load():
        return [await User.select(db).count()]

    def make(value):
        made.append(value)
        return f"<p>{value[0]} users</p>"

    first = await cache.get("users", load)
    assert cache.derive(first, "html", make, len) == "<p>0 users</p>"
    assert cache.derive(await cache.get("users", load), "html", make, len) == "<p>0 users</p>"
    assert made == [[0]]
    await make_user(db)
    second = await cache.get("users", load)
    assert cache.derive(second, "html", make, len) == "<p>1 users</p>"
    assert cache.derive(first, "html", make, len) == "<p>0 users</p>"  # made again, not kept
    assert cache.derive(second, "html", make, len) == "<p>1 users</p>"
    assert made == [[0], [1], [0]]


async def test_derived_values_weigh_with_their_entry(db):
    """What derive() keeps counts against max_bytes, and goes when its entry goes."""
    cache = QueryCache(db, max_entries=100, max_bytes=1000)

    async def load():
        return object()

    first = await cache.get(1, load, lambda _value: 100)
    assert cache.derive(first, "x", lambda _value: "y" * 300, len) == "y" * 300
    assert cache.bytes == 400
    second = await cache.get(2, load, lambda _value: 100)
    cache.derive(second, "x", lambda _value: "z" * 700, len)  # 1,200: the oldest goes
    assert cache.bytes == 800
    assert await cache.get(1, load) is not first


async def test_with_the_cache_off_nothing_derived_is_kept(db):
    cache = QueryCache(db, enabled=False)
    made = []

    async def load():
        return object()

    value = await cache.get("k", load)
    for _ in range(2):
        cache.derive(value, "x", made.append, lambda _made: 0)
    assert made == [value, value] and cache.bytes == 0
