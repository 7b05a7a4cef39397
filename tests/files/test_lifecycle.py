"""The uploads folder across a server's life: partial files a crash left are swept at
start-up; uploads in progress at shutdown end at once, cleanly (in-process here, and
against a real `python -m www` process receiving SIGTERM)."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import overrides_for
from tests.files.test_pages import file_part, multipart, on_disk, rows, token_part, wait_for
from tests.serving import clean_env, free_port, serving, write_config
from tests.test_shutdown import BOUNDARY, log_in, prepare, stored_files
from www.keys import UPLOADS
from www.settings import Settings, load_settings

HOUR = 3600


def leave_files(folder: Path, names: dict[str, str], old: tuple[str, ...]) -> None:
    """Files as a server left them: those named in `old` last written an hour ago."""
    folder.mkdir()
    for key, name in names.items():
        (folder / name).write_bytes(b"x")
        if key in old:
            an_hour_ago = time.time() - HOUR
            os.utime(folder / name, (an_hour_ago, an_hour_ago))


async def test_stale_partial_files_are_swept_at_start_up(aiohttp_client, app, settings, caplog):
    names = {
        "old": ".upload-k1ll3d.part",  # left by kill -9 an hour ago
        "fresh": ".upload-recent.part",  # another worker may be receiving it
        "stored": "0123456789abcdef0123456789abcdef",  # an upload's bytes: never touched
        "other": "notes.part",
    }
    leave_files(Path(settings.uploads.directory), names, old=("old", "stored", "other"))
    await aiohttp_client(app)  # starts the app
    assert on_disk(settings) == sorted(names[key] for key in ("fresh", "other", "stored"))
    assert "Removed 1 partial upload(s)" in caplog.text


async def test_uploads_in_progress_end_with_503_when_the_server_shuts_down(
    auth, client, app, settings
):
    """The on_shutdown hook ends each upload at once: its partial file goes, and the
    client is answered rather than left until the shutdown timeout cuts it off."""
    await auth.login_as()
    token = await auth.token()
    cookies = "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)
    body, headers = multipart(token_part(token), file_part(b"s" * 70_000, "stalled.bin"))
    head = (
        f"POST /files HTTP/1.1\r\nHost: {client.host}:{client.port}\r\nCookie: {cookies}\r\n"
        f"Content-Type: {headers['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head.encode() + body[:-5_000])
    await writer.drain()
    await wait_for(lambda: any(name.endswith(".part") for name in on_disk(settings)))
    await app.shutdown()  # what the server's shutdown runs (on_shutdown)
    async with asyncio.timeout(5):
        status_line = await reader.readline()
    assert status_line.startswith(b"HTTP/1.1 503 "), status_line
    head = (await reader.readuntil(b"\r\n\r\n")).decode().lower()
    assert "retry-after: 10" in head
    assert on_disk(settings) == []
    assert await rows(app) == []
    assert app[UPLOADS].ending
    writer.close()
    await writer.wait_closed()


# --- against a real process ---------------------------------------------------------

SHUTDOWN_TIMEOUT = 8.0  # long, so that waiting it out cannot pass for ending at once
CHUNK = b"z" * 16_384


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
    jar = aiohttp.CookieJar(unsafe=True)
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


def test_sigterm_mid_upload_ends_it_at_once_and_cleanly(tmp_path, db_url):
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


def test_sigterm_under_gunicorn_ends_an_upload_at_once_and_cleanly(tmp_path, db_url):
    """As deployed: the master passes SIGTERM to its worker, whose shutdown (95% of
    --graceful-timeout) would otherwise be spent waiting for the upload's bytes."""
    config = write_config(tmp_path, overrides_for(tmp_path, db_url))
    settings = load_settings(config, environ={})
    asyncio.run(prepare(settings))
    folder = Settings.resolve(settings.uploads.directory)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "gunicorn", "www.app:create_app()"]
    args += ["--worker-class", "aiohttp.GunicornWebWorker", "--bind", f"127.0.0.1:{port}"]
    args += ["--workers", "1", "--graceful-timeout", str(int(SHUTDOWN_TIMEOUT))]

    with serving(args, f"{base}/healthz", env=clean_env(WWW_CONFIG=str(config))) as master:
        status, signalled, answered_after = asyncio.run(sigterm_mid_upload(master, base, folder))
        _, err = master.communicate(timeout=SHUTDOWN_TIMEOUT + 15)
        stopped_after = time.monotonic() - signalled

    assert master.returncode == 0, err
    assert "Traceback" not in err
    assert status == 503, err
    assert answered_after < SHUTDOWN_TIMEOUT / 2
    assert stopped_after < SHUTDOWN_TIMEOUT / 2
    assert asyncio.run(stored_files(db_url)) == []
    assert os.listdir(folder) == []
