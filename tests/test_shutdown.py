"""SIGTERM in the middle of an upload, against real server processes: `python -m www`, and
gunicorn with the app's worker as the README deploys it.

aiohttp reads no more of any request body once shutdown begins, so an upload still
arriving can never finish. The app ends it at once (www/files/actions.py's end_uploads):
the client gets 503 with Retry-After rather than waiting out `server.shutdown_timeout`
(under gunicorn, 95% of --graceful-timeout), no row is written and no partial file is
left, and the process exits long before that timeout.
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
import pytest

from tests.conftest import overrides_for
from tests.databases import migrate, open_database
from tests.serving import clean_env, free_port, serving, write_config
from www.accounts.models import User
from www.passwords import hash_password_sync
from www.settings import Settings, load_settings

SHUTDOWN_TIMEOUT = 30.0  # long, so that waiting it out cannot pass for ending at once,
# and a loaded machine (the suite runs a process per core) cannot pass for waiting it out
PASSWORD = "correct horse"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
BOUNDARY = "shutdown-test-boundary"
CHUNK = b"z" * 16_384


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


async def endless_body(token: str):
    """An upload that would take a minute: it is still arriving whatever happens."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"'
        "\r\n\r\n"
    ).encode()
    for _ in range(600):
        yield CHUNK
        await asyncio.sleep(0.1)


async def sigterm_mid_upload(proc: subprocess.Popen, base: str, folder: Path):
    """Start the endless upload, SIGTERM `proc` once its partial file exists: (the upload's
    status or None if the server hung up, when the signal was sent, seconds to the answer)."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for the bare IP 127.0.0.1
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
        token = await log_in(session, base)
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        post = session.post(
            f"{base}/files", data=endless_body(token), headers=headers, allow_redirects=False
        )
        upload = asyncio.ensure_future(post)
        async with asyncio.timeout(10):
            while not any(name.endswith(".part") for name in os.listdir(folder)):
                await asyncio.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        try:
            resp = await upload
            status = resp.status
            resp.release()
        except aiohttp.ClientError:
            status = None
        return status, signalled, time.monotonic() - signalled


async def stored_files(url: str) -> list[tuple]:
    async with open_database(url) as db:
        return [tuple(row) for row in await db.fetchall("SELECT stored_name, size FROM files")]


def python_m_www(port: int, config: Path) -> tuple[list[str], dict]:
    args = [sys.executable, "-m", "www", "--port", str(port), "--config", str(config)]
    return args, clean_env()


def gunicorn(port: int, config: Path) -> tuple[list[str], dict]:
    """As deployed: the master passes SIGTERM to its worker."""
    args = [sys.executable, "-m", "gunicorn", "www.app:create_app()"]
    args += ["--worker-class", "www.worker.GunicornWebWorker", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", "1", "--graceful-timeout", str(int(SHUTDOWN_TIMEOUT))]
    return args, clean_env(WWW_CONFIG=str(config))


@pytest.mark.parametrize("command", [python_m_www, gunicorn])
def test_sigterm_mid_upload_ends_it_at_once_and_cleanly(tmp_path, db_url, command):
    overrides = overrides_for(tmp_path, db_url)
    overrides["server"] = {"shutdown_timeout": SHUTDOWN_TIMEOUT}
    config = write_config(tmp_path, overrides)
    settings = load_settings(config, environ={})
    asyncio.run(prepare(settings))
    folder = Settings.resolve(settings.uploads.directory)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args, env = command(port, config)

    with serving(args, f"{base}/healthz", env=env) as proc:
        status, signalled, answered_after = asyncio.run(sigterm_mid_upload(proc, base, folder))
        _, err = proc.communicate(timeout=SHUTDOWN_TIMEOUT + 15)
        stopped_after = time.monotonic() - signalled

    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert status == 503, err  # answered, not cut off after the shutdown timeout
    assert answered_after < SHUTDOWN_TIMEOUT / 2
    assert stopped_after < SHUTDOWN_TIMEOUT / 2
    assert asyncio.run(stored_files(db_url)) == []
    assert os.listdir(folder) == []
