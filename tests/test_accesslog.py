"""The access log: a reset link's token never reaches it, other paths are logged as sent."""

import asyncio
import logging
from unittest.mock import Mock

import pytest
from aiohttp import StreamReader
from aiohttp.test_utils import make_mocked_request

from www.accesslog import REDACTED, loggable

TOKEN = "Zq3_secret-reset-token-value"


@pytest.fixture
def access_lines(caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")

    async def lines(count: int) -> list[str]:
        """The first `count` access log lines, once the server has written them."""
        async with asyncio.timeout(5):
            while True:
                found = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
                if len(found) >= count:
                    return found
                await asyncio.sleep(0.01)

    return lines


@pytest.mark.parametrize("query", ["", "?next=/x&again=" + TOKEN])
async def test_a_reset_links_token_is_redacted(client, access_lines, query):
    resp = await client.get(f"/password/reset/{TOKEN}{query}")
    assert resp.status == 400  # no such link; logged all the same
    [line] = await access_lines(1)
    assert TOKEN not in line
    assert f'"GET /password/reset/{REDACTED} HTTP/1.1" 400' in line


async def test_other_paths_are_logged_as_sent(client, access_lines):
    await client.get("/posts/12345?page=2")
    [line] = await access_lines(1)
    assert '"GET /posts/12345?page=2 HTTP/1.1" 404' in line


async def test_a_request_whose_body_was_read_is_logged_redacted():
    """aiohttp refuses to clone a request once its body is read: the log's redacted view
    of it is no clone, and shows the path without the secret, and all else as it was."""
    request = make_mocked_request(
        "POST",
        f"/password/reset/{TOKEN}?next={TOKEN}",
        headers={"User-Agent": "tester"},
        match_info={"token": TOKEN},
        payload=StreamReader(Mock(), 2**16, loop=asyncio.get_running_loop()),
    )
    request._payload.feed_data(b"password=x")
    request._payload.feed_eof()
    assert await request.read() == b"password=x"
    shown = loggable(request)
    assert shown.path_qs == f"/password/reset/{REDACTED}" == shown.path
    assert shown.method == "POST" and shown.headers["User-Agent"] == "tester"
