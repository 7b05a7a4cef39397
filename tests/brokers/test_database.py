"""www.brokers.database: live messages through the database. Two Database objects on one
file stand for two processes (each has its own connections, as workers do);
tests/test_workers.py runs the real thing under gunicorn."""

import asyncio
import logging
from datetime import timedelta

import pytest

from tests.brokers.conftest import drain
from tests.conftest import with_tables
from www import DB
from www.app import create_app
from www.brokers import BrokerMessage, DatabaseBroker
from www.db import Database, DatabaseError
from www.keys import PUBSUB
from www.orm import utcnow
from www.settings import LiveSettings

# The database broker is the one for SQLite: it relies on ids given out in commit order,
# which PostgreSQL does not promise (there www/brokers/postgres.py is the broker).
pytestmark = pytest.mark.sqlite_only

SETTINGS = LiveSettings(poll_interval=0.01, keep_seconds=60, keep_rows=100, reconnect_max=1)


@pytest.fixture
async def brokers(db, other_db):
    """One started broker per "process", polled by hand (their tasks are stopped)."""
    made = [DatabaseBroker(db, SETTINGS), DatabaseBroker(other_db, SETTINGS)]
    for broker in made:
        await broker.start()
        await broker.stop()  # the tests call poll() themselves; last_id stays
    return made


async def test_every_process_gets_each_message_once_in_commit_order(brokers):
    first, second = brokers
    async with (
        first.subscribe("post:1") as a,
        second.subscribe("post:1") as b,
        second.subscribe("post:2") as elsewhere,
    ):
        for n in range(30):  # the two processes take turns to publish
            await brokers[n % 2].publish("post:1", {"n": n})
            if n % 7 == 0:  # and poll now and then, mid-stream
                await first.poll()
        await first.poll()
        await second.poll()
        assert await first.poll() == await second.poll() == 0  # nothing twice
        assert [m["n"] for m in drain(a)] == list(range(30))
        assert [m["n"] for m in drain(b)] == list(range(30))
        assert drain(elsewhere) == []


async def test_a_rolled_back_transaction_publishes_nothing(db, brokers):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await first.publish("post:1", "never")
                raise RuntimeError("the comment could not be saved")
        async with db.transaction():
            await first.publish("post:1", "committed")
        assert await second.poll() == 1
        assert drain(subscription) == ["committed"]
    assert await BrokerMessage.select(db).count() == 1


async def test_a_long_message_arrives_whole(brokers):
    first, second = brokers
    message = {"type": "comment", "comment": {"content": 'é"<b>\n😀' * 1000}}  # 5,000 chars
    async with second.subscribe("post:1") as subscription:
        await first.publish("post:1", message)
        await second.poll()
        assert drain(subscription) == [message]


async def test_a_late_starter_does_not_replay_old_messages(db, other_db):
    early = DatabaseBroker(db, SETTINGS)
    await early.start()
    try:
        for n in range(3):
            await early.publish("post:1", n)
        late = DatabaseBroker(other_db, SETTINGS)
        await late.start()
        await late.stop()
        async with late.subscribe("post:1") as subscription:
            assert await late.poll() == 0
            await early.publish("post:1", "new")
            assert await late.poll() == 1
            assert drain(subscription) == ["new"]
    finally:
        await early.stop()


async def test_a_slow_subscriber_loses_its_oldest_and_delays_no_one(brokers):
    first, second = brokers
    async with second.subscribe("c") as slow, second.subscribe("c") as fast:
        received = []
        for n in range(150):
            await first.publish("c", n)
            await second.poll()
            received += drain(fast)
        assert received == list(range(150))
        assert drain(slow) == list(range(50, 150))  # max_pending: 100
        assert slow.dropped == 50


async def test_a_long_batch_reaches_a_reading_subscriber_whole(brokers, monkeypatch):
    first, second = brokers
    monkeypatch.setattr(second, "BATCH", 100)  # read in three queries
    async with second.subscribe("c") as subscription:
        for n in range(250):  # more than a subscription holds (100)
            await first.publish("c", n)

        async def read():
            return [await subscription.get() for _ in range(250)]

        reader = asyncio.create_task(read())
        assert await second.poll() == 250  # one poll, as after a pause
        async with asyncio.timeout(5):
            assert await reader == list(range(250))
        assert subscription.dropped == 0


async def test_a_message_that_is_not_json_is_skipped(db, brokers, caplog):
    first, second = brokers
    async with second.subscribe("c") as subscription:
        await first.publish("c", "before")
        await BrokerMessage.create(db, channel="c", payload="{not json")
        await first.publish("c", "after")
        assert await second.poll() == 2
        assert drain(subscription) == ["before", "after"]
    assert "Live message 2 is not JSON: skipped" in caplog.text


async def test_the_polling_task_delivers_what_another_process_commits(db, other_db):
    listener, publisher = DatabaseBroker(db, SETTINGS), DatabaseBroker(other_db, SETTINGS)
    await listener.start()
    try:
        async with listener.subscribe("post:1") as subscription:
            assert listener.subscribers("post:1") == 1
            async with other_db.transaction():
                await publisher.publish("post:1", {"hello": "world"})
            async with asyncio.timeout(5):
                assert await subscription.get() == {"hello": "world"}
        assert listener.subscribers("post:1") == 0
    finally:
        await listener.stop()
    await listener.stop()  # twice is fine


async def test_a_commit_of_this_process_is_delivered_without_waiting_for_the_poll(db):
    """With an hour between polls, what this process commits still arrives: its commit
    wakes the polling task. What it rolls back wakes nothing and arrives never."""
    broker = DatabaseBroker(db, SETTINGS.model_copy(update={"poll_interval": 3600}))
    await broker.start()
    try:
        async with broker.subscribe("post:1") as subscription:
            await asyncio.sleep(0.05)  # the task is in its hour-long wait now
            with pytest.raises(RuntimeError):
                async with db.transaction():
                    await broker.publish("post:1", "rolled back")
                    raise RuntimeError("not saved")
            async with db.transaction():
                await broker.publish("post:1", "first")
            await broker.publish("post:1", "second")  # outside a transaction: committed now
            async with asyncio.timeout(5):  # a hang guard: the next poll is an hour away
                assert [await subscription.get(), await subscription.get()] == ["first", "second"]
            assert drain(subscription) == []
    finally:
        await broker.stop()


async def test_the_polling_task_survives_database_errors(db, other_db, caplog, monkeypatch):
    broker = DatabaseBroker(db, SETTINGS)
    monkeypatch.setattr(broker, "RETRY_AFTER", 0.01)
    real_data_version, failures = db.data_version, []

    async def flaky_data_version():
        if len(failures) < 2:
            failures.append(1)
            raise DatabaseError("disk I/O error")
        return await real_data_version()

    monkeypatch.setattr(db, "data_version", flaky_data_version)
    await broker.start()
    try:
        async with broker.subscribe("post:1") as subscription:
            await DatabaseBroker(other_db, SETTINGS).publish("post:1", "still here")
            async with asyncio.timeout(5):
                assert await subscription.get() == "still here"
    finally:
        await broker.stop()
    assert caplog.text.count("Could not read live messages") == 2


async def old_messages(db, count: int, age: float) -> None:
    created_at = utcnow() - timedelta(seconds=age)
    rows = [{"channel": "c", "payload": "0", "created_at": created_at}] * count
    await BrokerMessage.insert_many(db, rows)


async def test_trim_deletes_what_is_older_than_keep_seconds(db):
    broker = DatabaseBroker(db, SETTINGS)
    await old_messages(db, 3, age=61)
    await old_messages(db, 2, age=30)
    await broker.start()
    await broker.stop()
    assert await broker.trim() == 3
    assert await BrokerMessage.select(db).count() == 2


async def test_trim_keeps_the_newest_keep_rows(db):
    broker = DatabaseBroker(db, SETTINGS)
    await old_messages(db, 105, age=0)
    await broker.start()
    await broker.stop()
    assert await broker.trim() == 5
    assert await BrokerMessage.select(db).count() == 100
    assert await broker.trim() == 0


async def test_trim_with_nothing_to_delete_writes_nothing(db, other_db):
    broker = DatabaseBroker(db, SETTINGS)
    await broker.start()
    await broker.stop()
    assert await broker.trim() == 0  # an empty table
    await old_messages(db, 3, age=1)
    version = await other_db.data_version()
    assert await broker.trim() == 0
    assert await other_db.data_version() == version  # no commit: nobody woken


async def test_the_polling_task_trims_as_it_goes(db, monkeypatch, caplog):
    broker = DatabaseBroker(db, SETTINGS)
    monkeypatch.setattr(broker.messages, "TRIM_EVERY", 0.0)
    await old_messages(db, 3, age=120)
    await broker.start()
    try:
        async with asyncio.timeout(5):
            while await BrokerMessage.select(db).count():
                await asyncio.sleep(0.01)

        async def broken_trim(last_id):
            raise DatabaseError("database is locked")

        monkeypatch.setattr(broker.messages, "trim", broken_trim)
        async with asyncio.timeout(5):
            while "Could not trim live messages" not in caplog.text:
                await asyncio.sleep(0.01)
    finally:
        await broker.stop()


async def test_a_process_that_fell_behind_the_trimming_says_so(brokers, caplog):
    first, second = brokers  # a fresh database: the messages get ids 1, 2, 3...
    async with second.subscribe("c") as subscription:
        for n in range(3):
            await first.publish("c", n)
        await second.poll()
        assert drain(subscription) == [0, 1, 2]
        for n in range(3, 108):
            await first.publish("c", n)
        await first.poll()
        assert await first.trim() == 8  # ids 1 to 8: beyond the newest 100
        with caplog.at_level(logging.WARNING, logger="www.brokers.database"):
            assert await second.poll() == 100
        assert drain(subscription) == list(range(8, 108))  # 3 to 7 are lost
    assert "Live messages 4 to 8 were trimmed before this process read them" in caplog.text


async def test_start_without_the_table_says_how_to_make_it(tmp_path):
    async with Database(tmp_path / "empty.db") as db:
        broker = DatabaseBroker(db, SETTINGS)
        with pytest.raises(DatabaseError, match=r"no such table.*init_db\.py"):
            await broker.start()


async def test_an_app_whose_broker_cannot_start_closes_its_database(settings, monkeypatch):
    app = with_tables(create_app(settings))

    async def cannot_start():
        raise DatabaseError("database is locked")

    monkeypatch.setattr(app[PUBSUB], "start", cannot_start)
    app.freeze()
    with pytest.raises(DatabaseError, match="locked"):
        await app.startup()
    assert not await app[DB].ping()


async def test_started_once_and_used_after_start(db):
    broker = DatabaseBroker(db, SETTINGS)
    with pytest.raises(RuntimeError, match="not started"):
        await broker.poll()
    with pytest.raises(RuntimeError, match="not started"):
        await broker.trim()
    await broker.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            await broker.start()
    finally:
        await broker.stop()
