"""What an upload may not do, through HTTP: stall, go past its owner's quota, fill the
disk; and names that are not UTF-8. Each leaves no row and no file behind."""

import asyncio
import errno
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.conftest import overrides_for
from tests.files.test_pages import (
    LIMIT,
    assert_nothing_stored,
    file_part,
    multipart,
    on_disk,
    open_partial_upload,
    rows,
    send,
    token_part,
    upload,
    wait_for,
)
from www import fileinfo, uploads
from www.settings import load_settings

READ_TIMEOUT = 0.5
QUOTA = 150_000  # one upload of 80 KB fits, two do not


@pytest.fixture
def settings(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["uploads"].update(max_size=LIMIT, read_timeout=READ_TIMEOUT, quota_per_user=QUOTA)
    return load_settings(overrides=overrides, environ={})


# --- a client that stops sending ----------------------------------------------------


async def test_a_stalled_upload_is_dropped_with_408_and_leaves_nothing(auth, client, app, settings):
    await auth.login_as()
    reader, writer = await open_partial_upload(auth, client, 70_000, unsent=5_000)
    await wait_for(lambda: any(name.endswith(".part") for name in on_disk(settings)))
    async with asyncio.timeout(READ_TIMEOUT + 5):
        status_line = await reader.readline()  # answered while the client still stalls
    assert status_line.startswith(b"HTTP/1.1 408 "), status_line
    assert on_disk(settings) == []
    assert await rows(app) == []
    writer.close()
    await writer.wait_closed()


async def test_a_slow_upload_that_keeps_sending_is_not_dropped(auth, client, app, settings):
    """The timeout is between bytes, not for the whole upload."""
    await auth.login_as()
    token = await auth.token()
    body, headers = multipart(token_part(token), file_part(b"t" * 30_000, "slow.txt"))

    async def trickle():
        for start in range(0, len(body), 6_000):
            yield body[start : start + 6_000]
            await asyncio.sleep(READ_TIMEOUT / 3)  # the whole body takes ~1 s: twice the timeout

    resp = await client.post("/files", data=trickle(), headers=headers, allow_redirects=False)
    assert resp.status == 303
    [file] = await rows(app)
    assert file.size == 30_000


# --- the per-user quota -------------------------------------------------------------


async def test_an_upload_past_the_quota_is_413_with_a_message(auth, client, app, settings):
    await auth.login_as()
    assert (await upload(auth, b"a" * 80_000, "first.bin")).status == 303
    [first] = await rows(app)
    resp = await upload(auth, b"b" * 80_000, "second.bin")
    assert resp.status == 413
    assert "Your files would exceed your 146.5 KiB quota: delete some first." in await resp.text()
    assert [f.id for f in await rows(app)] == [first.id]
    assert on_disk(settings) == [first.stored_name]
    # Under the quota again once a file is deleted; and another user has a quota of their own.
    assert (await auth.post(f"/files/{first.id}/delete")).status == 303
    assert (await upload(auth, b"b" * 80_000, "second.bin")).status == 303
    await auth.logout()
    await auth.login_as("bob")
    assert (await upload(auth, b"c" * 80_000, "bob.bin")).status == 303


async def test_the_quota_counts_the_exact_bytes(auth, app, settings):
    await auth.login_as()
    assert (await upload(auth, b"a" * (QUOTA - LIMIT), "a.bin")).status == 303
    assert (await upload(auth, b"b" * LIMIT, "exactly-full.bin")).status == 303
    assert (await upload(auth, b"", "empty.txt")).status == 303  # zero bytes still fit
    assert (await upload(auth, b"c", "one-more-byte.txt")).status == 413
    assert sum(f.size for f in await rows(app)) == QUOTA


async def test_uploads_side_by_side_cannot_both_pass_the_quota(
    auth, client, app, settings, monkeypatch
):
    """Both pass the check made before the bytes arrive: the one made when the row is
    recorded, in its transaction, refuses the second."""
    await auth.login_as()
    receive, received = uploads.receive, []
    both_stored = asyncio.Event()

    async def receive_then_wait(*args, **kwargs):
        result = await receive(*args, **kwargs)
        received.append(result)
        if len(received) == 2:
            both_stored.set()
        await both_stored.wait()  # neither records its row before both are on disk
        return result

    monkeypatch.setattr(uploads, "receive", receive_then_wait)
    token = await auth.token()
    sent = [send(auth, token_part(token), file_part(b"x" * 80_000, f"{n}.bin")) for n in (1, 2)]
    statuses = sorted(resp.status for resp in await asyncio.gather(*sent))
    assert statuses == [303, 413]
    [file] = await rows(app)
    assert on_disk(settings) == [file.stored_name]


async def test_the_files_page_shows_the_quota_and_what_is_used(auth, client, app, settings):
    await auth.login_as()
    await upload(auth, b"a" * 1536, "a.txt")
    page = await (await client.get("/files")).text()
    assert "146.5 KiB" in page and "1.5 KiB used" in page


# --- a disk that fails --------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
@pytest.mark.parametrize("failing_write", [1, 2])  # the first write, or one after
async def test_a_failed_disk_write_is_507_and_leaves_nothing(
    auth, app, settings, monkeypatch, caplog, code, failing_write
):
    await auth.login_as()
    write_all, writes = uploads.write_all, []

    def full_disk(fd, data):
        writes.append(len(data))
        if len(writes) == failing_write:
            raise OSError(code, "simulated")
        write_all(fd, data)

    monkeypatch.setattr(uploads, "write_all", full_disk)
    resp = await upload(auth, b"d" * 90_000, "big.bin")  # two chunks: two writes
    assert resp.status == 507
    body = await resp.text()
    assert "cannot store files right now: its storage is full or failing" in body
    assert "<html" in body.lower() and "Traceback" not in body and "simulated" not in body
    await assert_nothing_stored(app, settings)
    assert errno.errorcode[code] in caplog.text  # the operator is told what failed


async def test_a_failure_when_the_file_is_made_is_507(auth, app, settings):
    await auth.login_as()
    folder = Path(settings.uploads.directory)
    await asyncio.to_thread(folder.rmdir)  # made at start-up; now a file is in the way
    await asyncio.to_thread(folder.write_bytes, b"not a folder")
    resp = await upload(auth)
    assert resp.status == 507
    assert await rows(app) == []


# --- file names that are not UTF-8 --------------------------------------------------


def raw_multipart(token: str, disposition: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = b"raw-boundary-5f1c"
    body = (
        b'--%s\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n'
        b"--%s\r\nContent-Disposition: %s\r\n\r\ncontent\r\n--%s--\r\n"
    ) % (boundary, token.encode(), boundary, disposition, boundary)
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b'form-data; name="file"; filename="caf\xe9.txt"', "caf\ufffd.txt"),  # Latin-1
        (b'form-data; name="file"; filename="\xff\xfe.bin"', "\ufffd\ufffd.bin"),
        (b"form-data; name=\"file\"; filename*=UTF-8''caf%E9.txt", "caf\ufffd.txt"),
        (b"form-data; name=\"file\"; filename*=no-such-charset''plain.txt", "plain.txt"),
        (b'form-data; name="file"; filename="\xc3\xa9t\xc3\xa9.txt"', "\xe9t\xe9.txt"),  # UTF-8
    ],
)
async def test_a_file_name_that_is_not_utf8_is_kept_cleaned(
    auth, client, app, settings, disposition, expected
):
    await auth.login_as()
    body, headers = raw_multipart(await auth.token(), disposition)
    resp = await client.post("/files", data=body, headers=headers, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    [file] = await rows(app)
    assert file.original_name == expected
    assert on_disk(settings) == [file.stored_name]
    assert expected in await (await client.get("/files")).text()
    download = await client.get(f"/files/{file.id}")
    assert download.status == 200 and await download.read() == b"content"


def test_sweeping_keeps_what_is_not_a_partial_upload(tmp_path):
    """Only `.upload-*.part` files go, and only old ones (unit: the clock is set back)."""
    for name in (".upload-old.part", "keep.part", ".upload-keep", "0123abcd"):
        (tmp_path / name).write_bytes(b"x")
    assert uploads.sweep_partial_files(tmp_path, -60) == [".upload-old.part"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".upload-keep", "0123abcd", "keep.part"]
    assert uploads.sweep_partial_files(tmp_path / "missing", 0) == []


@pytest.fixture
async def alice(auth):
    """Logged in once for all the examples of a test."""
    return await auth.login_as()


@examples(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one app for all examples
)
@given(
    name=st.binary(min_size=1, max_size=80).filter(lambda b: not set(b) & set(b'\r\n"\\')),
    extended=st.booleans(),
)
async def test_any_bytes_as_a_file_name_never_5xx(alice, auth, client, app, name, extended):
    """Raw bytes in filename="..." or percent-encoded in filename*=: stored under a clean,
    valid name (or refused with a 4xx), never a server error."""
    encoded = b"UTF-8''" + quote_from_bytes(name).encode() if extended else b'"%s"' % name
    disposition = b'form-data; name="file"; filename%s=%s' % (b"*" if extended else b"", encoded)
    body, headers = raw_multipart(await auth.token(), disposition)
    resp = await client.post("/files", data=body, headers=headers, allow_redirects=False)
    assert resp.status < 500, (disposition, resp.status)
    if resp.status == 303:
        file = (await rows(app))[-1]
        file.original_name.encode("utf-8")  # no lone surrogate: it could not be stored
        assert file.original_name == fileinfo.clean_filename(file.original_name)
