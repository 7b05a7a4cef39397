"""The uploads folder across a server's life: partial files a crash left are swept at
start-up; uploads in progress at shutdown end at once, cleanly (in-process here; against
real processes receiving SIGTERM in tests/test_shutdown.py)."""

import asyncio
import os
import time
from pathlib import Path

from tests.files.test_pages import on_disk, open_partial_upload, rows, wait_for
from www.keys import UPLOADS

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
    reader, writer = await open_partial_upload(auth, client, 70_000, unsent=5_000)
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
