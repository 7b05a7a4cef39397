"""Password hashing on its own bounded pool: a full queue is a 503, and file I/O goes on."""

import asyncio
import contextlib
import logging
import threading

import aiohttp
import pytest

from tests.helpers import error_of, token
from www import uploads
from www.executors import BoundedExecutor, ExecutorBusy
from www.keys import CONFIG, FILE_IO, HASHING
from www.ratelog import RateLimitedLog

WAIT = 10  # seconds: a generous bound on anything that should be prompt


@pytest.fixture
def settings(settings):
    """One hashing thread and one waiting hash at most."""
    passwords = settings.passwords.model_copy(update={"workers": 1, "queue": 1})
    return settings.model_copy(update={"passwords": passwords})


@contextlib.asynccontextmanager
async def hashing_blocked(app, jobs: int):
    """`jobs` jobs that hold the hashing pool (running or waiting) until the block ends."""
    release = threading.Event()
    held = [asyncio.ensure_future(app[HASHING].run(release.wait, WAIT)) for _ in range(jobs)]
    await asyncio.sleep(0)  # submitted
    try:
        yield
    finally:
        release.set()
        await asyncio.wait_for(asyncio.gather(*held), WAIT)


async def test_a_full_hashing_queue_answers_the_login_page_503_with_retry_after(auth, app):
    await auth.create_user("alice")
    async with hashing_blocked(app, jobs=2):  # the thread and the queue's one place
        logins = [
            auth.post("/login", {"email": "alice@example.com", "password": "correct horse"})
            for _ in range(5)
        ]
        for resp in await asyncio.gather(*logins):
            assert resp.status == 503, await resp.text()
            assert resp.headers["Retry-After"] == "1"
            assert resp.content_type == "text/html"
            assert "try again" in await resp.text()
    resp = await auth.login()  # the pool is free again
    assert resp.status == 303


async def test_a_full_hashing_queue_answers_the_api_503_json(auth, client, app):
    await auth.create_user("alice")
    csrf = await token(client)
    login = {"email": "alice@example.com", "password": "correct horse"}
    async with hashing_blocked(app, jobs=2):
        calls = [
            client.post("/api/session", json=login, headers={"X-CSRF-Token": csrf})
            for _ in range(5)
        ]
        for resp in await asyncio.gather(*calls):
            error = await error_of(resp, 503)
            assert "try again" in error["message"]
            assert resp.headers["Retry-After"] == "1"
    resp = await client.post("/api/session", json=login, headers={"X-CSRF-Token": csrf})
    assert resp.status == 200


async def test_concurrent_logins_beyond_the_queue_are_503_never_500(auth, app):
    """Real hashes, more at once than one thread and one waiting place can take."""
    await auth.create_user("alice")
    await auth.token()
    login = {"email": "alice@example.com", "password": "correct horse"}
    replies = await asyncio.gather(*(auth.post("/login", login) for _ in range(12)))
    statuses = {resp.status for resp in replies}
    assert statuses <= {303, 503}, statuses
    assert 303 in statuses


async def test_an_upload_finishes_while_hashing_is_saturated(auth, app, monkeypatch):
    await auth.login_as()
    threads = set()
    write = uploads._Spool.write

    def recording_write(spool, chunk):
        threads.add(threading.current_thread().name)
        write(spool, chunk)

    monkeypatch.setattr(uploads._Spool, "write", recording_write)
    form = aiohttp.FormData()
    form.add_field("csrf_token", await auth.token())
    form.add_field("file", b"x" * (1024 * 1024), filename="big.bin")
    async with hashing_blocked(app, jobs=2):
        async with asyncio.timeout(WAIT):
            resp = await auth.client.post("/files", data=form, allow_redirects=False)
        assert resp.status == 303
    assert threads and all(name.startswith("file-io") for name in threads), threads


async def test_the_pools_are_made_at_start_up_from_the_settings(app, client):
    assert isinstance(app[HASHING], BoundedExecutor)
    assert (app[HASHING].workers, app[HASHING].queue) == (1, 1)
    assert app[FILE_IO]._max_workers == app[CONFIG].uploads.io_workers


async def test_bounded_executor_counts_running_and_waiting_jobs(caplog):
    pool = BoundedExecutor(1, 1, "test", RateLimitedLog(logging.getLogger("test")))
    release = threading.Event()
    try:
        held = [asyncio.ensure_future(pool.run(release.wait, WAIT)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(ExecutorBusy):
            await pool.run(int)
        with pytest.raises(ExecutorBusy):  # still full; logged once only
            await pool.run(int)
        assert sum("queue is full" in r.getMessage() for r in caplog.records) == 1
        release.set()
        await asyncio.wait_for(asyncio.gather(*held), WAIT)
        assert await pool.run(int, "7") == 7  # the slots came back
        # A waiting job that is cancelled gives its slot back too.
        release.clear()
        running = asyncio.ensure_future(pool.run(release.wait, WAIT))
        waiting = asyncio.ensure_future(pool.run(int, "1"))
        await asyncio.sleep(0)
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        release.set()
        await asyncio.wait_for(running, WAIT)
        assert await pool.run(int, "2") == 2
    finally:
        release.set()
        pool.shutdown()
