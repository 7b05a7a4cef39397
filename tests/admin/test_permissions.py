"""Administrators only: every route of the admin (read from the router) and method, for an
anonymous visitor (303 to the login form), a user (403) and an administrator (served)."""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin.conftest import admin_routes, fill
from tests.helpers import make_post, make_row
from www import DB
from www.admin.registry import registry
from www.posts.models import Post

# The admin's tables, and names that are none: the check comes before the table is read.
TABLES = st.sampled_from([*registry(), "nosuch", "admin_changes"])
IDS = st.sampled_from([1, 2, 3, 999_999])
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
EXPECTED_NAMES = {"index", "list", "new", "edit", "delete", "export", "audit", "bulk_delete"}


def test_every_admin_route_is_guarded(app):
    names = {r.name.removeprefix("admin.") for r in app.router.resources() if r.name}
    assert names >= EXPECTED_NAMES
    for resource in app.router.resources():
        if (resource.name or "").startswith("admin."):
            assert all(getattr(route.handler, "admin_required", False) for route in resource)


async def _send(auth, method: str, path: str):
    if method == "GET":
        return await auth.client.get(path, allow_redirects=False)
    return await auth.post(path, {"title": "x"})  # with the session's CSRF token


@EXAMPLES
@given(data=st.data())
async def test_anonymous_is_sent_to_log_in(app, auth, client, data):
    route = data.draw(st.sampled_from(admin_routes(app)), "route")
    path = fill(route[1], data.draw(TABLES, "table"), data.draw(IDS, "id"))
    resp = await _send(auth, route[0], path)
    assert resp.status == 303, (route, path, resp.status)
    expected = f"/login?next={quote(path, safe='/')}" if route[0] == "GET" else "/login"
    assert resp.headers["Location"] == expected


@EXAMPLES
@given(data=st.data())
async def test_a_user_is_forbidden(app, auth, client, data, logged_in_user):
    route = data.draw(st.sampled_from(admin_routes(app)), "route")
    path = fill(route[1], data.draw(TABLES, "table"), data.draw(IDS, "id"))
    resp = await _send(auth, route[0], path)
    assert resp.status == 403, (route, path, resp.status)
    assert "Only administrators" in await resp.text()


@EXAMPLES
@given(data=st.data())
async def test_an_administrator_is_served(app, auth, client, data, admin_user, rows):
    route = data.draw(st.sampled_from(admin_routes(app)), "route")
    table = data.draw(st.sampled_from(list(registry())), "table")
    # Their own account (id 1) among the rows: the admin refuses to delete it.
    path = fill(route[1], table, data.draw(IDS, "id"))
    resp = await _send(auth, route[0], path)
    assert resp.status != 401 and resp.status < 500, (route, path, resp.status)
    if resp.status == 403:  # a write to a read-only table
        assert "Only administrators" not in await resp.text()
    if resp.status == 303:
        assert not resp.headers["Location"].startswith("/login")


@pytest.fixture
async def logged_in_user(auth):
    return await auth.login_as("alice")


@pytest.fixture
async def rows(app, auth):
    """Posts, and a row of every other table of the admin (of resources added later too)."""
    author = await auth.create_user("author")
    posts = [await make_post(app, author, n) for n in range(3)]
    others = [admin.model for admin in registry().values() if admin.model is not Post]
    return posts + [await make_row(app[DB], model) for model in others]
