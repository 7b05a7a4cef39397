"""SIGTERM in the middle of an upload, against `python -m www` as a real process.

aiohttp stops reading request bodies once shutdown starts, so an upload still arriving
cannot finish: its handler is cancelled after `server.shutdown_timeout`. Either way the
upload must be whole (303, row and file) or gone (no row, no file, no temporary file).
"""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import overrides_for
from tests.databases import migrate, open_database
from tests.serving import clean_env, free_port, serving, write_config
from www.accounts.models import User
from www.passwords import hash_password_sync
from www.settings import Settings, load_settings

SHUTDOWN_TIMEOUT = 2.0
PASSWORD = "correct horse"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
BOUNDARY = "shutdown-test-boundary"
CHUNK = b"z" * 16_384
CHUNKS = 40  # sent 0.1 s apart: the body is still arriving well after SIGTERM


async def prepare(settings: Settings) -> None:
    """The tables and one user, made before the server starts."""
    async with open_database(settings.db.url) as db:
        await migrate(db)
        password_hash = hash_password_sync(settings.passwords, PASSWORD)
        await User.create(db, name="alice", email="alice@example.com", password_hash=password_hash)


async def log_in(session: aiohttp.ClientSession, base: str) -> str:
    """Log in through the form; returns the new session's CSRF token."""
    page = await (await session.get(f"{base}/login")).text()
    form = {"email": "alice@example.com", "password": PASSWORD}
    form["csrf_token"] = TOKEN.search(page).group(1)
    resp = await session.post(f"{base}/login", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return TOKEN.search(await (await session.get(f"{base}/files")).text()).group(1)


async def slow_body(token: str):
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"'
        "\r\n\r\n"
    ).encode()
    for _ in range(CHUNKS):
        yield CHUNK
        await asyncio.sleep(0.1)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload_slowly(session: aiohttp.ClientSession, base: str, token: str) -> int | None:
    """POST the slow body; the response status, or None if the server hung up."""
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    try:
        resp = await session.post(
            f"{base}/files", data=slow_body(token), headers=headers, allow_redirects=False
        )
    except aiohttp.ClientError:
        return None
    return resp.status


def has_temporary_file(folder: Path) -> bool:
    return folder.exists() and any(name.endswith(".part") for name in os.listdir(folder))


async def wait_for_temporary_file(folder: Path) -> None:
    async with asyncio.timeout(10):
        while not has_temporary_file(folder):
            await asyncio.sleep(0.02)


async def upload_then_sigterm(proc: subprocess.Popen, base: str, folder: Path) -> int | None:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for the bare IP 127.0.0.1
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
        token = await log_in(session, base)
        upload = asyncio.create_task(upload_slowly(session, base, token))
        await wait_for_temporary_file(folder)  # the server is mid-upload
        proc.send_signal(signal.SIGTERM)
        return await upload


async def stored_files(url: str) -> list[tuple]:
    async with open_database(url) as db:
        return [tuple(row) for row in await db.fetchall("SELECT stored_name, size FROM files")]


def test_sigterm_mid_upload_leaves_it_whole_or_gone(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["server"] = {"shutdown_timeout": SHUTDOWN_TIMEOUT}
    config = write_config(tmp_path, overrides)
    settings = load_settings(config, environ={})
    asyncio.run(prepare(settings))
    folder = Settings.resolve(settings.uploads.directory)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "www", "--port", str(port), "--config", str(config)]

    with serving(args, f"{base}/healthz", env=clean_env()) as proc:
        status = asyncio.run(upload_then_sigterm(proc, base, folder))
        started = time.monotonic()
        _, err = proc.communicate(timeout=SHUTDOWN_TIMEOUT + 15)
        stopped_after = time.monotonic() - started

    assert proc.returncode == 0, err
    assert stopped_after < SHUTDOWN_TIMEOUT + 10
    assert "Traceback" not in err
    rows = asyncio.run(stored_files(db_url))
    on_disk = sorted(os.listdir(folder))
    if status == 303:  # finished before the server stopped reading
        assert rows == [(on_disk[0], len(CHUNK) * CHUNKS)]
        assert len(on_disk) == 1
    else:
        assert (rows, on_disk) == ([], [])
