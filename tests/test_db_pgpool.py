"""The PostgreSQL connection pool's rules (www/db/pgpool.py), without a server.

The pool only ever asks a connection whether it is closed or in a transaction, and closes
or cuts it; ``Server`` hands out stand-ins that keep those answers, and can make the next
connects fail or wait. What a real server adds (a connection cut by pg_terminate_backend,
a cancelled statement, close() with a transaction open) is tests/test_db_postgres.py's.

Every wait here is bounded by ``HANG``: a pool that forgets a waiter fails the test with
a timeout instead of hanging the suite; nothing measures how fast anything is.
"""

import asyncio

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from www.db.pgpool import ConnectionPool

HANG = 5.0  # seconds: far beyond anything these steps take; reached only by a lost waiter


class Conn:
    """What the pool sees of an asyncpg connection."""

    def __init__(self, number: int):
        self.number, self.closed, self.in_transaction, self.cut = number, False, False, False

    def is_closed(self) -> bool:
        return self.closed

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    def terminate(self) -> None:
        self.closed = self.cut = True

    async def close(self, **_) -> None:  # asyncpg takes timeout=
        self.closed = True

    def __repr__(self) -> str:
        return f"<Conn {self.number}>"


class Server:
    """Makes connections; ``failures`` next connects fail; while ``gate`` is clear,
    connects wait for it."""

    def __init__(self):
        self.made: list[Conn] = []
        self.failures = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def connect(self) -> Conn:
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("connection refused")
        self.made.append(Conn(len(self.made)))
        return self.made[-1]

    def open_ones(self) -> list[Conn]:
        return [conn for conn in self.made if not conn.closed]


async def pool_of(size: int, **options) -> tuple[ConnectionPool, Server]:
    server = Server()
    pool = ConnectionPool(server.connect, size, **options)
    await pool.open()
    return pool, server


def waiting(pool: ConnectionPool, count: int) -> list[asyncio.Task]:
    return [asyncio.create_task(pool.acquire()) for _ in range(count)]


async def settle() -> None:
    """Let every task that can run do so (a handful of loop turns)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_open_makes_one_connection_and_a_failure_there_is_raised():
    pool, server = await pool_of(3)
    assert (pool.get_size(), pool.get_idle_size(), len(server.made)) == (1, 1, 1)
    server = Server()
    server.failures = 1
    with pytest.raises(OSError, match="refused"):
        await ConnectionPool(server.connect, 3).open()


async def test_the_most_recently_used_connection_is_taken_first_and_at_most_size_open():
    pool, server = await pool_of(2)
    first, second = await pool.acquire(), await pool.acquire()
    assert first is not second and pool.get_size() == 2
    third = asyncio.create_task(pool.acquire())
    await settle()
    assert not third.done() and len(server.made) == 2  # full: it waits, opens nothing
    await pool.release(first)
    assert await asyncio.wait_for(third, HANG) is first
    await pool.release(second)
    await pool.release(first)
    assert await pool.acquire() is first  # the warmest: given back last


async def test_waiters_are_served_in_order():
    pool, _ = await pool_of(1)
    conn = await pool.acquire()
    tasks = waiting(pool, 5)
    await settle()
    served = []
    for task in tasks:  # each gets it in turn and gives it back
        await pool.release(conn)
        conn = await asyncio.wait_for(task, HANG)
        served.append(task)
        assert all(not t.done() for t in tasks if t not in served)
    assert served == tasks


async def test_a_failed_connect_hands_its_room_to_a_waiter():
    pool, server = await pool_of(2)
    await pool.acquire()
    server.gate.clear()
    server.failures = 1
    opener = asyncio.create_task(pool.acquire())  # opens the second, which will fail
    waiter = asyncio.create_task(pool.acquire())  # full (one open, one opening): waits
    await settle()
    server.gate.set()
    with pytest.raises(OSError):
        await asyncio.wait_for(opener, HANG)
    conn = await asyncio.wait_for(waiter, HANG)  # opened in the room the failure left
    assert conn is server.made[-1] and pool.get_size() == 2


async def test_a_waiter_cancelled_as_a_connection_is_handed_to_it_passes_it_on():
    pool, _ = await pool_of(1)
    conn = await pool.acquire()
    first, second = waiting(pool, 2)
    await settle()
    await pool.release(conn)  # handed to the first...
    first.cancel()  # ...which is cancelled before it runs
    assert await asyncio.wait_for(second, HANG) is conn
    assert first.cancelled()


async def test_a_waiter_cancelled_as_a_room_is_handed_to_it_passes_it_on():
    pool, server = await pool_of(1)
    conn = await pool.acquire()
    first, second = waiting(pool, 2)
    await settle()
    conn.closed = True  # the server went away while it was taken
    await pool.release(conn)  # its room goes to the first...
    first.cancel()  # ...which is cancelled before it opens one
    new = await asyncio.wait_for(second, HANG)
    assert new is server.made[-1] and new is not conn and pool.get_size() == 1


async def test_a_waiter_cancelled_while_waiting_leaves_the_queue():
    pool, _ = await pool_of(1)
    conn = await pool.acquire()
    (gone,) = waiting(pool, 1)
    await settle()
    gone.cancel()
    await settle()
    await pool.release(conn)
    assert pool.get_idle_size() == 1  # nobody was waiting any more
    assert await pool.acquire() is conn


async def test_a_closed_connection_is_dropped_and_replaced():
    pool, server = await pool_of(2)
    conn = await pool.acquire()
    await pool.release(conn)
    conn.closed = True  # cut while idle
    new = await pool.acquire()
    assert new is not conn and (pool.get_size(), len(server.made)) == (1, 2)


async def test_a_connection_given_back_in_a_transaction_is_cut_and_reported():
    pool, _ = await pool_of(1)
    reports = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: reports.append(context))
    conn = await pool.acquire()
    conn.in_transaction = True
    await pool.release(conn)
    assert conn.cut and "in a transaction" in reports[0]["message"]
    assert await pool.acquire() is not conn


async def test_giving_back_twice_is_harmless():
    pool, _ = await pool_of(2)
    conn = await pool.acquire()
    await pool.release(conn)
    await pool.release(conn)
    assert (pool.get_size(), pool.get_idle_size()) == (1, 1)


@pytest.mark.parametrize("how", ["close", "terminate"])
async def test_closing_fails_the_waiters_and_ends_every_connection(how):
    pool, server = await pool_of(1)
    conn = await pool.acquire()
    (waiter,) = waiting(pool, 1)
    await settle()
    if how == "close":
        await pool.close()
    else:
        pool.terminate()
    with pytest.raises(asyncpg.InterfaceError, match="closing"):
        await asyncio.wait_for(waiter, HANG)
    with pytest.raises(asyncpg.InterfaceError, match="closing"):
        await pool.acquire()
    assert conn.closed and conn.cut == (how == "terminate") and not server.open_ones()
    await pool.release(conn)  # the holder's late give-back changes nothing
    assert pool.get_size() == 0


async def test_a_connection_opened_while_closing_is_cut():
    pool, server = await pool_of(2)
    await pool.acquire()
    server.gate.clear()
    opener = asyncio.create_task(pool.acquire())
    await settle()
    pool.terminate()
    server.gate.set()
    with pytest.raises(asyncpg.InterfaceError):
        await asyncio.wait_for(opener, HANG)
    assert not server.open_ones()


async def test_idle_connections_are_closed_after_the_idle_timeout_but_one():
    pool, server = await pool_of(3, idle_timeout=0.05)
    taken = [await pool.acquire() for _ in range(3)]
    for conn in taken:
        await pool.release(conn)
    async with asyncio.timeout(HANG):
        while pool.get_size() > 1:
            await asyncio.sleep(0.02)
    assert server.open_ones() == [taken[-1]]  # the last used is kept
    assert await pool.acquire() is taken[-1]
    await pool.close()


async def test_no_idle_timeout_keeps_them():
    pool, server = await pool_of(2, idle_timeout=0)
    conns = [await pool.acquire() for _ in range(2)]
    for conn in conns:
        await pool.release(conn)
    assert pool._trim_timer is None and len(server.open_ones()) == 2


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.integers(0, 0)),
        st.tuples(st.just("release"), st.integers(0, 7)),
        st.tuples(st.just("drop"), st.integers(0, 7)),  # released after the server cut it
        st.tuples(st.just("cancel"), st.integers(0, 7)),
        st.tuples(st.just("fail_next_connect"), st.integers(0, 0)),
        st.tuples(st.just("run"), st.integers(0, 3)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1, 3), steps=STEPS)
def test_any_schedule_keeps_the_bounds_and_serves_every_waiter(size, steps):
    """Whatever order tasks take, give back (either way), lose or cancel connections in:
    never more than ``size`` open, never one connection held twice, and once everything
    held is given back, every task still waiting is served."""
    asyncio.run(one_schedule(size, steps))


async def one_schedule(size: int, steps: list[tuple[str, int]]) -> None:
    pool, server = await pool_of(size)
    tasks: list[asyncio.Task] = []
    given_back: set[asyncio.Task] = set()

    def holders() -> list[asyncio.Task]:
        return [
            t
            for t in tasks
            if t.done() and not t.cancelled() and not t.exception() and t not in given_back
        ]

    def check() -> None:
        held = [t.result() for t in holders()]
        assert len(held) == len(set(held)), "one connection held twice"
        assert len(server.open_ones()) <= size and pool.get_size() <= size
        assert not set(held) & {conn for conn, _ in pool._idle}, "held and idle"

    for action, number in steps:
        if action == "acquire":
            tasks.append(asyncio.create_task(pool.acquire()))
        elif action == "fail_next_connect":
            server.failures += 1
        elif action == "run":
            await settle()
        elif action == "cancel":
            pending = [t for t in tasks if not t.done()]
            if pending:
                pending[number % len(pending)].cancel()
        else:  # release, or drop: give back one held connection, maybe closed first
            held = holders()
            if held:
                task = held[number % len(held)]
                given_back.add(task)
                task.result().closed = task.result().closed or action == "drop"
                if number % 2:  # the read path's way: its holder saw no transaction
                    pool.give_back_clean(task.result())
                else:
                    await pool.release(task.result())
        check()
    await settle()
    server.failures = 0
    while True:  # give everything back as it arrives, until nobody waits
        check()
        for task in holders():
            given_back.add(task)
            await pool.release(task.result())
        pending = [t for t in tasks if not t.done()]
        if not pending:
            break
        await asyncio.wait(pending, timeout=HANG, return_when=asyncio.FIRST_COMPLETED)
        assert any(t.done() for t in pending), "a waiter was never served"
    assert pool.get_idle_size() == pool.get_size() <= size
    await pool.close()
