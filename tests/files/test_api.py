"""Files in the JSON API: streamed uploads, metadata, downloads and deletion, with an API
token (as a script) or the session and its CSRF header, for the owner or an admin only."""

import hashlib

import aiohttp
import pytest

from tests.conftest import overrides_for
from tests.files.test_pages import LIMIT, assert_nothing_stored, file_part, multipart, on_disk, rows
from tests.helpers import error_of, send
from www.accounts import tokens
from www.accounts.schemas import TokenIn
from www.settings import load_settings


@pytest.fixture
def settings(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["uploads"]["max_size"] = LIMIT
    return load_settings(overrides=overrides, environ={})


async def bearer(app, user) -> dict[str, str]:
    _, token = await tokens.make(app, user, TokenIn(name="script"))
    return {"Authorization": f"Bearer {token}"}


def form(content: bytes, filename: str = "notes.txt") -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("file", content, filename=filename, content_type="text/plain")
    return data


async def test_upload_then_read_download_list_and_delete_with_a_token(auth, client, app, settings):
    headers = await bearer(app, await auth.create_user("alice"))
    content = b"hello world\n" * 7000  # over one read chunk
    resp = await client.post("/api/files", data=form(content, "notes.txt"), headers=headers)
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert resp.headers["Location"] == f"/api/files/{created['id']}"
    assert created["name"] == "notes.txt" and created["size"] == len(content)
    assert created["sha256"] == hashlib.sha256(content).hexdigest()
    assert created["content_type"].startswith("text/plain")  # sniffed, not as sent
    assert len(on_disk(settings)) == 1

    assert await (await client.get(resp.headers["Location"], headers=headers)).json() == created
    listed = await (await client.get("/api/files", headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]] and listed["total"] == 1

    download = await client.get(f"/api/files/{created['id']}/content", headers=headers)
    assert download.status == 200
    assert await download.read() == content
    assert download.content_type == "application/octet-stream"  # never a page
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    ranged = await client.get(
        f"/api/files/{created['id']}/content", headers={**headers, "Range": "bytes=6-10"}
    )
    assert ranged.status == 206 and await ranged.read() == b"world"

    resp = await client.delete(f"/api/files/{created['id']}", headers=headers)
    assert resp.status == 204
    await assert_nothing_stored(app, settings)
    await error_of(await client.get(f"/api/files/{created['id']}", headers=headers), 404)


async def test_upload_with_the_session_and_its_csrf_header(auth, client, app):
    await auth.login_as("alice")
    resp = await send(client, "POST", "/api/files", data=form(b"x"))
    assert resp.status == 201, await resp.text()
    assert len(await rows(app)) == 1


async def test_over_the_limit_is_413_and_leaves_nothing(auth, client, app, settings):
    headers = await bearer(app, await auth.create_user("alice"))
    resp = await client.post("/api/files", data=form(b"x" * (LIMIT + 1)), headers=headers)
    await error_of(resp, 413)
    await assert_nothing_stored(app, settings)


async def test_a_body_that_is_not_multipart_is_415(auth, client, app):
    headers = await bearer(app, await auth.create_user("alice"))
    resp = await client.post("/api/files", json={"file": "x"}, headers=headers)
    assert (await error_of(resp, 415))["message"] == "Send the file as multipart/form-data."


async def test_multipart_without_a_file_is_422(auth, client, app, settings):
    headers = await bearer(app, await auth.create_user("alice"))
    body, content_type = multipart(('form-data; name="other"', b"x"))
    resp = await client.post("/api/files", data=body, headers={**headers, **content_type})
    assert (await error_of(resp, 422))["fields"] == {"file": "Choose a file to upload."}
    body, content_type = multipart(file_part(b"", filename=""))  # no file chosen
    resp = await client.post("/api/files", data=body, headers={**headers, **content_type})
    await error_of(resp, 422)
    await assert_nothing_stored(app, settings)


async def test_another_users_file_is_403_but_an_admin_may(auth, client, app):
    alice = await bearer(app, await auth.create_user("alice"))
    mallory = await bearer(app, await auth.create_user("mallory"))
    admin = await bearer(app, await auth.create_user("root", is_admin=True))
    file_id = (await (await client.post("/api/files", data=form(b"x"), headers=alice)).json())["id"]
    for method, path in [
        ("GET", f"/api/files/{file_id}"),
        ("GET", f"/api/files/{file_id}/content"),
        ("DELETE", f"/api/files/{file_id}"),
    ]:
        await error_of(await client.request(method, path, headers=mallory), 403)
    listed = await (await client.get("/api/files", headers=mallory)).json()
    assert listed["items"] == []
    assert (await client.get(f"/api/files/{file_id}/content", headers=admin)).status == 200
    assert (await client.delete(f"/api/files/{file_id}", headers=admin)).status == 204


async def test_a_broken_multipart_body_is_400_and_leaves_nothing(auth, client, app, settings):
    headers = await bearer(app, await auth.create_user("alice"))
    headers["Content-Type"] = "multipart/form-data; boundary=xyz"
    resp = await client.post("/api/files", data=b"--xyz\r\nnot a part header", headers=headers)
    assert (await error_of(resp, 400))["message"] == "The request body could not be read."
    await assert_nothing_stored(app, settings)
