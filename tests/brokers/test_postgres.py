"""www.brokers.postgres: live messages through LISTEN/NOTIFY. Two databases on one schema
stand for two processes (each with its own pool and listening connection);
tests/test_scale_out.py runs the real thing with server processes."""

import asyncio
import logging

import pytest

from tests.brokers.conftest import WAIT, nothing_more, receive
from tests.databases import open_database
from www.brokers import BrokerMessage, NotifyBroker
from www.brokers.postgres import APPLICATION_NAME
from www.db import DatabaseError
from www.settings import LiveSettings

pytestmark = pytest.mark.postgres_only

SETTINGS = LiveSettings(poll_interval=0.05, keep_seconds=60, keep_rows=1000, reconnect_max=0.5)


@pytest.fixture
async def brokers(db, other_db):
    """A started broker per "process"."""
    made = [NotifyBroker(db, SETTINGS), NotifyBroker(other_db, SETTINGS)]
    for broker in made:
        await broker.start()
    yield made
    for broker in made:
        await broker.stop()


async def test_every_process_gets_each_message_once_in_order(brokers):
    first, second = brokers
    async with (
        first.subscribe("post:1") as a,
        second.subscribe("post:1") as b,
        second.subscribe("post:2") as elsewhere,
    ):
        for n in range(30):  # the two processes take turns to publish
            await brokers[n % 2].publish("post:1", {"n": n})
        for subscription in (a, b):
            assert [m["n"] for m in await receive(subscription, 30)] == list(range(30))
            assert await nothing_more(subscription)
        assert elsewhere.queue.empty()


async def test_messages_arrive_in_commit_order_not_id_order(db, other_db, brokers):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        async with db.transaction():
            await first.publish("post:1", "saved first, committed last")  # the smaller id
            async with other_db.transaction():
                await second.publish("post:1", "saved last, committed first")
        assert await receive(subscription, 2) == [
            "saved last, committed first",
            "saved first, committed last",
        ]


async def test_a_rolled_back_transaction_publishes_nothing(db, brokers):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await first.publish("post:1", "never")
                raise RuntimeError("the comment could not be saved")
        async with db.transaction():
            await first.publish("post:1", "committed")
        assert await receive(subscription, 1) == ["committed"]
        assert await nothing_more(subscription)
    assert await BrokerMessage.select(db).count() == 1


async def test_a_message_beyond_notify_payload_limit_arrives_whole(brokers):
    first, second = brokers
    message = {"type": "comment", "comment": {"content": 'é"<b>\n😀' * 1000}}  # 5,000 chars
    assert len(str(message).encode()) > 8000  # too long for a NOTIFY payload
    async with second.subscribe("post:1") as subscription:
        await first.publish("post:1", message)
        assert await receive(subscription, 1) == [message]


async def test_a_late_starter_does_not_replay_old_messages(db, other_db):
    early = NotifyBroker(db, SETTINGS)
    await early.start()
    late = NotifyBroker(other_db, SETTINGS)
    try:
        for n in range(3):
            await early.publish("post:1", n)
        await late.start()
        async with late.subscribe("post:1") as subscription:
            await early.publish("post:1", "new")
            assert await receive(subscription, 1) == ["new"]
            assert await nothing_more(subscription)
    finally:
        await late.stop()
        await early.stop()


async def terminate_listeners(db, channel: str) -> int:
    """pg_terminate_backend() the brokers' connections listening on `channel` (their last
    statement: other tests' brokers, in other schemas of this database, listen on their
    own channels, and run beside this one under pytest-xdist); how many."""
    rows = await db.fetchall(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = $1 AND datname = current_database() AND query = $2",
        (APPLICATION_NAME, f'LISTEN "{channel}"'),
    )
    return sum(1 for (killed,) in rows if killed)


async def test_a_killed_listener_reconnects_and_catches_up(db, brokers, caplog):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        await first.publish("post:1", "before")
        assert await receive(subscription, 1) == ["before"]
        with caplog.at_level(logging.WARNING, logger="www.brokers.base"):
            assert await terminate_listeners(db, first.channel) == 2
            await first.publish("post:1", "while away")  # no one listens to its NOTIFY
            async with asyncio.timeout(WAIT):
                while caplog.text.count("listening to PostgreSQL again") < 2:
                    await asyncio.sleep(0.01)
        assert "Live: lost PostgreSQL" in caplog.text
        await first.publish("post:1", "after")
        # what committed while away (with a newer id) is caught up, and nothing twice
        assert await receive(subscription, 2) == ["while away", "after"]
        assert await nothing_more(subscription)


async def test_a_notification_that_is_not_an_id_is_skipped(db, brokers, caplog):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        await db.fetchall("SELECT pg_notify($1, 'hello')", (second.channel,))
        await first.publish("post:1", "next")
        assert await receive(subscription, 1) == ["next"]
    assert "is not an id" in caplog.text


async def test_start_without_the_table_says_how_to_make_it(db_url):
    async with open_database(db_url) as empty:
        with pytest.raises(DatabaseError, match=r"init_db\.py creates the tables"):
            await NotifyBroker(empty, SETTINGS).start()


async def test_start_fails_rather_than_hangs_when_it_cannot_listen(db, monkeypatch):
    async def refused(**_options):
        raise OSError("too many connections")

    monkeypatch.setattr(db, "connect", refused)
    monkeypatch.setattr(db, "connect_timeout", 0.5)
    with pytest.raises(RuntimeError, match=r"could not listen for live comments within 0\.5 s"):
        await NotifyBroker(db, SETTINGS).start()
