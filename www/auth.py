"""Sessions, the current user, logging in and out, permissions and flash messages.

The session lives in an encrypted cookie (aiohttp-session + Fernet, www/session_cookie.py). It
holds the user's id and their `session_epoch`; logging out bumps the epoch in the
database, so a copy of an old cookie, replayed later, no longer matches and is anonymous.

Under /api/ only, `Authorization: Bearer www_...` (an API token, www/accounts/tokens.py)
authenticates instead, with no session at all; on the pages that header is ignored.
"""

import functools
import secrets
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import SESSION_KEY, Session, get_session, new_session

from . import ratelimits
from .accounts import tokens
from .accounts.actions import get_user
from .accounts.models import User
from .keys import API, API_TOKEN, DB, SESSION, USER
from .routing import url_for


@web.middleware
async def user_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session and the current user once per request, for views and templates.

    Without a session cookie nothing is decrypted and the database is not asked: the
    anonymous path stays cheap. A bearer token under /api/ replaces the session. The
    user's row comes through the query cache: on a GET, behind the same one check of
    the tables' counters as the page's own data (www/cache.py `one_check`).
    """
    if (token := bearer_token(request)) is not None:
        return await _as_token_user(request, handler, token)
    session = request[SESSION] = await get_session(request)
    request[USER] = await _load_user(request, session) if not session.new else None
    return await handler(request)


def bearer_token(request: web.Request) -> str | None:
    """What follows `Bearer ` in the Authorization header of a request routed to the API
    ("" when nothing does); None without one, or on a page (a token never opens a page).
    Other schemes (Basic, from a proxy guarding a staging site) are left alone."""
    if request.match_info.apps[-1] is not request.config_dict.get(API):
        return None
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def _as_token_user(request: web.Request, handler: Handler, token: str):
    """Act as the token's user, or 401 (a script must learn its token is bad, even where
    it could read anonymously), or 429 past rate_limits.bearer_failure_address: failures
    only count, so a script with a good token is never slowed by a guesser next to it.
    The request gets a session of its own that is never saved: no cookie is set in
    answer to a token."""
    found = await tokens.authenticate(request.config_dict, token)
    if found is None:
        await ratelimits.hit(request, "bearer_failure_address", ratelimits.client_address(request))
        raise web.HTTPUnauthorized(
            text="The API token is wrong, revoked or expired.",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    request[API_TOKEN], request[USER] = found
    request[SESSION] = Session(None, data=None, new=True)
    try:
        return await handler(request)
    finally:
        request.pop(SESSION_KEY, None)  # one a handler started (logging in): not saved


async def _load_user(request: web.Request, session: Session) -> User | None:
    """The session's user, if the session's epoch is still theirs. Through the query
    cache, which checks the users table's counter first: never a stale user."""
    user_id = session.get("uid")
    if user_id is None:
        return None
    user = await get_user(request.config_dict, user_id)
    if user is None or user.session_epoch != session.get("epoch"):
        session.clear()  # logged out elsewhere, or the account is gone
        return None
    return user


async def log_in(request: web.Request, user: User) -> Session:
    """Start a brand-new session for `user`, with a fresh CSRF token."""
    session = request[SESSION] = await new_session(request)
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["csrf"] = secrets.token_urlsafe(32)
    request[USER] = user
    return session


async def log_out(request: web.Request) -> None:
    """End the session here and, by bumping the epoch, every copy of its cookie."""
    user = request[USER]
    if user is not None:
        user.session_epoch += 1
        await user.save(request.config_dict[DB])
    request[SESSION].invalidate()
    request[USER] = None


def login_url(request: web.Request) -> str:
    """Where an anonymous visitor is sent: /login?next=<this page> (GET only)."""
    path = url_for(request, "accounts.login")
    return f"{path}?next={quote(request.path_qs, safe='/')}" if request.method == "GET" else path


def login_required(handler: Handler) -> Handler:
    """Let only logged-in users through; others get 401, which pages answer with a 303 to
    the login form (www/middlewares.py) and the API as JSON."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if request[USER] is None:
            raise web.HTTPUnauthorized(text="You need to log in to do that.")
        return await handler(request)

    wrapper.login_required = True  # type: ignore[attr-defined] (for the OpenAPI document)
    return wrapper


def may_edit(user: User | None, owner_id: int) -> bool:
    return user is not None and (user.is_admin or user.id == owner_id)


def check_owner(request: web.Request, *owner_ids: int) -> None:
    """403 unless the current user is one of `owner_ids` or an admin; with no `owner_ids`
    (a row nobody owns, as in a resource generated without a `user` field), unless an admin.

    Call it after the object was found (a missing object is 404 first).
    """
    user = request[USER]
    if not (user and user.is_admin) and not any(may_edit(user, i) for i in owner_ids):
        raise web.HTTPForbidden(text="You are not allowed to change this.")


def safe_next(target: str | None) -> str:
    """`target` if it is a local path (/x, not //host or /\\host), else "/"."""
    if (
        not target
        or not target.startswith("/")
        or target[1:2] in ("/", "\\")
        or any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        return "/"
    return target


# Flash messages wait in the session cookie until a page shows them. A client that posts
# without ever reading a page (a script, a flood) would otherwise grow the cookie past the
# 8 KB browsers and servers accept, and every later request would fail until it is cleared.
MAX_FLASHES = 5  # the newest are kept; nobody reads more than a few at once


def flash(request: web.Request, message: str, category: str = "info") -> None:
    """Show `message` once, on the next page rendered for this session."""
    session = request[SESSION]
    session["flash"] = [*session.get("flash", []), [category, message]][-MAX_FLASHES:]


def pop_flashes(request: web.Request) -> list[list[str]]:
    session = request.get(SESSION)
    if session is None or "flash" not in session:
        return []
    return session.pop("flash")
