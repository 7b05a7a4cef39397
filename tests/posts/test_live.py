"""Live comments over WebSocket, and the publish/subscribe behind them."""

import asyncio
import json

import aiohttp
import pytest
from aiohttp import WSMsgType

from www import DB
from www.brokers import BrokerMessage
from www.db import DatabaseError
from www.keys import PUBSUB, SOCKETS
from www.posts.models import Comment, Post
from www.pubsub import InProcessPubSub


@pytest.fixture
async def post(auth, app):
    author = await auth.create_user("author")
    return await Post.create(app[DB], user_id=author.id, title="Live")


async def wait_for_subscribers(app, post_id, count):
    async with asyncio.timeout(5):
        while app[PUBSUB].subscribers(f"post:{post_id}") < count:
            await asyncio.sleep(0.01)


async def test_comment_from_form_reaches_every_socket(auth, client, aiohttp_client, app, post):
    first = await client.ws_connect(f"/ws/posts/{post.id}")
    other_client = await aiohttp_client(client.server)
    second = await other_client.ws_connect(f"/ws/posts/{post.id}")
    await wait_for_subscribers(app, post.id, 2)

    commenter = await auth.login_as("carol")
    resp = await auth.post(f"/posts/{post.id}/comments", {"content": "Hello <b>live</b>"})
    assert resp.status == 303

    for ws in (first, second):
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "comment"
        comment = message["comment"]
        assert comment["content"] == "Hello <b>live</b>"
        assert comment["post_id"] == post.id
        assert comment["author"] == {"id": commenter.id, "name": "carol"}
        assert set(comment) == {"id", "post_id", "content", "author", "created_at"}
        await ws.close()


@pytest.mark.sqlite_only  # the database broker (www/brokers/database.py) is SQLite's
async def test_a_comment_and_its_announcement_are_one_transaction(auth, app, post, monkeypatch):
    await auth.login_as("carol")
    assert (await auth.post(f"/posts/{post.id}/comments", {"content": "saved"})).status == 303
    message = await BrokerMessage.select(app[DB]).first()
    assert message.channel == f"post:{post.id}"
    assert '"content":"saved"' in message.payload
    publish = app[PUBSUB].publish

    async def publish_then_fail(channel, message):
        await publish(channel, message)
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(app[PUBSUB], "publish", publish_then_fail)
    assert (await auth.post(f"/posts/{post.id}/comments", {"content": "lost"})).status == 500
    assert [c.content for c in await Comment.select(app[DB]).all()] == ["saved"]
    assert await BrokerMessage.select(app[DB]).count() == 1  # nothing announced


async def test_sockets_on_other_posts_hear_nothing(auth, client, app, post):
    other = await Post.create(app[DB], user_id=post.user_id, title="Quiet")
    ws = await client.ws_connect(f"/ws/posts/{other.id}")
    await wait_for_subscribers(app, other.id, 1)
    await auth.login_as("carol")
    await auth.post(f"/posts/{post.id}/comments", {"content": "elsewhere"})
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive_json(timeout=0.3)
    await ws.close()


async def test_cross_site_origin_is_refused(client, post):
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect(f"/ws/posts/{post.id}", origin="https://evil.example")
    assert info.value.status == 403


async def test_same_origin_is_accepted(client, post):
    ws = await client.ws_connect(
        f"/ws/posts/{post.id}", origin=f"http://{client.host}:{client.port}"
    )
    await ws.close()


async def test_missing_post_is_404(client):
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws/posts/999")
    assert info.value.status == 404


async def test_socket_is_forgotten_when_client_leaves(client, app, post):
    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    await wait_for_subscribers(app, post.id, 1)
    assert len(app[SOCKETS]) == 1
    await ws.close()
    async with asyncio.timeout(5):
        while app[SOCKETS] or app[PUBSUB].subscribers(f"post:{post.id}"):
            await asyncio.sleep(0.01)


async def test_oversized_client_message_closes_the_socket(client, app, post):
    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    await ws.send_str("x" * 10_000)
    message = await ws.receive(timeout=5)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    await ws.close()


async def test_shutdown_closes_sockets_with_1001(client, app, post):
    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    await wait_for_subscribers(app, post.id, 1)
    shutdown = asyncio.create_task(app.shutdown())
    message = await ws.receive(timeout=5)
    assert message.type == WSMsgType.CLOSE
    assert message.data == 1001
    await ws.close()
    await asyncio.wait_for(shutdown, 5)


async def test_in_process_pubsub_is_a_broker_for_one_process():
    pubsub = InProcessPubSub()
    await pubsub.start()
    async with pubsub.subscribe("c") as subscription:
        await pubsub.publish("c", {"n": 1})
        assert subscription.queue.get_nowait() == {"n": 1}
    await pubsub.stop()


async def test_a_message_is_encoded_once_for_all_its_subscribers():
    """Each socket sends get_json()'s text: the same str for every subscriber of the
    message (encoded once), and equal messages published apart are encoded apart."""
    pubsub = InProcessPubSub()
    async with pubsub.subscribe("c") as one, pubsub.subscribe("c") as two:
        pubsub.deliver("c", {"comment": {"id": 1, "content": "é <b>"}})
        pubsub.deliver("c", {"comment": {"id": 1, "content": "é <b>"}})
        first, second = await one.get_json(), await two.get_json()
        assert first is second and json.loads(first) == {"comment": {"id": 1, "content": "é <b>"}}
        assert await one.get_json() == first and await two.get_json() is not first


async def test_pubsub_slow_subscriber_loses_oldest_not_blocking():
    pubsub = InProcessPubSub(max_pending=3)
    async with pubsub.subscribe("c") as slow, pubsub.subscribe("c") as fast:
        for n in range(5):
            assert pubsub.deliver("c", n) == 2  # never waits for the slow one
            if n < 4:
                assert await fast.get() == n
        assert [await slow.get() for _ in range(3)] == [2, 3, 4]
        assert slow.dropped == 2
    assert pubsub.subscribers("c") == 0
    assert pubsub.deliver("c", "nobody listens") == 0
