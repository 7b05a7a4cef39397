"""Timeouts, retries and their bounds, against tiny servers of the tests' own that stall,
refuse with 429/503, or drop the connection, counting the attempts they receive."""

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from tests.serving import free_port
from www.client import (
    Client,
    ConnectionFailed,
    RateLimited,
    Retry,
    ServiceUnavailable,
    Timeout,
)
from www.client.http import retry_after_seconds

PAGE = {"items": [], "page": 1, "per_page": 10, "total": 0}
FAST = Retry(attempts=3, backoff=0.01, max_backoff=0.05)
BOUND = 20.0  # seconds any test here may take at most, on a busy machine


async def serve(aiohttp_server, handler) -> tuple[str, list[str]]:
    """A server answering every request with `handler(request, attempt)`; returns its
    URL and the list of the methods it received."""
    received: list[str] = []

    async def handle(request):
        received.append(request.method)
        await request.read()
        return await handler(request, len(received))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return str((await aiohttp_server(app)).make_url("")), received


async def test_a_stalled_endpoint_times_out(aiohttp_server):
    never = asyncio.Event()

    async def stall(request, attempt):
        await never.wait()

    url, received = await serve(aiohttp_server, stall)
    async with Client(url, timeout=0.3, retry=Retry(attempts=2, backoff=0.01)) as api:
        started = time.monotonic()
        with pytest.raises(Timeout):
            async with asyncio.timeout(BOUND):
                await api.posts.list()
        assert time.monotonic() - started < BOUND / 2
    assert received == ["GET", "GET"]  # a GET is tried again after a timeout


async def test_a_stalled_post_is_not_sent_twice(aiohttp_server):
    never = asyncio.Event()

    async def stall(request, attempt):
        await never.wait()

    url, received = await serve(aiohttp_server, stall)
    async with Client(url, timeout=0.3, retry=FAST) as api:
        with pytest.raises(Timeout):
            async with asyncio.timeout(BOUND):
                await api.comments.add(1, "maybe saved")
    assert received == ["POST"]


async def test_a_download_that_stalls_midway_times_out_on_reads(aiohttp_server, tmp_path):
    """Transfers have no total bound, but each read has `read_timeout`."""
    never = asyncio.Event()
    meta = {
        "id": 1,
        "name": "f.bin",
        "size": 100,
        "content_type": "application/octet-stream",
        "sha256": "0" * 64,
        "created_at": "2026-01-01T00:00:00+00:00",
    }

    async def half(request, attempt):
        if not request.path.endswith("/content"):
            return web.json_response(meta)
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        await never.wait()

    url, _ = await serve(aiohttp_server, half)
    async with Client(url, read_timeout=0.3, retry=Retry(attempts=1)) as api:
        with pytest.raises(Timeout):
            async with asyncio.timeout(BOUND):
                await api.files.download(1, tmp_path / "f.bin")
    assert list(tmp_path.iterdir()) == []  # nothing left, not even the temporary file


async def test_429_with_retry_after_is_retried_after_that_wait(aiohttp_server):
    async def busy_twice(request, attempt):
        if attempt <= 2:
            error = {"error": {"status": 429, "message": "Too many."}}
            return web.json_response(error, status=429, headers={"Retry-After": "1"})
        return web.json_response(PAGE)

    url, received = await serve(aiohttp_server, busy_twice)
    async with Client(url, retry=FAST) as api:
        started = time.monotonic()
        page = await api.posts.list()
    assert page.total == 0 and received == ["GET"] * 3
    assert time.monotonic() - started >= 1.9  # Retry-After honoured: 1 s, twice


async def test_a_post_refused_with_retry_after_is_sent_again(aiohttp_server):
    """429/503 with Retry-After: the server says it did nothing, so even a POST is safe."""

    async def busy_once(request, attempt):
        if attempt == 1:
            return web.json_response({}, status=503, headers={"Retry-After": "0"})
        return web.json_response({}, status=418)

    url, received = await serve(aiohttp_server, busy_once)
    async with Client(url, retry=FAST) as api:
        with pytest.raises(Exception) as caught:
            await api.comments.add(1, "x")
    assert received == ["POST", "POST"] and caught.value.status == 418


async def test_503_without_retry_after_retries_gets_only(aiohttp_server):
    async def unavailable(request, attempt):
        return web.json_response({"error": {"status": 503, "message": "Down."}}, status=503)

    url, received = await serve(aiohttp_server, unavailable)
    async with Client(url, retry=FAST) as api:
        with pytest.raises(ServiceUnavailable, match=r"^Down"):
            await api.posts.list()
        assert received == ["GET"] * FAST.attempts  # bounded
        received.clear()
        with pytest.raises(ServiceUnavailable):
            await api.posts.create(title="x")
        assert received == ["POST"]


async def test_a_retry_after_longer_than_max_wait_is_not_waited_for(aiohttp_server):
    async def later(request, attempt):
        error = {"error": {"status": 429, "message": "Wait an hour."}}
        return web.json_response(error, status=429, headers={"Retry-After": "3600"})

    url, received = await serve(aiohttp_server, later)
    async with Client(url, retry=Retry(max_wait=5)) as api:
        started = time.monotonic()
        with pytest.raises(RateLimited) as caught:
            await api.posts.list()
    assert time.monotonic() - started < 5 and received == ["GET"]
    assert caught.value.retry_after == 3600


@pytest.fixture
async def dropping():
    """A server that reads each request's head, then closes the connection unanswered."""
    count = []

    async def drop(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        count.append(1)
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", count
    server.close()
    await server.wait_closed()


async def test_a_post_is_not_retried_on_a_connection_error(dropping):
    url, count = dropping
    async with Client(url, retry=FAST) as api:
        with pytest.raises(ConnectionFailed):
            await api.posts.create(title="maybe saved")
        assert len(count) == 1
        with pytest.raises(ConnectionFailed):
            await api.posts.get(1)
        # A GET is, a bounded number of times (aiohttp itself tries an idempotent request
        # once more when a kept-alive connection turns out closed).
        assert FAST.attempts <= len(count) - 1 <= 2 * FAST.attempts


async def test_nothing_listening_is_a_connection_error():
    async with Client(f"http://127.0.0.1:{free_port()}", retry=FAST) as api:
        with pytest.raises(ConnectionFailed, match="GET /api/posts"):
            await api.posts.list()


def test_retry_after_is_seconds_or_a_date():
    assert retry_after_seconds("120") == 120
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds(soon) <= 31
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_back_off_doubles_up_to_its_cap_and_stops():
    retry = Retry(attempts=10, backoff=1, max_backoff=4)
    assert [retry.delay(n, None) <= cap for n, cap in [(1, 1), (2, 2), (3, 4), (6, 4)]]
    assert all(retry.delay(n, None) >= cap / 2 for n, cap in [(1, 1), (2, 2), (3, 4), (6, 4)])
    assert retry.delay(10, None) is None and retry.delay(1, 2.5) == 2.5


async def test_a_download_cut_midway_is_read_again_from_the_start(aiohttp_server, tmp_path):
    body = bytes(range(256)) * 64
    meta = {
        "id": 1,
        "name": "f.bin",
        "size": len(body),
        "content_type": "application/octet-stream",
        "sha256": hashlib.sha256(body).hexdigest(),
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    tries = []

    async def cut_once(request, attempt):
        if not request.path.endswith("/content"):
            return web.json_response(meta)
        tries.append(attempt)
        resp = web.StreamResponse(headers={"Content-Length": str(len(body))})
        await resp.prepare(request)
        if len(tries) == 1:
            await resp.write(body[:1000])
            request.transport.close()  # the connection breaks half-way
            return resp
        await resp.write(body)
        return resp

    url, _ = await serve(aiohttp_server, cut_once)
    async with Client(url, retry=FAST) as api:
        saved = await api.files.download(1, tmp_path / "f.bin")
    assert saved.read_bytes() == body and len(tries) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
