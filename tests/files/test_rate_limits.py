"""Uploads per user (rate_limits.upload_user), on a fake clock: past the limit 429 with
Retry-After, before any byte is stored."""

import limits

from tests.files.test_pages import on_disk, rows, upload
from www import CONFIG


async def test_uploads_per_user_are_limited(app, auth, clock, settings):
    item = limits.parse(app[CONFIG].rate_limits.upload_user)
    await auth.login_as("alice")
    for n in range(item.amount):
        assert (await upload(auth, f"file {n}".encode())).status == 303
    stored = on_disk(settings)
    resp = await upload(auth, b"one more")
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "Too many attempts. Try again in" in await resp.text()
    assert len(await rows(app)) == item.amount and on_disk(settings) == stored
    clock.advance(item.get_expiry() + 1)
    assert (await upload(auth, b"later")).status == 303
