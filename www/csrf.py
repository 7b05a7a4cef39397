"""Cross-site request forgery protection: a synchronizer token plus an Origin check.

The token lives in the session and goes into every form as `csrf_token` (and into a
<meta> tag for scripts, which send it as the X-CSRF-Token header). Every POST, PUT,
PATCH and DELETE must carry it, login and register included.

Requests authenticated by an API token (`Authorization: Bearer`, under /api/ only: see
www/auth.py) skip the check: forgery rides on what a browser adds by itself, the cookie,
and a browser never adds that header to a cross-site request, so no page of another site
can make one. A cookie request to the API is checked as usual.
"""

import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import Session

from . import bodies
from .keys import API_TOKEN, MULTIPART, SESSION

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "X-CSRF-Token"
FIELD = "csrf_token"
MAX_TOKEN_BYTES = 256
REJECTED_MESSAGE = "The form has expired or is invalid (CSRF token). Reload the page and try again."


def get_token(session: Session) -> str:
    """The session's token, made on first use (which starts the session cookie)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def same_origin(request: web.Request) -> bool:
    """False when an Origin header names another site (or is the opaque "null")."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not sent by every client; the token still has to match
    return urlsplit(origin).netloc == request.host


def streams_multipart(handler: Handler) -> Handler:
    """Mark a view that streams its multipart body itself (uploads).

    For it, the CSRF check reads only the first part, which must be the token (the upload
    form puts it first), and leaves the reader in request[MULTIPART] for the view: the
    rest of a possibly huge body is never buffered. Other views get the usual parsed form.
    """
    handler.streams_multipart = True  # type: ignore[attr-defined]
    return handler


async def submitted_token(request: web.Request) -> str | None:
    """The token the request carries: its X-CSRF-Token header, else its form's field.

    The body is read through www/bodies.py, so one that cannot be read is a 400 (415,
    413), never a 500. Only forms are read; any other body carries no token.
    """
    if HEADER in request.headers:
        return request.headers[HEADER]
    content_type = request.content_type
    if content_type == "multipart/form-data" and getattr(
        request.match_info.handler, "streams_multipart", False
    ):
        with bodies.reading(request):
            return await _first_part_token(request)
    if content_type in bodies.FORM_TYPES:
        value = (await bodies.form(request)).get(FIELD)
        return value if isinstance(value, str) else None
    return None


async def _first_part_token(request: web.Request) -> str | None:
    """The token in the first part of a streamed multipart body (see streams_multipart)."""
    reader = request[MULTIPART] = await request.multipart()
    part = await reader.next()
    if part is None or getattr(part, "name", None) != FIELD:
        return None
    value = b""
    while not part.at_eof() and len(value) <= MAX_TOKEN_BYTES:
        value += await part.read_chunk(MAX_TOKEN_BYTES)
    return value.decode("utf-8", "replace")


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """403 for an unsafe request without the session's token, or from another origin.

    Requests the router already refused (404, 405) pass: they cannot change anything. A
    session with no token (or no session) is refused before its body is read: there is
    nothing to compare with, and an anonymous client must not make the app parse bodies.
    """
    if API_TOKEN in request:  # no cookie, so nothing to forge (see above)
        return await handler(request)
    if request.method not in SAFE_METHODS and request.match_info.http_exception is None:
        expected = request[SESSION].get("csrf")
        if not same_origin(request):
            raise web.HTTPForbidden(text="Cross-site request refused.")
        if not expected:
            raise web.HTTPForbidden(text=REJECTED_MESSAGE)
        token = await submitted_token(request)
        if not token or not hmac.compare_digest(expected.encode(), token.encode()):
            raise web.HTTPForbidden(text=REJECTED_MESSAGE)
    return await handler(request)
