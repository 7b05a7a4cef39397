"""Live comments over WebSocket, and the publish/subscribe behind them."""

import asyncio
import base64
import json
import logging
import os
import socket

import aiohttp
import pytest
from aiohttp import WSMsgType

from www import DB
from www.brokers import BrokerMessage
from www.db import DatabaseError
from www.keys import PUBSUB, SOCKETS
from www.posts import live
from www.posts.actions import channel
from www.posts.models import Comment, Post
from www.pubsub import InProcessPubSub

SEND_TIMEOUT = 0.5  # server.websocket_send_timeout here: a stalled client goes in seconds
WAIT = 15.0  # a bound on what takes a few seconds at most (well below the 25 s heartbeat)


@pytest.fixture
def settings(settings):
    """The usual test settings with a short server.websocket_send_timeout. Only a client
    that stops reading ever meets it: the other tests' sockets read all they are sent."""
    server = settings.server.model_copy(update={"websocket_send_timeout": SEND_TIMEOUT})
    return settings.model_copy(update={"server": server})


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


async def stalled_socket(client, post_id) -> socket.socket:
    """A WebSocket client that makes the handshake by hand and then never reads: a raw
    socket with a small receive buffer (set before connecting, so the TCP window is
    small too). It asks for no compression, so every byte sent has to go through."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /ws/posts/{post_id} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    async with asyncio.timeout(WAIT):
        await loop.sock_connect(sock, (client.host, client.port))
        await loop.sock_sendall(sock, handshake.encode())
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 1)  # the response's head, not a byte more
    assert head.startswith(b"HTTP/1.1 101 ")
    return sock


async def read_to_the_end(sock: socket.socket) -> int:
    """Read what the server sent until it closed the connection; how many bytes."""
    loop, received = asyncio.get_running_loop(), 0
    async with asyncio.timeout(WAIT):
        while True:
            try:
                data = await loop.sock_recv(sock, 1 << 16)
            except ConnectionResetError:
                return received
            if not data:
                return received
            received += len(data)


async def test_a_client_that_stops_reading_is_dropped(auth, client, app, post, caplog):
    """Messages pile up for a client that reads nothing, until a send waits longer than
    server.websocket_send_timeout: then its connection is cut (its close frame cannot get
    through), its handler ends, and the other sockets carry on."""
    caplog.set_level(logging.INFO, logger=live.__name__)
    server = client.server.runner.server  # aiohttp's, which counts the open connections
    before = len(server.connections)
    sock = await stalled_socket(client, post.id)
    try:
        await wait_for_subscribers(app, post.id, 1)
        assert len(app[SOCKETS]) == 1
        big = {"type": "comment", "comment": {"content": "x" * 256 * 1024}}
        async with asyncio.timeout(WAIT):
            while app[SOCKETS]:  # enough to fill the kernel's buffers, then the transport's
                await app[PUBSUB].publish(channel(post.id), big)
                await asyncio.sleep(0.01)
            while len(server.connections) > before:
                await asyncio.sleep(0.01)  # closed by the server, with nothing read yet
        assert app[PUBSUB].subscribers(channel(post.id)) == 0
        assert await read_to_the_end(sock) > 0  # what the kernel held, then the end
    finally:
        sock.close()
    assert "Dropping a WebSocket client that stopped reading" in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []

    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    await wait_for_subscribers(app, post.id, 1)
    await auth.login_as("carol")
    assert (await auth.post(f"/posts/{post.id}/comments", {"content": "after"})).status == 303
    message = await ws.receive_json(timeout=WAIT)
    assert message["comment"]["content"] == "after"
    await ws.close()


async def test_a_reading_client_gets_every_message_sent_quickly(client, app, post, monkeypatch):
    """Many small messages at once: each is sent without a timer (the transport's buffer
    has room for it, so the send cannot wait), and none is lost or reordered."""
    fast = []

    def cannot_wait(transport, text):
        fast.append(can_skip_timer(transport, text))
        return fast[-1]

    can_skip_timer = live._cannot_wait
    monkeypatch.setattr(live, "_cannot_wait", cannot_wait)
    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    await wait_for_subscribers(app, post.id, 1)
    count = 300
    for n in range(count):
        await app[PUBSUB].publish(channel(post.id), {"type": "test", "n": n})
    received = [(await ws.receive_json(timeout=WAIT))["n"] for _ in range(count)]
    assert received == list(range(count))
    assert fast == [True] * count
    await ws.close()


class Buffered:
    """What _cannot_wait reads of a transport. asyncio pauses writing when the buffer
    passes the high-water mark, and resumes it only once the buffer is back at the low
    one: in between, a transport may be paused or not."""

    def __init__(self, size: int) -> None:
        self.size = size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return 16 * 1024, 64 * 1024  # asyncio's defaults (low, high)

    def get_write_buffer_size(self) -> int:
        return self.size


@pytest.mark.parametrize(
    ("buffered", "characters", "fast"),
    [
        (0, 1000, True),  # the usual case: an empty buffer, a comment
        (16 * 1024, 1000, True),  # at the low-water mark: not paused, and room left
        (0, 16 * 1024, False),  # the frame alone could pass the high-water mark
        (40 * 1024, 1000, False),  # room left, but still paused if it passed the high mark
    ],
)
def test_a_send_skips_its_timer_only_when_it_cannot_wait(buffered, characters, fast):
    assert live._cannot_wait(Buffered(buffered), "é" * characters) is fast
