"""www.db: connections, transactions, concurrency and the SQLite dialect.

The concurrency tests would fail on a single shared connection: transactions would nest
("cannot start a transaction within a transaction"), rollbacks would undo other tasks'
writes, and readers would see rows that are later rolled back.
"""

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

import pytest

from www.db import Database, DatabaseError, IntegrityError, SQLiteDialect

SCHEMA = [
    "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE children (id INTEGER PRIMARY KEY, label TEXT NOT NULL,"
    " parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE)",
]
TIMEOUT = 10  # seconds; a deadlock fails the test instead of hanging it


@pytest.fixture
async def database(tmp_path):
    db = Database(tmp_path / "db" / "test.db", busy_timeout_ms=1000)
    await db.open()
    async with db.transaction() as tx:
        for sql in SCHEMA:
            await tx.execute(sql)
    yield db
    await db.close()


async def labels(db) -> list[str]:
    return [label for (label,) in await db.fetchall("SELECT label FROM children ORDER BY id")]


# --- URLs, opening and closing -------------------------------------------------------


def test_from_url_relative_to_root(tmp_path):
    db = Database.from_url("sqlite:///data/www.db", tmp_path, readers=3, busy_timeout_ms=7)
    assert db.path == tmp_path / "data" / "www.db"
    assert (db.readers, db.busy_timeout_ms) == (3, 7)


def test_from_url_absolute(tmp_path):
    assert Database.from_url(f"sqlite:///{tmp_path}/x.db", Path("/elsewhere")).path == (
        tmp_path / "x.db"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://user:secret@host/db", "unsupported database URL scheme 'postgres'"),
        ("sqlite://relative.db", "unsupported database URL scheme 'sqlite'"),
        ("data/www.db", "unsupported database URL"),
        ("sqlite:///", "must name a database file"),
        ("sqlite:///:memory:", "must name a database file"),
        ("sqlite:///data/", "must name a database file"),
    ],
)
def test_from_url_rejects(url, message, tmp_path):
    with pytest.raises(ValueError, match=message) as info:
        Database.from_url(url, tmp_path)
    assert "secret" not in str(info.value)


def test_readers_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="readers"):
        Database(tmp_path / "x.db", readers=0)


async def test_open_creates_folder_and_sets_pragmas(tmp_path):
    db = Database(tmp_path / "a" / "b" / "test.db", readers=2, busy_timeout_ms=1234)
    await db.open()
    try:
        assert db.path.parent.is_dir()
        for conn, query_only in [(db._writer, 0), *((r, 1) for r in db._readers)]:
            pragmas = {}
            for name in (
                "journal_mode",
                "foreign_keys",
                "busy_timeout",
                "synchronous",
                "query_only",
            ):
                pragmas[name] = (await conn.execute_fetchall(f"PRAGMA {name}"))[0][0]
            assert pragmas == {
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 1234,
                "synchronous": 1,
                "query_only": query_only,
            }
            assert conn.isolation_level is None
        assert len(db._readers) == 2
    finally:
        await db.close()


async def test_open_twice_is_an_error(database):
    with pytest.raises(DatabaseError, match="already open"):
        await database.open()


async def test_open_failure_is_a_database_error(tmp_path):
    (tmp_path / "folder.db").mkdir()
    with pytest.raises(DatabaseError, match="cannot open database"):
        await Database(tmp_path / "folder.db").open()
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    db = Database(tmp_path / "junk.db")
    with pytest.raises(DatabaseError, match="cannot open database"):
        await db.open()
    assert db._writer is None


async def test_open_closes_the_writer_when_a_reader_fails(tmp_path, monkeypatch):
    import www.db.sqlite

    real_connect = www.db.sqlite._connect

    error = sqlite3.OperationalError("no more file handles")

    async def failing_for_readers(path, busy_timeout_ms, *, read_only):
        if read_only:
            raise error
        return await real_connect(path, busy_timeout_ms, read_only=read_only)

    monkeypatch.setattr(www.db.sqlite, "_connect", failing_for_readers)
    db = Database(tmp_path / "test.db")
    with pytest.raises(DatabaseError, match="no more file handles"):
        await db.open()
    assert db._writer is None and db._readers == []
    error = RuntimeError("not a database problem")  # passed through as it is
    with pytest.raises(RuntimeError, match="not a database problem"):
        await db.open()
    assert db._writer is None and db._readers == []


async def test_close_is_idempotent_and_the_database_can_reopen(tmp_path):
    async with Database(tmp_path / "test.db") as db:
        await db.execute("CREATE TABLE t (x)")
    await db.close()
    await db.close()
    with pytest.raises(DatabaseError, match="not open"):
        await db.fetchall("SELECT 1")
    with pytest.raises(DatabaseError, match="not open"):
        await db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(DatabaseError, match="not open"):
        await db.transaction().__aenter__()
    await db.open()
    assert await db.fetchall("SELECT count(*) FROM t") == [(0,)]
    await db.close()


async def test_ping(tmp_path):
    db = Database(tmp_path / "test.db")
    assert await db.ping() is False  # not open yet
    await db.open()
    assert await db.ping() is True
    await db._readers[0].close()  # a broken connection: False, never an exception
    assert await db.ping() is False
    await db.close()
    assert await db.ping() is False


# --- the executor interface ------------------------------------------------------------


async def test_execute_fetch_and_executemany(database):
    result = await database.execute("INSERT INTO parents (name) VALUES (?)", ("p",))
    assert (result.rowcount, result.lastrowid) == (1, 1)
    result = await database.executemany(
        "INSERT INTO children (label, parent_id) VALUES (?, ?)", [("a", 1), ("b", 1), ("c", 1)]
    )
    assert result.rowcount == 3
    assert await labels(database) == ["a", "b", "c"]
    assert await database.fetchone("SELECT label FROM children WHERE label = ?", ("b",)) == ("b",)
    assert await database.fetchone("SELECT label FROM children WHERE label = 'zzz'") is None
    update = await database.execute("UPDATE children SET label = upper(label)")
    assert update.rowcount == 3


async def test_executemany_is_atomic(database):
    await database.execute("INSERT INTO parents (name) VALUES ('p')")
    with pytest.raises(IntegrityError):
        await database.executemany("INSERT INTO parents (name) VALUES (?)", [("q",), ("p",)])
    assert await database.fetchall("SELECT name FROM parents") == [("p",)]


async def test_errors_are_translated(database):
    await database.execute("INSERT INTO parents (name) VALUES ('p')")
    with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: parents\.name") as info:
        await database.execute("INSERT INTO parents (name) VALUES ('p')")
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await database.execute("INSERT INTO children (label, parent_id) VALUES ('x', 99)")
    with pytest.raises(IntegrityError, match="NOT NULL"):
        await database.execute("INSERT INTO children (label) VALUES (NULL)")
    with pytest.raises(DatabaseError, match="syntax error") as info:
        await database.fetchall("SELEKT 1")
    assert not isinstance(info.value, IntegrityError)
    async with database.transaction() as tx:
        with pytest.raises(DatabaseError, match="no such table"):
            await tx.fetchall("SELECT * FROM nowhere")
        with pytest.raises(DatabaseError, match="no such table"):
            await tx.execute("DELETE FROM nowhere")
        with pytest.raises(IntegrityError):
            await tx.executemany("INSERT INTO parents (name) VALUES (?)", [("p",)])


async def test_readers_cannot_write(database):
    """Reads go to read-only connections: a write there would bypass the writer's lock."""
    with pytest.raises(DatabaseError, match="readonly"):
        await database.fetchall("INSERT INTO parents (name) VALUES ('x') RETURNING id")
    assert await database.fetchall("SELECT * FROM parents") == []


async def test_reads_take_turns_on_the_readers(database):
    seen = set()
    real = [reader.execute_fetchall for reader in database._readers]

    def spy(index):
        async def execute_fetchall(sql, params):
            seen.add(index)
            await asyncio.sleep(0.01)
            return await real[index](sql, params)

        return execute_fetchall

    for index, reader in enumerate(database._readers):
        reader.execute_fetchall = spy(index)
    await asyncio.gather(*(database.fetchall("SELECT 1") for _ in range(4)))
    assert seen == {0, 1}
    seen.clear()
    await database.fetchall("SELECT 1")
    await database.fetchall("SELECT 1")
    assert seen == {0, 1}  # one task after another too


# --- transactions ----------------------------------------------------------------------


async def test_transaction_commits(database):
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO parents (name) VALUES ('p')")
        await tx.execute("INSERT INTO children (label, parent_id) VALUES ('a', 1)")
        assert await tx.fetchone("SELECT count(*) FROM children") == (1,)
    assert await labels(database) == ["a"]


async def test_transaction_rolls_back_on_error(database):
    with pytest.raises(RuntimeError, match="boom"):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('a')")
            raise RuntimeError("boom")
    assert await labels(database) == []
    assert not database._write_lock.locked()
    with pytest.raises(DatabaseError, match="not active"):
        await tx.execute("INSERT INTO children (label) VALUES ('late')")


async def test_a_transaction_is_entered_once(database):
    tx = database.transaction()
    async with tx:
        pass
    with pytest.raises(DatabaseError, match="entered once"):
        async with tx:
            pass


async def test_database_calls_inside_a_transaction_join_it(database):
    with pytest.raises(RuntimeError):
        async with database.transaction():
            await database.execute("INSERT INTO children (label) VALUES ('a')")
            await database.executemany("INSERT INTO children (label) VALUES (?)", [("b",)])
            # reads in the transaction's task see its uncommitted writes
            assert await labels(database) == ["a", "b"]
            assert await database.fetchone("SELECT count(*) FROM children") == (2,)
            raise RuntimeError
    assert await labels(database) == []


async def test_other_tasks_do_not_see_uncommitted_writes(database):
    inserted, release = asyncio.Event(), asyncio.Event()

    async def writer():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('a')")
            inserted.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await asyncio.wait_for(inserted.wait(), TIMEOUT)
    assert await labels(database) == []  # a reader, not the open transaction
    release.set()
    await asyncio.wait_for(task, TIMEOUT)
    assert await labels(database) == ["a"]


async def test_a_task_started_in_a_transaction_does_not_join_it(database):
    """It waits for the writer instead, so it can outlive the transaction safely."""
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO children (label) VALUES ('in tx')")
        child = asyncio.create_task(
            database.execute("INSERT INTO children (label) VALUES ('child')")
        )
        await asyncio.sleep(0.05)
        assert not child.done()  # queued behind the transaction
        assert await tx.fetchall("SELECT label FROM children") == [("in tx",)]
    await asyncio.wait_for(child, TIMEOUT)
    assert await labels(database) == ["in tx", "child"]


async def test_nested_transaction_is_a_savepoint(database):
    async with database.transaction() as outer:
        await outer.execute("INSERT INTO children (label) VALUES ('outer')")
        with pytest.raises(RuntimeError):
            async with outer.transaction() as inner:
                await inner.execute("INSERT INTO children (label) VALUES ('inner')")
                raise RuntimeError
        async with outer.transaction() as kept:
            await kept.execute("INSERT INTO children (label) VALUES ('kept')")
        assert await outer.fetchall("SELECT label FROM children") == [("outer",), ("kept",)]
    assert await labels(database) == ["outer", "kept"]


async def test_reentering_db_transaction_makes_a_savepoint_not_a_deadlock(database):
    async def body():
        async with database.transaction() as outer:
            await outer.execute("INSERT INTO children (label) VALUES ('outer')")
            with pytest.raises(RuntimeError):
                async with database.transaction() as inner:
                    assert inner is not outer
                    await database.execute("INSERT INTO children (label) VALUES ('inner')")
                    raise RuntimeError
            async with database.transaction(), database.transaction():  # two levels deep
                await database.execute("INSERT INTO children (label) VALUES ('deep')")

    await asyncio.wait_for(body(), TIMEOUT)
    assert await labels(database) == ["outer", "deep"]


async def test_outer_failure_undoes_released_savepoints(database):
    with pytest.raises(RuntimeError):
        async with database.transaction() as outer:
            async with outer.transaction() as inner:
                await inner.execute("INSERT INTO children (label) VALUES ('inner')")
            raise RuntimeError
    assert await labels(database) == []


async def test_concurrent_transactions_are_isolated(database):
    """100 transactions at once, two inserts each; every third fails between its inserts."""

    async def work(i):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES (?)", (f"{i}-first",))
            await asyncio.sleep(0)  # let the others run while this transaction is open
            if i % 3 == 0:
                raise RuntimeError(f"transaction {i} fails")
            await tx.execute("INSERT INTO children (label) VALUES (?)", (f"{i}-second",))

    results = await asyncio.wait_for(
        asyncio.gather(*(work(i) for i in range(100)), return_exceptions=True), TIMEOUT
    )
    failed = {i for i, result in enumerate(results) if result is not None}
    assert failed == {i for i in range(100) if i % 3 == 0}
    assert all(type(results[i]) is RuntimeError for i in failed)  # no OperationalError
    stored = sorted(await labels(database))
    expected = sorted(f"{i}-{part}" for i in range(100) if i % 3 for part in ("first", "second"))
    assert stored == expected


async def test_readers_never_see_rows_that_are_rolled_back(database):
    done = False
    seen: set[str] = set()

    async def reader():
        while not done:
            seen.update(await labels(database))
            await asyncio.sleep(0)

    async def work(i):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES (?)", (f"{i}-a",))
            await asyncio.sleep(0.001)
            await tx.execute("INSERT INTO children (label) VALUES (?)", (f"{i}-b",))
            if i % 2:
                raise RuntimeError

    readers = [asyncio.create_task(reader()) for _ in range(3)]
    await asyncio.wait_for(
        asyncio.gather(*(work(i) for i in range(40)), return_exceptions=True), TIMEOUT
    )
    done = True
    await asyncio.gather(*readers)
    assert seen  # the readers did see committed rows meanwhile
    assert not any(int(label.split("-")[0]) % 2 for label in seen)
    assert len(await labels(database)) == 40


async def test_cancelling_inside_a_transaction_rolls_it_back(database):
    inserted = asyncio.Event()

    async def work():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('doomed')")
            inserted.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(work())
    await asyncio.wait_for(inserted.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await labels(database) == []
    # still usable: the writer lock is free and the connection outside a transaction
    async with asyncio.timeout(TIMEOUT), database.transaction() as tx:
        await tx.execute("INSERT INTO children (label) VALUES ('after')")
    assert await labels(database) == ["after"]


async def test_cancelling_during_a_write_rolls_it_back(database):
    async def work():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('one')")
            await tx.execute("INSERT INTO children (label) VALUES ('two')")

    for steps in range(1, 8):  # cancel at each await in turn: BEGIN, inserts, COMMIT
        task = asyncio.create_task(work())
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        async with asyncio.timeout(TIMEOUT), database.transaction() as tx:
            rows = await tx.fetchall("SELECT label FROM children")
            assert rows in ([], [("one",), ("two",)])  # all or nothing
            await tx.execute("DELETE FROM children")
    assert not database._write_lock.locked()


async def test_cancelling_while_waiting_for_the_writer(database):
    release = asyncio.Event()

    async def holder():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('held')")
            await release.wait()

    async def waiter():
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('never')")

    first = asyncio.create_task(holder())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0.05)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    await asyncio.wait_for(first, TIMEOUT)
    assert await labels(database) == ["held"]
    assert not database._write_lock.locked()


@contextlib.contextmanager
def another_process_writing(db):
    """Another connection (as another process would) holds the write lock meanwhile."""
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


async def assert_writer_works(db):
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO children (label) VALUES ('ok')")
    assert await labels(db) == ["ok"]


async def test_a_failed_begin_frees_the_writer(database):
    with another_process_writing(database):
        with pytest.raises(DatabaseError, match="locked"):
            async with database.transaction():
                pass
        assert not database._write_lock.locked()
    await assert_writer_works(database)


async def test_cancelling_while_begin_waits_for_another_process(database):
    with another_process_writing(database):
        task = asyncio.create_task(database.transaction().__aenter__())
        await asyncio.sleep(0.1)  # BEGIN IMMEDIATE is waiting out busy_timeout (1 s)
        task.cancel()
        await asyncio.sleep(0.1)  # the task now waits for its clean-up...
        task.cancel()  # ...which a second cancellation must not stop
        with pytest.raises(asyncio.CancelledError):
            await task
        async with asyncio.timeout(TIMEOUT):
            async with database._write_lock:  # freed once BEGIN has given up
                assert not database._writer.in_transaction
    await assert_writer_works(database)


async def test_a_failed_commit_rolls_back_and_raises(database):
    await database.execute(
        "CREATE TABLE deferred (id INTEGER PRIMARY KEY, parent_id INTEGER"
        " REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO deferred (parent_id) VALUES (42)")  # checked at COMMIT
    assert await database.fetchall("SELECT * FROM deferred") == []
    assert not database._write_lock.locked()
    assert not database._writer.in_transaction


async def test_a_failed_rollback_is_logged_not_raised_over_the_error(database, caplog):
    with pytest.raises(RuntimeError, match="original"), caplog.at_level(logging.ERROR):
        async with database.transaction() as tx:
            await tx.execute("COMMIT")  # the caller ended the transaction behind our back
            raise RuntimeError("original")
    assert "ROLLBACK failed" in caplog.text
    assert "no transaction is active" in caplog.text
    assert not database._write_lock.locked()


async def test_a_failing_recovery_is_logged_and_still_frees_the_writer(database, caplog):
    await database.execute(
        "CREATE TABLE deferred (id INTEGER PRIMARY KEY, parent_id INTEGER"
        " REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
    )

    async def broken(*args):
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(IntegrityError), caplog.at_level(logging.ERROR):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO deferred (parent_id) VALUES (42)")
            database._writer.execute_fetchall = broken  # the recovery's probe will fail
    assert "could not roll back an interrupted transaction" in caplog.text
    assert not database._write_lock.locked()
    del database._writer.execute_fetchall
    await database._writer.execute("ROLLBACK")  # what the recovery could not do


async def test_closing_during_a_transaction(database):
    with pytest.raises(DatabaseError, match="closed during the transaction"):
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO children (label) VALUES ('lost')")
            await database.close()
            await tx.execute("INSERT INTO children (label) VALUES ('too late')")
    assert not database._write_lock.locked()
    await database.open()
    assert await labels(database) == []
    with pytest.raises(DatabaseError, match="closed during the transaction"):
        async with database.transaction() as tx, tx.transaction():
            await database.close()  # the savepoint's RELEASE finds the connection gone
    assert not database._write_lock.locked()


async def test_create_and_drop_all(tmp_path):
    from www.orm import IntegerField, Model

    class Thing(Model):
        number = IntegerField(index=True)

    async with Database(tmp_path / "test.db") as db:
        await db.create_all([Thing])
        await db.create_all([Thing])  # IF NOT EXISTS
        names = {name for (name,) in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"things", "ix_things_number"} <= names
        await db.drop_all([Thing])
        assert await db.fetchall("SELECT name FROM sqlite_master WHERE name = 'things'") == []


# --- the dialect ------------------------------------------------------------------------


def test_dialect_basics():
    dialect = SQLiteDialect()
    assert dialect.placeholder(3) == "?"
    assert dialect.placeholders(1, 3) == "?, ?, ?"
    assert dialect.placeholders(1, 0) == ""
    assert dialect.quote('we"ird') == '"we""ird"'
    assert dialect.drop_table_sql("users") == 'DROP TABLE IF EXISTS "users"'


def test_dialect_translates_errors():
    error = SQLiteDialect().translate_error(sqlite3.IntegrityError("datatype mismatch"))
    assert (type(error), str(error)) == (IntegrityError, "datatype mismatch")
    assert type(SQLiteDialect().translate_error(sqlite3.OperationalError("x"))) is DatabaseError
