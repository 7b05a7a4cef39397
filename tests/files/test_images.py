"""Public images: named by an unguessable id, cached briefly and revalidated; the
migration that gave the files uploaded before it their ids."""

import re

import pytest

from tests.conftest import overrides_for
from tests.databases import open_database
from tests.files.test_pages import PNG, rows, upload
from www.migrate.runner import load, up
from www.settings import load_settings

PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{22}")
CACHE_CONTROL = "public, max-age=30, must-revalidate"
OLD_FILE = (  # a row of files as migration 0001 made it
    "INSERT INTO files (user_id, original_name, stored_name, content_type, size, sha256,"
    " created_at) VALUES (1, 'old.png', STORED, 'image/png', 3, 'sha', '2024-01-01T00:00:00Z')"
)


@pytest.fixture
def settings(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["uploads"]["image_max_age"] = 30  # the default is 60
    return load_settings(overrides=overrides, environ={})


async def test_an_image_url_uses_an_unguessable_id_not_the_row_id(auth, client, app):
    await auth.login_as()
    await upload(auth, PNG, "one.png")
    await upload(auth, PNG, "two.png")
    first, second = await rows(app)
    assert PUBLIC_ID.fullmatch(first.public_id) and PUBLIC_ID.fullmatch(second.public_id)
    assert first.public_id != second.public_id
    page = await (await client.get("/files")).text()
    assert f"![one.png](/files/{first.public_id}/image)" in page
    assert f"/files/{first.id}/image" not in page
    await auth.logout()
    assert (await client.get(f"/files/{first.public_id}/image")).status == 200
    # The row ids name no image: counting up finds nothing.
    for guess in (first.id, second.id, first.public_id[:-1], "x" * 22):
        assert (await client.get(f"/files/{guess}/image")).status == 404
    # The owner's own pages keep the row id.
    await auth.login_as("root", is_admin=True)
    assert (await client.get(f"/files/{first.id}")).status == 200


async def test_an_image_is_cached_briefly_then_revalidated(auth, client, app):
    await auth.login_as()
    await upload(auth, PNG, "pic.png")
    [file] = await rows(app)
    url = f"/files/{file.public_id}/image"
    resp = await client.get(url)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == CACHE_CONTROL
    etag = resp.headers["ETag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.headers["Cache-Control"] == CACHE_CONTROL
    assert await again.read() == b""
    # Once deleted, the cache's next question gets 404: it stops showing the image.
    assert (await auth.post(f"/files/{file.id}/delete")).status == 303
    gone = await client.get(url, headers={"If-None-Match": etag})
    assert gone.status == 404


async def test_the_migration_gives_each_existing_file_its_own_public_id(db_url):
    """Files uploaded before 0004 get distinct random ids; new ones get theirs from the
    model."""
    migrations = load()
    before = [m for m in migrations if m.name < "0004"]
    async with open_database(db_url) as db:
        await up(db, migrations, target=before[0].name)  # 0001: the files table, no public_id
        await db.execute(
            "INSERT INTO users (name, email, password_hash, is_admin, session_epoch, created_at)"
            " VALUES ('old', 'old@example.com', 'x', FALSE, 0, '2024-01-01T00:00:00+00:00')"
        )
        for stored_name in ("'stored0'", "'stored1'", "'stored2'"):
            await db.execute(OLD_FILE.replace("STORED", stored_name))
        await up(db, migrations)
        ids = [row[0] for row in await db.fetchall("SELECT public_id FROM files ORDER BY id")]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", public_id) for public_id in ids)
