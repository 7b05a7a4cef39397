"""Requests aiohttp's parser refuses: a 400 that names no versions, one log line each.

Sent on a raw socket, since a client library would not send them.
"""

import asyncio
import logging

import pytest
from aiohttp import web

from tests.conftest import GuardedTestServer
from www.keys import CONFIG, LIMITS_LOG
from www.ratelog import RateLimitedLog

HEAD = b"Host: example.com\r\n"
MALFORMED = {
    "bad request line": b"GET / HTTP/1.1 extra\r\n" + HEAD + b"\r\n",
    "bad method": b"G(T / HTTP/1.1\r\n" + HEAD + b"\r\n",
    "not HTTP at all": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "bad HTTP version": b"GET / HTTP/9.9x\r\n" + HEAD + b"\r\n",
    "header without a colon": b"GET / HTTP/1.1\r\n" + HEAD + b"Bad Header\r\n\r\n",
    "header name of invalid bytes": b"GET / HTTP/1.1\r\n" + HEAD + b"\xff\xfe: x\r\n\r\n",
    "header line too long": b"GET / HTTP/1.1\r\n" + HEAD + b"X-A: " + b"a" * 20000 + b"\r\n\r\n",
    "request line too long": b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n" + HEAD + b"\r\n",
    "bad chunked framing": (
        b"POST /login HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n"
    ),
    "bad Content-Length": b"POST /login HTTP/1.1\r\n" + HEAD + b"Content-Length: -5\r\n\r\n",
    "Content-Length and chunked": (
        b"POST /login HTTP/1.1\r\n" + HEAD + b"Content-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "brotli, which the server cannot decode": (
        b"POST /login HTTP/1.1\r\n" + HEAD + b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Encoding: br\r\nContent-Length: 3\r\n\r\na=b"
    ),
}


async def exchange(client, raw: bytes) -> bytes:
    """Send `raw` on a new connection; everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


@pytest.mark.parametrize("case", MALFORMED)
async def test_parser_400_names_no_versions(client, caplog, case):
    caplog.set_level(logging.DEBUG, logger="www")
    answer = await exchange(client, MALFORMED[case])
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", answer[:300]
    assert b"\r\nServer: www\r\n" in head
    assert b"X-Content-Type-Options: nosniff" in head
    assert b"Python/" not in answer and b"aiohttp/" not in answer
    assert body == b"400: Bad Request\n"  # not the parser's message, which quotes the bytes
    records = [r for r in caplog.records if r.name == "www.protocol"]
    assert len(records) == 1
    assert "\n" not in records[0].getMessage() and len(records[0].getMessage()) < 300
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_good_request_on_the_same_server_still_works(client):
    await exchange(client, MALFORMED["bad method"])
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert resp.headers["Server"] == "www"


async def test_server_error_escaping_the_app_is_logged_in_full_and_names_no_versions(
    aiohttp_client, settings, caplog
):
    """An error no middleware caught (none here) keeps aiohttp's 500 and its traceback in
    the log, a server error, with the app's headers."""

    async def boom(request):
        raise RuntimeError("the secret details")

    bare = web.Application()
    bare[CONFIG], bare[LIMITS_LOG] = settings, RateLimitedLog(logging.getLogger("test"))
    bare.router.add_get("/", boom)
    client = await aiohttp_client(GuardedTestServer(bare))
    resp = await client.get("/")
    assert resp.status == 500
    assert resp.headers["Server"] == "www"
    assert "the secret details" not in await resp.text()
    assert "Traceback" in caplog.text and "the secret details" in caplog.text
