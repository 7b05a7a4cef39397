"""Slow and idle clients cannot hold a process: read timeouts and the connection caps.

The app is served on 127.0.0.1 by www/connections.py's GuardedRunner, as `python -m www`
serves it, and raw sockets play the hostile clients; two tests check that `python -m www`
and the gunicorn worker really serve through it.
"""

import asyncio
import contextlib
import resource
import socket
import sys
import time

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import overrides_for, with_tables
from tests.helpers import COOKIE, make_post
from tests.serving import clean_env, free_port, init_db, serving, write_config
from www import DB
from www.accounts.models import User
from www.app import create_app
from www.connections import FD_RESERVE, GuardedRunner, connection_cap
from www.keys import SOCKETS

WAIT = 5.0  # seconds: a generous bound on what should happen well within a second
LONG = 60.0  # a timeout that must not be the one at work in a test
SHORT = 0.3


def limited(settings, **server):
    """`settings` with these server.* values, every timeout long unless given."""
    values = {"header_timeout": LONG, "body_timeout": LONG, "keepalive_timeout": LONG, **server}
    return settings.model_copy(update={"server": settings.server.model_copy(update=values)})


@contextlib.asynccontextmanager
async def running(settings, **server):
    """The app served by GuardedRunner on 127.0.0.1; yields (runner, base URL)."""
    runner = GuardedRunner(with_tables(create_app(limited(settings, **server))))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield runner, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def connect(url: str):
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes the connection within WAIT seconds (anything it sends
    before, such as a response, is read and dropped)."""
    try:
        async with asyncio.timeout(WAIT):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


async def healthz(url: str) -> int:
    timeout = aiohttp.ClientTimeout(total=WAIT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{url}/healthz") as resp,
    ):
        return resp.status


async def test_idle_connections_beyond_the_cap_make_room_for_real_clients(settings, caplog):
    async with running(settings, max_connections=4) as (runner, url):
        idle = [await connect(url) for _ in range(12)]  # no byte sent, ever
        assert await healthz(url) == 200
        closed = [await closed_by_server(reader) for reader, _ in idle[:8]]
        assert all(closed)  # the oldest idle ones made room
        assert len(runner.server.open) <= 4
        assert "server.max_connections (4) reached" in caplog.text
        assert caplog.text.count("max_connections") == 1  # one line, not one each
        for _, writer in idle:
            writer.close()


async def test_when_every_connection_is_busy_a_new_one_is_closed(settings):
    async with running(settings, max_connections=2) as (runner, url):
        # Two requests whose bodies never come: both connections are busy.
        busy = []
        for _ in range(2):
            head = await login_head(url, length=100)
            reader, writer = await connect(url)
            writer.write(head + b'{"email": ')
            busy.append((reader, writer))
        await wait_for(lambda: sum(not h.idle for h in runner.server.open) == 2)
        reader, writer = await connect(url)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await closed_by_server(reader)
        for _, each in [*busy, (reader, writer)]:
            each.close()


async def test_half_a_request_head_is_closed_after_header_timeout(settings):
    async with running(settings, header_timeout=SHORT) as (_, url):
        reader, writer = await connect(url)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert await closed_by_server(reader)
        assert time.monotonic() - started >= SHORT * 0.9  # not closed before its time
        writer.close()
        assert await healthz(url) == 200  # and a full request head is served


async def test_a_stalled_body_is_dropped_after_body_timeout(settings):
    async with running(settings, body_timeout=SHORT) as (_, url):
        head = await login_head(url, length=1000)
        reader, writer = await connect(url)
        writer.write(head + b'{"email": ')  # the other 990 bytes never come
        assert await closed_by_server(reader)
        writer.close()


async def test_a_body_that_keeps_coming_is_read_to_the_end(settings):
    """Bytes reset the body clock: a body slower than body_timeout in total is fine."""
    async with running(settings, body_timeout=SHORT) as (_, url):
        body = b'{"email": "alice@example.com", "password": "not the right one"}'
        head = await login_head(url, length=len(body))
        reader, writer = await connect(url)
        writer.write(head)
        for i in range(0, len(body), 10):
            writer.write(body[i : i + 10])
            await asyncio.sleep(SHORT / 3)
        async with asyncio.timeout(WAIT):
            status_line = await reader.readline()
        assert status_line.startswith(b"HTTP/1.1 401")  # read to the end, and answered
        writer.close()


async def test_an_idle_keep_alive_connection_is_closed_after_keepalive_timeout(settings):
    async with running(settings, keepalive_timeout=SHORT) as (_, url):
        reader, writer = await connect(url)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        async with asyncio.timeout(WAIT):
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        assert await closed_by_server(reader)
        writer.close()


async def test_websockets_beyond_the_cap_get_503_with_retry_after(settings, aiohttp_client, caplog):
    app = with_tables(create_app(limited(settings, max_websockets=2)))
    client = await aiohttp_client(app)
    author = await User.create(app[DB], name="author", email="a@example.com", password_hash="x")
    post = await make_post(app, author)
    open_ = [await client.ws_connect(f"/ws/posts/{post.id}") for _ in range(2)]
    for _ in range(3):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(f"/ws/posts/{post.id}")
        assert refused.value.status == 503
        assert refused.value.headers["Retry-After"] == "10"
    assert caplog.text.count("server.max_websockets (2) reached") == 1
    await open_[0].close()
    await wait_for(lambda: len(app[SOCKETS]) < 2)
    again = await client.ws_connect(f"/ws/posts/{post.id}")  # a place came free
    for ws in (*open_, again):
        await ws.close()


async def test_an_open_websocket_outlives_the_read_timeouts(settings):
    """A live socket is a request in progress with no body: no read timeout applies."""
    fast = {"header_timeout": SHORT, "body_timeout": SHORT, "keepalive_timeout": SHORT}
    async with running(settings, **fast) as (runner, url), aiohttp.ClientSession() as session:
        async with session.get(f"{url}/api/session"):
            pass
        author = await User.create(
            runner.app[DB], name="author", email="a@example.com", password_hash="x"
        )
        post = await make_post(runner.app, author)
        async with session.ws_connect(f"{url}/ws/posts/{post.id}") as ws:
            with pytest.raises(TimeoutError):  # no message, and not closed either
                await ws.receive(timeout=SHORT * 4)
            assert not ws.closed


def test_the_connection_cap_stays_below_the_open_file_limit(monkeypatch, caplog):
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert connection_cap(500) == 500
    assert not caplog.text
    assert connection_cap(1000) == 1024 - FD_RESERVE
    assert "server.max_connections is 1000 but the open-file limit is 1024" in caplog.text


async def login_head(url: str, length: int) -> bytes:
    """The head of a POST /api/session that passes the CSRF check (a session's cookie and
    token), so that the handler reads the JSON body that follows: `length` bytes."""
    timeout = aiohttp.ClientTimeout(total=WAIT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(f"{url}/api/session") as resp:
            csrf = (await resp.json())["csrf_token"]
        cookie = resp.cookies[COOKIE].value
    return (
        f"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
        f"Content-Type: application/json\r\nCookie: {COOKIE}={cookie}\r\n"
        f"X-CSRF-Token: {csrf}\r\n\r\n"
    ).encode()


async def wait_for(condition) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)


# --- the real servers ------------------------------------------------------------------
@pytest.fixture
def config(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["server"] = {"header_timeout": SHORT, "max_connections": 4}
    path = write_config(tmp_path, overrides)
    init_db(path)
    return path


def assert_guarded(port: int) -> None:
    """Idle sockets beyond the cap do not lock /healthz out; half a head is closed."""
    idle = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(10)]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert sock.recv(65536) == b""  # closed by the server, before WAIT
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("server", ["python -m www", "gunicorn"])
def test_the_real_servers_apply_the_limits(config, server):
    port = free_port()
    if server == "gunicorn":
        worker = "www.worker.GunicornWebWorker"
        args = [sys.executable, "-m", "gunicorn", "www.app:create_app()", "--worker-class"]
        args += [worker, "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        env = clean_env(WWW_CONFIG=str(config))
    else:
        args = [sys.executable, "-m", "www", "--port", str(port), "--config", str(config)]
        env = clean_env()
    with serving(args, f"http://127.0.0.1:{port}/healthz", env=env):
        assert_guarded(port)
