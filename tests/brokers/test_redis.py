"""www.brokers.redis: live messages through Redis pub/sub, with a redis-server of the
test's own (tests/services.py). Two brokers stand for two processes; the database is only
there for the transactions whose commits they announce."""

import asyncio
import logging

import pytest

from tests.brokers.conftest import WAIT, nothing_more, receive
from www.brokers import RedisBroker
from www.settings import LiveSettings, RedisSettings

LIVE = LiveSettings(poll_interval=0.05, keep_seconds=60, keep_rows=1000, reconnect_max=0.5)


def settings(url: str, prefix: str = "test") -> RedisSettings:
    return RedisSettings(url=url, key_prefix=prefix, timeout=1.0)


@pytest.fixture
async def brokers(db, other_db, redis_server):
    made = [
        RedisBroker(db, settings(redis_server.url), LIVE),
        RedisBroker(other_db, settings(redis_server.url), LIVE),
    ]
    for broker in made:
        await broker.start()
    yield made
    for broker in made:
        await broker.stop()


async def test_every_process_gets_each_message_once_in_order(db, brokers):
    first, second = brokers
    async with (
        first.subscribe("post:1") as a,
        second.subscribe("post:1") as b,
        second.subscribe("post:2") as elsewhere,
    ):
        for n in range(30):
            async with db.transaction():  # as add_comment does, or in no transaction
                await brokers[n % 2].publish("post:1", {"n": n})
        for subscription in (a, b):
            assert [m["n"] for m in await receive(subscription, 30)] == list(range(30))
            assert await nothing_more(subscription)
        assert elsewhere.queue.empty()


async def test_only_what_commits_is_published_and_only_after_the_commit(db, brokers):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await first.publish("post:1", "never")
                raise RuntimeError("the comment could not be saved")
        async with db.transaction():
            await first.publish("post:1", "committed")
            assert await nothing_more(subscription)  # not before the COMMIT
        assert await receive(subscription, 1) == ["committed"]
        assert await nothing_more(subscription)


async def test_a_long_message_arrives_whole(brokers):
    first, second = brokers
    message = {"type": "comment", "comment": {"content": 'é"<b>\n😀' * 1000}}  # 5,000 chars
    async with second.subscribe("post:1") as subscription:
        await first.publish("post:1", message)
        assert await receive(subscription, 1) == [message]


async def test_sites_with_other_key_prefixes_do_not_hear_each_other(db, brokers, redis_server):
    first, _ = brokers
    other_site = RedisBroker(db, settings(redis_server.url, prefix="other"), LIVE)
    await other_site.start()
    try:
        async with other_site.subscribe("post:1") as subscription:
            await first.publish("post:1", "for test only")
            assert await nothing_more(subscription)
    finally:
        await other_site.stop()


async def reconnected(caplog, times: int) -> None:
    """Until `times` subscriptions in all have said they listen again."""
    async with asyncio.timeout(WAIT):
        while caplog.text.count("listening to Redis at") < times:
            await asyncio.sleep(0.01)


async def test_a_restarted_redis_is_reconnected_to(brokers, redis_server, caplog):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        await first.publish("post:1", "before")
        assert await receive(subscription, 1) == ["before"]
        with caplog.at_level(logging.WARNING):
            pid = redis_server.pid
            redis_server.restart()  # nothing published meanwhile: pooled connections are stale
            assert redis_server.pid != pid
            await reconnected(caplog, 2)
            assert "Live: lost Redis" in caplog.text
            await first.publish("post:1", "after")  # the first one after the restart arrives
            assert await receive(subscription, 1) == ["after"]

            redis_server.stop()
            await first.publish("post:1", "lost")  # Redis is down: logged, not raised
            assert "could not publish to Redis" in caplog.text
            redis_server.start()
            await reconnected(caplog, 4)
        await first.publish("post:1", "again")
        assert await receive(subscription, 1) == ["again"]
        assert await nothing_more(subscription)


async def test_start_with_redis_unreachable_names_it_without_password(db, redis_server):
    url = redis_server.url.replace("redis://", "redis://user:s3cret@")
    redis_server.stop()
    broker = RedisBroker(db, settings(url), LIVE)
    with pytest.raises(ConnectionError) as raised:
        await broker.start()
    assert f"127.0.0.1:{redis_server.port}" in str(raised.value)
    assert "s3cret" not in str(raised.value)


async def test_a_message_that_is_not_ours_is_skipped(brokers, redis_server, caplog):
    first, second = brokers
    async with second.subscribe("post:1") as subscription:
        await first.client.publish(first.channel, "not JSON")
        await first.publish("post:1", "next")
        assert await receive(subscription, 1) == ["next"]
    assert "is not ours" in caplog.text


async def test_a_quiet_subscription_pings_now_and_then_not_in_a_loop(db, redis_server, monkeypatch):
    monkeypatch.setattr(RedisBroker, "KEEPALIVE", 0.1)
    broker = RedisBroker(db, settings(redis_server.url), LIVE)
    await broker.start()
    try:
        await asyncio.sleep(1.0)
        stats = await broker.client.info("commandstats")
    finally:
        await broker.stop()
    pings = stats.get("cmdstat_ping", {}).get("calls", 0)
    assert 3 <= pings <= 30, pings  # about one per KEEPALIVE while nothing is published
