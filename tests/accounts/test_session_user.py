"""The session's user comes through the query cache (www/accounts/actions.py get_user),
and is never stale: whatever ends or narrows a session (a password change, logging out
everywhere, a demotion, a deletion) applies to the very next request, whether this
process made the change or another one did (another connection to the database)."""

import pytest

from tests.databases import open_database
from tests.helpers import COOKIE, cookie_value, make_post
from www.accounts.actions import get_user
from www.accounts.models import User
from www.keys import QUERIES


async def end_sessions(user: User) -> None:
    user.session_epoch += 1  # as logging out or a password change does


async def change_password(user: User) -> None:
    user.password_hash = "another hash"
    user.session_epoch += 1


async def demote(user: User) -> None:
    user.is_admin = False


CHANGES = {"log out everywhere": end_sessions, "password change": change_password}


async def cached_home(client, app) -> str:
    """GET / twice: the second answer comes from the cache (the user's row included)."""
    await client.get("/")
    hits = app[QUERIES].hits
    body = await (await client.get("/")).text()
    assert app[QUERIES].hits >= hits + 2  # the page's posts and the user's row
    return body


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
async def test_a_change_by_another_process_ends_the_session_at_once(
    auth, client, app, db_url, change
):
    await auth.login_as("alice")
    assert "Log out" in await cached_home(client, app)
    async with open_database(db_url) as other:  # as another worker process would
        user = await User.select(other).where(name="alice").first()
        await change(user)
        await user.save(other)
    body = await (await client.get("/")).text()
    assert "Log out" not in body and "alice" not in body
    assert (await client.get("/account/password", allow_redirects=False)).status == 303


async def test_a_deletion_by_another_process_ends_the_session_at_once(auth, client, app, db_url):
    await auth.login_as("alice")
    assert "Log out" in await cached_home(client, app)
    async with open_database(db_url) as other:
        await User.select(other).where(name="alice").delete()
    assert "Log out" not in await (await client.get("/")).text()


async def test_a_demotion_by_another_process_applies_at_once(auth, client, app, db_url):
    await auth.login_as("root", is_admin=True)
    post = await make_post(app, await auth.create_user("author"))
    path = f"/posts/{post.id}"
    await client.get(path)
    assert "Yes, delete" in await (await client.get(path)).text()  # an admin moderates
    assert (await client.get("/admin/")).status == 200
    async with open_database(db_url) as other:
        user = await User.select(other).where(name="root").first()
        await demote(user)
        await user.save(other)
    body = await (await client.get(path)).text()
    assert "Yes, delete" not in body and "Log out" in body  # still logged in, not an admin
    assert (await client.get("/admin/")).status == 403


async def test_logging_out_here_ends_a_copy_of_the_session_at_once(
    auth, client, app, aiohttp_client
):
    await auth.login_as("alice")
    other = await aiohttp_client(client.server)  # a copy of the cookie, elsewhere
    other.session.cookie_jar.update_cookies({COOKIE: cookie_value(client)})
    assert "Log out" in await cached_home(other, app)
    assert (await auth.logout()).status == 303
    assert "Log out" not in await (await other.get("/")).text()


async def test_an_error_page_still_knows_the_reader(auth, client):
    """A page that loads the user alongside its data (here past the last page: 404)
    still shows who is logged in."""
    await auth.login_as("alice")
    resp = await client.get("/?page=99")
    assert resp.status == 404
    assert "alice" in await resp.text()


async def test_each_call_gets_its_own_user(app, auth):
    """What a request changes on its user (logging out bumps the epoch) is not what the
    next request gets."""
    alice = await auth.create_user("alice")
    first = await get_user(app, alice.id)
    first.session_epoch += 5
    second = await get_user(app, alice.id)
    assert second is not first and second.session_epoch == alice.session_epoch
    assert (second.name, second.email, second.is_admin) == (alice.name, alice.email, False)
    assert await get_user(app, alice.id + 1000) is None
    assert app[QUERIES].hits >= 1
