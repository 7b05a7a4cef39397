"""The session in the JSON API (mounted at /api/): who is logged in, logging in and out."""

from aiohttp import web

from ..api import NO_STORE, operation, read_body, reply
from ..auth import log_in, log_out
from ..csrf import get_token
from ..keys import SESSION, USER
from ..ratelimits import client_address, hit
from ..schemas import Invalid
from . import actions
from .schemas import Login, SessionOut


def _session(request: web.Request) -> web.Response:
    user = request[USER]
    session = SessionOut(user=user, csrf_token=get_token(request[SESSION]))
    return reply(session, headers=NO_STORE)


@operation(response=SessionOut)
async def get_session(request: web.Request) -> web.Response:
    """The current user (or null) and the CSRF token; starts a session when there is none."""
    return _session(request)


@operation(body=Login, response=SessionOut, errors=(401, 429))
async def create_session(request: web.Request) -> web.Response:
    """Log in: a new session, its user and CSRF token. 401 with one message for an
    unknown email and a wrong password. 429 (with Retry-After) after too many attempts
    from the client's address, or too many failures for the account: while it is
    locked, even the right password is refused."""
    await hit(request, "login_address", client_address(request))  # every attempt
    values, _ = await read_body(request, Login)
    try:
        user = await actions.authenticate_limited(request.config_dict, values)
    except Invalid:
        raise web.HTTPUnauthorized(text=actions.WRONG_LOGIN) from None
    await log_in(request, user)
    return _session(request)


@operation()
async def delete_session(request: web.Request) -> web.Response:
    """Log out: every copy of the old session cookie stops working."""
    await log_out(request)
    return reply(None)
