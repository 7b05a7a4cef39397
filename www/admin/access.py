"""Who may use the admin: administrators only, checked before anything else is read."""

import functools

from aiohttp import web
from aiohttp.typedefs import Handler

from ..keys import USER


def admin_required(handler: Handler) -> Handler:
    """Anonymous: 401, which pages answer with a 303 to /login?next=... (www/middlewares.py);
    logged in but not an administrator: 403. Before the view reads its table or its row,
    so that no one else learns what exists."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        user = request[USER]
        if user is None:
            raise web.HTTPUnauthorized(text="You need to log in to do that.")
        if not user.is_admin:
            raise web.HTTPForbidden(text="Only administrators may use the admin.")
        return await handler(request)

    wrapper.admin_required = True  # type: ignore[attr-defined] (the tests check every route)
    return wrapper
