"""File uploads through HTTP: streaming, limits, hostile names, serving, permissions, CSRF."""

import asyncio
import hashlib
import os
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import overrides_for
from www import DB
from www.files.models import File
from www.settings import load_settings

LIMIT = 100_000  # over one read chunk (64 KiB), so uploads here span several chunks
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
RANDOM_NAME = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def settings(tmp_path, db_url):
    """The suite's settings with a small upload limit (overrides conftest's fixture)."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["uploads"]["max_size"] = LIMIT
    return load_settings(overrides=overrides, environ={})


def multipart(*parts: tuple[str, bytes]) -> tuple[bytes, dict[str, str]]:
    """A raw multipart body from (Content-Disposition, content) pairs, and its header."""
    boundary = "----test-boundary-7MA4YWxkTrZu0gW"
    body = b"".join(
        b"--%s\r\nContent-Disposition: %s\r\n\r\n%s\r\n"
        % (boundary.encode(), disposition.encode(), content)
        for disposition, content in parts
    )
    body += b"--%s--\r\n" % boundary.encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def token_part(token: str) -> tuple[str, bytes]:
    return ('form-data; name="csrf_token"', token.encode())


def file_part(content: bytes, filename: str = "notes.txt") -> tuple[str, bytes]:
    return (f'form-data; name="file"; filename="{filename}"', content)


async def send(auth, *parts, headers=None):
    body, content_type = multipart(*parts)
    return await auth.client.post(
        "/files", data=body, headers={**content_type, **(headers or {})}, allow_redirects=False
    )


async def upload(auth, content=b"hello world\n", filename="notes.txt"):
    """Upload like the page's form does: the token first, then the file."""
    return await send(auth, token_part(await auth.token()), file_part(content, filename))


async def rows(app) -> list[File]:
    return await File.select(app[DB]).order_by("id").all()


def on_disk(settings) -> list[str]:
    """Every name in the uploads folder, temporary (hidden) files included."""
    folder = Path(settings.uploads.directory)
    return sorted(os.listdir(folder)) if folder.exists() else []


async def assert_nothing_stored(app, settings):
    assert await rows(app) == []
    assert on_disk(settings) == []


# --- uploading ----------------------------------------------------------------------


async def test_upload_streams_to_a_random_name(auth, client, app, settings):
    alice = await auth.login_as()
    content = b"hello world\n"
    resp = await upload(auth, content, "notes.txt")
    assert resp.status == 303
    assert resp.headers["Location"] == "/files"
    [file] = await rows(app)
    assert (file.user_id, file.original_name, file.size) == (alice.id, "notes.txt", len(content))
    assert file.sha256 == hashlib.sha256(content).hexdigest()
    assert file.content_type == "text/plain; charset=utf-8"
    assert RANDOM_NAME.fullmatch(file.stored_name)
    assert on_disk(settings) == [file.stored_name]  # no temporary file left
    assert (Path(settings.uploads.directory) / file.stored_name).read_bytes() == content
    page = await (await client.get("/files")).text()
    assert "File uploaded." in page
    assert f'href="/files/{file.id}"' in page and "notes.txt" in page and "12 B" in page


async def test_upload_from_aiohttp_form_data(auth, app):
    await auth.login_as()
    form = aiohttp.FormData()
    form.add_field("csrf_token", await auth.token())
    form.add_field("file", b"x" * 3000, filename="data.bin")
    resp = await auth.client.post("/files", data=form, allow_redirects=False)
    assert resp.status == 303
    [file] = await rows(app)
    assert (file.original_name, file.size) == ("data.bin", 3000)


async def test_files_are_listed_newest_first_with_sizes(auth, client, app):
    await auth.login_as()
    await upload(auth, b"a" * 1536, "older.txt")
    await upload(auth, b"b", "newer.txt")
    page = await (await client.get("/files")).text()
    assert page.index("newer.txt") < page.index("older.txt")
    assert "1.5 KiB" in page and "1 B" in page
    assert 'enctype="multipart/form-data"' in page
    assert page.index('name="csrf_token"') < page.index('name="file"')


async def test_empty_file_is_accepted(auth, app, settings):
    await auth.login_as()
    resp = await upload(auth, b"", "empty.txt")
    assert resp.status == 303
    [file] = await rows(app)
    assert (file.size, file.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert file.content_type == "application/octet-stream"
    assert on_disk(settings) == [file.stored_name]


async def test_exactly_the_limit_is_accepted(auth, app, settings):
    await auth.login_as()
    content = os.urandom(LIMIT)
    resp = await upload(auth, content, "limit.bin")
    assert resp.status == 303
    [file] = await rows(app)
    assert file.size == LIMIT
    assert file.sha256 == hashlib.sha256(content).hexdigest()
    assert (Path(settings.uploads.directory) / file.stored_name).read_bytes() == content


@pytest.mark.parametrize("size", [LIMIT + 1, 5 * LIMIT])
async def test_over_the_limit_is_413_and_leaves_nothing(auth, app, settings, size):
    await auth.login_as()
    resp = await upload(auth, b"x" * size, "big.bin")
    assert resp.status == 413
    await assert_nothing_stored(app, settings)


async def open_partial_upload(auth, client, size: int, unsent: int):
    """A raw connection (reader, writer) to POST /files that sent the token and a file of
    `size` bytes but its last `unsent`, and then nothing: what a stalled or vanished client
    leaves. The partial file appears on the server soon after."""
    token = await auth.token()
    cookies = "; ".join(f"{c.key}={c.value}" for c in client.session.cookie_jar)
    body, headers = multipart(token_part(token), file_part(b"p" * size, "partial.bin"))
    head = (
        f"POST /files HTTP/1.1\r\nHost: {client.host}:{client.port}\r\nCookie: {cookies}\r\n"
        f"Content-Type: {headers['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head.encode() + body[:-unsent])
    await writer.drain()
    return reader, writer


async def test_client_gone_mid_upload_leaves_nothing(auth, client, app, settings):
    """A client that disconnects mid-body: the temporary file is removed, no row."""
    await auth.login_as()
    _, writer = await open_partial_upload(auth, client, 80_000, unsent=10_000)
    await wait_for(lambda: any(name.endswith(".part") for name in on_disk(settings)))
    writer.close()
    await writer.wait_closed()
    await wait_for(lambda: on_disk(settings) == [])
    assert await rows(app) == []


async def wait_for(condition):
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.02)


# --- file names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('form-data; name="file"; filename="../../etc/passwd"', "passwd"),
        ("form-data; name=\"file\"; filename*=UTF-8''..%2F..%2Fevil.html", "evil.html"),
        ('form-data; name="file"; filename="C:\\\\Windows\\\\win.ini"', "win.ini"),
        ("form-data; name=\"file\"; filename*=UTF-8''C%3A%5CWindows%5Cwin.ini", "win.ini"),
        ('form-data; name="file"; filename="C:win.ini"', "win.ini"),
        ("form-data; name=\"file\"; filename*=UTF-8''nul%00byte.txt", "nulbyte.txt"),
        ("form-data; name=\"file\"; filename*=UTF-8''line%0D%0Abreak.txt", "linebreak.txt"),
        ("form-data; name=\"file\"; filename*=UTF-8''evil%E2%80%AEtxt.exe", "eviltxt.exe"),
        ('form-data; name="file"; filename=".."', "upload"),
        ('form-data; name="file"; filename="dir/"', "upload"),
        (f'form-data; name="file"; filename="{"n" * 300}.txt"', "n" * 251 + ".txt"),
        (f'form-data; name="file"; filename="{"n" * 300}"', "n" * 255),
        (f'form-data; name="file"; filename="x.{"e" * 300}"', "x." + "e" * 253),
    ],
)
async def test_hostile_names_are_only_metadata(
    auth, app, settings, tmp_path, disposition, expected
):
    await auth.login_as()
    resp = await send(auth, token_part(await auth.token()), (disposition, b"content"))
    assert resp.status == 303
    [file] = await rows(app)
    assert file.original_name == expected
    assert on_disk(settings) == [file.stored_name]
    assert RANDOM_NAME.fullmatch(file.stored_name)
    everything = {path.name for path in tmp_path.rglob("*")}
    assert not everything & {"passwd", "evil.html", "win.ini", "etc"}


# --- downloading --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<!doctype html><script>alert(document.cookie)</script>"),
        ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("binary.html", b"<html>\x00\x01\x02</html>"),
    ],
)
async def test_active_content_downloads_as_inert_attachment(auth, client, app, name, content):
    await auth.login_as()
    await upload(auth, content, name)
    [file] = await rows(app)
    resp = await client.get(f"/files/{file.id}")
    assert resp.status == 200
    assert await resp.read() == content
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert f"filename*=UTF-8''{name}" in resp.headers["Content-Disposition"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert resp.content_type in ("text/plain", "application/octet-stream")
    assert (await client.get(f"/files/{file.public_id}/image")).status == 404


async def test_download_name_is_percent_encoded_with_ascii_fallback(auth, client, app):
    await auth.login_as()
    await upload(auth, b"%PDF-1.7\n...", 'r\xe9sum\xe9 "2024".pdf')
    [file] = await rows(app)
    resp = await client.get(f"/files/{file.id}")
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"r_sum_ 2024.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf"
    )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", "image/webp"),
    ],
)
async def test_images_are_sniffed_and_public_inline(auth, client, app, content, content_type):
    await auth.login_as()
    await upload(auth, content, "picture.txt")  # the name does not decide the type
    [file] = await rows(app)
    assert file.content_type == content_type
    page = await (await client.get("/files")).text()
    assert f"![picture.txt](/files/{file.public_id}/image)" in page
    await auth.logout()  # anyone may see an image shown in a post
    resp = await client.get(f"/files/{file.public_id}/image")
    assert resp.status == 200
    assert await resp.read() == content
    assert resp.headers["Content-Type"] == content_type
    assert resp.headers["Content-Disposition"].startswith("inline;")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get(f"/files/{file.id}", allow_redirects=False)).status == 303


async def test_image_url_is_404_for_other_files_and_missing_ones(auth, client, app):
    await auth.login_as()
    await upload(auth, b"just text", "a.png")
    [file] = await rows(app)
    assert file.content_type == "text/plain; charset=utf-8"
    assert (await client.get(f"/files/{file.public_id}/image")).status == 404
    assert (await client.get("/files/" + "x" * 22 + "/image")).status == 404


async def test_only_the_owner_or_an_admin_may_download_or_delete(auth, client, app, settings):
    await auth.login_as("bob")
    await upload(auth, PNG, "bob.png")
    [file] = await rows(app)
    await auth.logout()
    await auth.login_as("alice")
    assert (await client.get(f"/files/{file.id}")).status == 403
    assert (await auth.post(f"/files/{file.id}/delete")).status == 403
    assert "bob.png" not in await (await client.get("/files")).text()  # only one's own
    assert len(await rows(app)) == 1 and on_disk(settings) == [file.stored_name]
    await auth.logout()
    await auth.login_as("root", is_admin=True)
    resp = await client.get(f"/files/{file.id}")
    assert resp.status == 200
    assert await resp.read() == PNG


async def test_missing_file_is_404(auth, client):
    await auth.login_as()
    assert (await client.get("/files/999")).status == 404
    assert (await auth.post("/files/999/delete")).status == 404


async def test_row_without_its_file_on_disk_is_404(auth, client, app, settings, caplog):
    await auth.login_as()
    await upload(auth)
    [file] = await rows(app)
    (Path(settings.uploads.directory) / file.stored_name).unlink()
    resp = await client.get(f"/files/{file.id}")
    assert resp.status == 404
    assert "Page not found" in await resp.text()  # the site's page, not an empty body
    assert "not on disk" in caplog.text


# --- deleting -----------------------------------------------------------------------


async def test_delete_removes_row_and_file(auth, client, app, settings):
    await auth.login_as()
    await upload(auth, b"keep", "keep.txt")
    await upload(auth, b"drop", "drop.txt")
    keep, drop = await rows(app)
    resp = await auth.post(f"/files/{drop.id}/delete")
    assert resp.status == 303
    assert resp.headers["Location"] == "/files"
    assert [f.id for f in await rows(app)] == [keep.id]
    assert on_disk(settings) == [keep.stored_name]
    page = await (await client.get("/files")).text()
    assert "drop.txt" not in page and "keep.txt" in page


async def test_delete_when_the_file_is_already_gone(auth, app, settings):
    await auth.login_as()
    await upload(auth)
    [file] = await rows(app)
    (Path(settings.uploads.directory) / file.stored_name).unlink()
    assert (await auth.post(f"/files/{file.id}/delete")).status == 303
    assert await rows(app) == []


# --- login, CSRF, bad forms ---------------------------------------------------------


async def test_anonymous_is_sent_to_login(auth, client, app, settings):
    resp = await client.get("/files", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/files"
    resp = await upload(auth)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login")
    await assert_nothing_stored(app, settings)


async def test_upload_without_csrf_token_is_403(auth, app, settings):
    await auth.login_as()
    assert (await send(auth, file_part(b"data"))).status == 403
    wrong = await send(auth, token_part("forged"), file_part(b"data"))
    assert wrong.status == 403
    token_last = await send(auth, file_part(b"data"), token_part(await auth.token()))
    assert token_last.status == 403
    await assert_nothing_stored(app, settings)


async def test_token_in_header_is_accepted(auth, app):
    await auth.login_as()
    headers = {"X-CSRF-Token": await auth.token()}
    resp = await send(auth, file_part(b"via header", "h.txt"), headers=headers)
    assert resp.status == 303
    [file] = await rows(app)
    assert (file.original_name, file.size) == ("h.txt", 10)


@pytest.mark.parametrize(
    "parts",
    [
        [],
        [('form-data; name="other"', b"value")],
        [('form-data; name="file"', b"a field, not a file")],
        [('form-data; name="file"; filename=""', b"")],  # no file chosen
    ],
)
async def test_no_file_is_400_with_the_page(auth, app, settings, parts):
    await auth.login_as()
    resp = await send(auth, token_part(await auth.token()), *parts)
    assert resp.status == 400
    body = await resp.text()
    assert "Choose a file to upload." in body
    assert 'enctype="multipart/form-data"' in body
    await assert_nothing_stored(app, settings)


async def test_header_token_with_a_non_multipart_body_is_400(auth, client, app, settings):
    await auth.login_as()
    headers = {"X-CSRF-Token": await auth.token(), "Content-Type": "application/octet-stream"}
    resp = await client.post("/files", data=b"raw", headers=headers, allow_redirects=False)
    assert resp.status == 400
    await assert_nothing_stored(app, settings)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_body_that_is_not_its_content_encoding_is_400(
    auth, client, app, settings, encoding
):
    """The parser gives up on it half-way (RequestPayloadError): 400, and the connection
    closed, since what follows on it cannot be told from a next request."""
    await auth.login_as()
    headers = {
        "X-CSRF-Token": await auth.token(),
        "Content-Type": "multipart/form-data; boundary=b",
        "Content-Encoding": encoding,
    }
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n--b--\r\n'
    resp = await client.post("/files", data=body, headers=headers, allow_redirects=False)
    assert resp.status == 400
    assert resp.headers["Connection"] == "close"
    await assert_nothing_stored(app, settings)


async def test_malformed_part_headers_are_400(auth, app, settings):
    await auth.login_as()
    hostile = ('form-data; name="file"; filename="nul\x00byte.txt"', b"data")
    resp = await send(auth, token_part(await auth.token()), hostile)
    assert resp.status == 400
    await assert_nothing_stored(app, settings)


async def test_a_failed_insert_removes_the_stored_file(auth, app, settings, monkeypatch):
    await auth.login_as()

    async def broken_create(*args, **kwargs):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(File, "create", broken_create)
    resp = await upload(auth)
    assert resp.status == 500
    assert "the database is gone" not in await resp.text()
    assert on_disk(settings) == []


async def test_too_many_fields_before_the_file_is_400(auth, app, settings):
    await auth.login_as()
    fields = [(f'form-data; name="f{n}"', b"x") for n in range(20)]
    resp = await send(auth, token_part(await auth.token()), *fields, file_part(b"late"))
    assert resp.status == 400
    await assert_nothing_stored(app, settings)


async def test_files_page_past_the_end_is_404(auth, client):
    await auth.login_as()
    assert (await client.get("/files?page=2")).status == 404
    assert (await client.get("/files?page=x")).status == 404
