"""export.csv: the filtered list, every cell a spreadsheet would run as a formula
neutralised, and streamed: read in batches of admin.csv_batch rows, sent as it goes."""

import csv
import io

import pytest

from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS, make_post
from www import DB
from www.settings import load_settings

HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rReturn", "plain"]


@pytest.fixture(name="settings")
def small_batches(tmp_path, db_url):
    overrides = overrides_for(tmp_path, db_url)
    overrides["rate_limits"] = GENEROUS_LIMITS
    overrides["admin"] = {"csv_batch": 2}
    return load_settings(overrides=overrides, environ={})


async def rows_of(resp) -> list[list[str]]:
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/csv"
    return list(csv.reader(io.StringIO(await resp.text())))


async def test_formula_cells_are_neutralised(client, auth, app, admin_user):
    for n, title in enumerate(HOSTILE):
        await make_post(app, admin_user, n, title=title)
    rows = await rows_of(await client.get("/admin/posts/export.csv?sort=id"))
    assert rows[0] == ["id", "title", "user_id", "created_at", "updated_at"]
    titles = [row[1] for row in rows[1:]]
    assert titles == ["'" + t if t[0] in "=+-@\t\r" else t for t in HOSTILE]
    for row in rows[1:]:
        assert all(not cell or cell[0] not in "=+-@\t\r" for cell in row)


async def test_the_export_is_the_filtered_list(client, auth, app, admin_user):
    bob = await auth.create_user("bob")
    for n in range(3):
        await make_post(app, bob if n else admin_user, n, title=f"Title {n}")
    rows = await rows_of(await client.get(f"/admin/posts/export.csv?user_id={bob.id}&sort=-id"))
    assert [row[1] for row in rows[1:]] == ["Title 2", "Title 1"]
    rows = await rows_of(await client.get("/admin/users/export.csv?q=bob"))
    assert [row[1] for row in rows[1:]] == ["bob"]


async def test_streamed_in_batches(client, auth, app, admin_user):
    for n in range(5):
        await make_post(app, admin_user, n)
    selects = []
    fetchall = app[DB].fetchall

    async def counting(sql, params=()):
        if 'FROM "posts"' in sql:
            selects.append(params)
        return await fetchall(sql, params)

    app[DB].fetchall = counting
    resp = await client.get("/admin/posts/export.csv")
    assert resp.headers.get("Transfer-Encoding") == "chunked"  # no length: sent as read
    assert len(await rows_of(resp)) == 1 + 5
    # Batches of 2 (csv_batch), each one LIMIT 2 at the next OFFSET, never the whole table.
    assert [params[-2:] for params in selects] == [[2, 0], [2, 2], [2, 4]]
