"""GET /healthz: the database, and the uploads folder (writable, with room left)."""

import os
import threading

from tests.conftest import overrides_for, with_tables
from www import DB
from www.app import create_app
from www.settings import load_settings


async def serve(aiohttp_client, tmp_path, db_url, **uploads):
    overrides = overrides_for(tmp_path, db_url)
    overrides["uploads"].update(uploads)
    app = with_tables(create_app(load_settings(overrides=overrides, environ={})))
    return await aiohttp_client(app)


async def test_all_is_well(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}  # exactly: the contract's answer


async def test_a_nearly_full_disk_is_503(aiohttp_client, tmp_path, db_url, caplog):
    client = await serve(aiohttp_client, tmp_path, db_url, min_free_bytes=2**62)
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {
        "status": "unavailable",
        "failed": {"uploads": "the uploads folder's disk is nearly full"},
    }
    assert "under uploads.min_free_bytes" in caplog.text  # the operator gets the figures


async def test_an_unwritable_uploads_folder_is_503(aiohttp_client, tmp_path, db_url, caplog):
    """A file where the folder's parent should be: it cannot be made (even as root)."""
    (tmp_path / "a-file").write_bytes(b"")
    client = await serve(aiohttp_client, tmp_path, db_url, directory=str(tmp_path / "a-file/up"))
    assert "Could not prepare the uploads folder" in caplog.text  # at start-up; it still serves
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["failed"] == {"uploads": "the uploads folder is not writable"}
    assert str(tmp_path) not in await resp.text()  # the path is for the log only
    assert (await client.get("/")).status == 200


async def test_the_database_is_reported_on_its_own(client, app, monkeypatch):
    async def down():
        return False

    monkeypatch.setattr(app[DB], "ping", down)
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert set((await resp.json())["failed"]) == {"database"}


async def test_the_disk_is_examined_off_the_event_loop(client, monkeypatch):
    threads = []
    statvfs = os.statvfs

    def watched(path):
        threads.append(threading.current_thread())
        return statvfs(path)

    monkeypatch.setattr(os, "statvfs", watched)
    assert (await client.get("/healthz")).status == 200
    assert threads and threading.main_thread() not in threads
