"""Fixtures and helpers of the admin's tests."""

import pytest
from aiohttp import web

from tests.conftest import overrides_for
from tests.helpers import GENEROUS_LIMITS
from www.routing import walk
from www.settings import load_settings


@pytest.fixture(name="settings")
def generous_settings(tmp_path, db_url):
    """Generous rate limits: hypothesis' examples share one client and one user."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["rate_limits"] = GENEROUS_LIMITS
    return load_settings(overrides=overrides, environ={})


@pytest.fixture
async def admin_user(auth):
    """The client, logged in as the administrator "root"."""
    return await auth.login_as("root", is_admin=True)


def admin_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path pattern) of every route of the admin, read from the router."""
    return sorted(
        (route.method, resource.canonical)
        for _, resource in walk(app)
        if (resource.name or "").startswith("admin.")
        for route in resource
        if route.method != "HEAD"
    )


def fill(pattern: str, table: str, row_id: int) -> str:
    return pattern.replace("{table}", table).replace("{id}", str(row_id))
