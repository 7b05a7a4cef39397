"""db.write(body) and SQLite's writer thread (www/db/sqlite_writer.py, sqlite_body.py).

write() keeps every rule of a transaction (tests/test_db.py) on both engines; on SQLite the
body runs whole on the writer's thread. The writer's own rules are proved here: no job
lands inside another owner's transaction, jobs run first come first served, a cancelled
write never half-happens, and closing fails what is still queued.
"""

import asyncio
import re
import sqlite3
import threading

import pytest

from tests.databases import sql
from tests.test_db import TIMEOUT, WriterSpy, assert_idle, database, labels, writer_idle
from www.db import DatabaseError, IntegrityError
from www.db.sqlite_body import ThreadTransaction

__all__ = ["database"]  # the fixture: tests/test_db.py's tables (parents, children)


def insert(db, label: str):
    """A write() body that inserts ``label`` and returns the labels its transaction sees."""

    async def body(tx):
        await tx.execute(sql(tx, "INSERT INTO children (label) VALUES (?)"), (label,))
        return await labels(db)  # the database joins the body's transaction

    return body


async def test_write_commits_and_returns_the_body_value(database):
    assert await database.write(insert(database, "a")) == ["a"]
    assert await database.write(insert(database, "b")) == ["a", "b"]
    assert await labels(database) == ["a", "b"]
    assert_idle(database)


async def test_write_rolls_back_when_the_body_raises(database):
    async def body(tx):
        await insert(database, "doomed")(tx)
        raise LookupError("the body fails")

    with pytest.raises(LookupError, match="the body fails"):
        await database.write(body)
    assert await labels(database) == []
    assert_idle(database)


async def test_write_translates_errors(database):
    await database.write(lambda tx: tx.execute("INSERT INTO parents (name) VALUES ('p')"))
    with pytest.raises(IntegrityError) as info:
        await database.write(lambda tx: tx.execute("INSERT INTO parents (name) VALUES ('p')"))
    assert isinstance(info.value.__cause__, database.dialect.driver_error)
    with pytest.raises(DatabaseError):
        await database.write(lambda tx: tx.fetchall("SELECT * FROM nowhere"))
    assert await database.fetchall("SELECT name FROM parents") == [("p",)]


async def test_write_nested_in_a_transaction_is_a_savepoint(database):
    async def failing(tx):
        await insert(database, "inner")(tx)
        raise LookupError

    async with database.transaction() as outer:
        await outer.execute("INSERT INTO children (label) VALUES ('outer')")
        with pytest.raises(LookupError):
            await database.write(failing)  # undoes its own rows only
        assert await database.write(insert(database, "kept")) == ["outer", "kept"]
    assert await labels(database) == ["outer", "kept"]
    with pytest.raises(LookupError):
        async with database.transaction():
            await database.write(insert(database, "released"))
            raise LookupError  # the outer rollback undoes the released savepoint too
    assert await labels(database) == ["outer", "kept"]


async def test_write_nested_in_a_write_and_transactions_in_a_body(database):
    async def outer(tx):
        await insert(database, "outer")(tx)
        with pytest.raises(LookupError):
            async with database.transaction():  # a savepoint, on the same thread
                await insert(database, "undone")(tx)
                raise LookupError
        return await database.write(insert(database, "inner"))

    assert await database.write(outer) == ["outer", "inner"]
    assert await labels(database) == ["outer", "inner"]


async def test_after_commit_runs_on_the_callers_loop_once_committed(database):
    loop, ran = asyncio.get_running_loop(), []

    async def announce():
        ran.append(
            (asyncio.get_running_loop() is loop, threading.current_thread(), await labels(database))
        )

    async def body(tx):
        await insert(database, "saved")(tx)
        await database.after_commit(announce)
        assert ran == []  # nothing before the COMMIT
        return "done"

    assert await database.write(body) == "done"
    assert ran == [(True, threading.main_thread(), ["saved"])]

    async def failing(tx):
        await database.after_commit(announce)
        raise LookupError

    with pytest.raises(LookupError):
        await database.write(failing)
    assert len(ran) == 1  # forgotten with the rollback


@pytest.mark.sqlite_only  # PostgreSQL runs the body on the caller's loop
async def test_a_body_must_not_use_the_callers_loop(database):
    """On SQLite the body runs on the writer's thread: what belongs to the caller's loop
    fails loudly there, and the transaction rolls back."""
    callers = asyncio.get_running_loop().create_future()

    async def waits_for_the_loop(tx):
        await insert(database, "no")(tx)
        await callers  # a future of the caller's loop

    with pytest.raises(RuntimeError, match="different loop"):
        await database.write(waits_for_the_loop)

    async def leaves_a_task(tx):
        await insert(database, "no")(tx)
        asyncio.get_running_loop().create_task(asyncio.sleep(60))

    with pytest.raises(DatabaseError, match="must not leave tasks running"):
        await database.write(leaves_a_task)
    assert await labels(database) == []
    assert await database.write(insert(database, "fine")) == ["fine"]


# --- SQLite's writer: ownership and order ------------------------------------------------


@pytest.mark.sqlite_only
async def test_nothing_lands_inside_an_open_transaction_and_the_rest_waits_its_turn(database):
    """While a transaction is open, a standalone execute, another transaction and a write()
    wait; then they run in the order they came."""
    open_, release = asyncio.Event(), asyncio.Event()

    async def holder():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('A1')")
            open_.set()
            await release.wait()
            await tx.execute("INSERT INTO children (label) VALUES ('A2')")

    async def other_transaction():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('B1')")
            await asyncio.sleep(0)
            await tx.execute("INSERT INTO children (label) VALUES ('B2')")

    first = asyncio.create_task(holder())
    await asyncio.wait_for(open_.wait(), TIMEOUT)
    waiting = []
    with WriterSpy(database._writer) as spy:
        for make, label in [
            (lambda: database.execute("INSERT INTO children (label) VALUES ('X1')"), "X1"),
            (other_transaction, "BEGIN IMMEDIATE"),
            (lambda: database.write(insert(database, "W")), "write()"),
            (lambda: database.execute("INSERT INTO children (label) VALUES ('X2')"), "X2"),
        ]:
            waiting.append(asyncio.create_task(make()))
            async with asyncio.timeout(TIMEOUT):
                while not any(label in queued for queued in spy.labels[len(waiting) - 1 :]):
                    await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in waiting)
    assert await labels(database) == []  # a reader: nothing committed yet
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *waiting), TIMEOUT)
    assert await labels(database) == ["A1", "A2", "X1", "B1", "B2", "W", "X2"]
    assert_idle(database)


@pytest.mark.sqlite_only
async def test_the_lock_wait_is_recorded(database):
    before = database._writer.stats.count
    await database.execute("INSERT INTO children (label) VALUES ('x')")
    await database.write(insert(database, "y"))
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO children (label) VALUES ('z')")
    summary = database.writer_summary()
    assert database._writer.stats.count == before + 3
    count = int(re.match(r"Writer: ([\d,]+) transactions, lock wait p50 ", summary)[1])
    assert count == before + 3
    assert re.search(r"p99 \d+\.\d ms; held p50 \d+\.\d ms, p99 \d+\.\d ms$", summary)


@pytest.mark.postgres_only
async def test_postgresql_has_no_single_writer(database):
    assert database.writer_summary().startswith("Writer: none (postgresql")


# --- cancellation and closing -----------------------------------------------------------

BODY = [
    "BEGIN IMMEDIATE",
    "INSERT INTO children (label) VALUES ('one')",
    "INSERT INTO children (label) VALUES ('two')",
    "COMMIT",
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("held", [None, *BODY], ids=["queued", "BEGIN", "one", "two", "COMMIT"])
async def test_a_cancelled_write_never_half_happens(database, monkeypatch, held):
    """Cancelled while it waits for the writer, the body never runs; while statement
    ``held`` runs on the writer's thread, the body stops before its next statement and
    rolls back, unless that statement is the COMMIT: then all of it is saved, and its
    after-commit callback still runs."""
    running, release = threading.Event(), threading.Event()
    real = ThreadTransaction._statement

    def statement(self, text, run):
        if text == held:
            inner = run

            def run(conn):
                running.set()
                release.wait(TIMEOUT)
                return inner(conn)

        return real(self, text, run)

    monkeypatch.setattr(ThreadTransaction, "_statement", statement)
    announced, started = asyncio.Event(), []

    async def announce():
        announced.set()

    async def body(tx):
        started.append(True)
        await tx.execute(BODY[1])
        await tx.execute(BODY[2])
        await database.after_commit(announce)

    holding, done = asyncio.Event(), asyncio.Event()

    async def holder():  # keeps the writer busy, so the write waits in the queue
        async with database.transaction():
            holding.set()
            await done.wait()

    if held is None:
        keeper = asyncio.create_task(holder())
        await asyncio.wait_for(holding.wait(), TIMEOUT)
    task = asyncio.create_task(database.write(body))
    if held is None:
        await asyncio.sleep(0.01)
    else:
        assert await asyncio.to_thread(running.wait, TIMEOUT)
    task.cancel()
    if held is not None:  # the cancellation reaches the body before it goes on
        async with asyncio.timeout(TIMEOUT):
            while not database._writer.current.cancel_requested:
                await asyncio.sleep(0.001)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    if held is None:
        done.set()
        await asyncio.wait_for(keeper, TIMEOUT)
        assert started == []
    assert await writer_idle(database)
    committed = held == "COMMIT"
    assert await labels(database) == (["one", "two"] if committed else [])
    if committed:
        await asyncio.wait_for(announced.wait(), TIMEOUT)
    assert announced.is_set() == committed
    assert await database.write(insert(database, "after")) == [
        *(["one", "two"] if committed else []),
        "after",
    ]


@pytest.mark.sqlite_only
async def test_closing_fails_the_queued_jobs_cleanly(database):
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('lost')")
            holding.set()
            await release.wait()
            await tx.execute("INSERT INTO children (label) VALUES ('too late')")

    first = asyncio.create_task(holder())
    await asyncio.wait_for(holding.wait(), TIMEOUT)
    queued = [
        asyncio.create_task(database.execute("INSERT INTO children (label) VALUES ('x')")),
        asyncio.create_task(database.write(insert(database, "w"))),
        asyncio.create_task(database.executemany("INSERT INTO children (label) VALUES (?)", [])),
    ]
    await asyncio.sleep(0.01)
    await asyncio.wait_for(database.close(), TIMEOUT)
    for task in queued:
        with pytest.raises(DatabaseError, match="closed before this write ran"):
            await asyncio.wait_for(task, TIMEOUT)
    release.set()
    with pytest.raises(DatabaseError, match="closed during the transaction"):
        await asyncio.wait_for(first, TIMEOUT)
    with pytest.raises(DatabaseError, match="not open"):
        await database.write(insert(database, "closed"))
    await database.open()
    assert await labels(database) == []  # the open transaction went with the connection


@pytest.mark.sqlite_only
async def test_the_writer_waits_for_another_process_on_its_thread(database):
    """A write() whose BEGIN meets another process's lock fails after busy_timeout with
    a DatabaseError, and leaves the writer free."""
    other = sqlite3.connect(database.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="locked"):
            await database.write(insert(database, "blocked"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await writer_idle(database)
    assert await database.write(insert(database, "ok")) == ["ok"]
