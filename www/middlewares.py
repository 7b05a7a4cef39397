"""Error pages, security headers, and anonymous GETs answered from the response cache.

`error_middleware` is first in the chain, so it sees every error, including those raised
by the router (404, 405) and by the other middlewares. It answers in the form of the
application the request was routed to (`app[ERRORS]`): HTML pages rendered from
templates/ here, the JSON error shape in the API sub-application (www/api.py).
"""

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable

import jinja2
from aiohttp import hdrs, web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.typedefs import Handler
from multidict import CIMultiDict

from .auth import login_url
from .keys import ERRORS, RESPONSES
from .orm import DoesNotExist
from .proxy import forwarded
from .routing import see_other
from .schemas import Invalid
from .templating import render

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    401: "You need to log in to do that.",
    403: "You are not allowed to do that.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "That upload is too large.",
    415: "That content type is not supported here.",
    422: "Some fields are not valid.",
    500: "Something went wrong on our side. It has been logged.",
}
# Headers from an HTTPException worth keeping on the error page: Allow on 405, the
# session cookie that aiohttp-session saved onto the exception, and Connection: close
# after a body the parser gave up on (www/bodies.py).
KEPT_HEADERS = ("Allow", "Connection", "Retry-After", "Set-Cookie", "WWW-Authenticate")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Server": "www",
}
# The same as one multidict, merged into each response in one step: a view's own value
# (a page with its own policy) is kept. Every response pays for this, cached ones included.
_SECURITY_DEFAULTS = CIMultiDict(SECURITY_HEADERS)
# HTTPS only, for two years, subdomains included; sent on HTTPS responses only, since a
# browser ignores it over plain HTTP.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


def user_message(exc: web.HTTPException) -> str | None:
    """The text a view gave its HTTPException (`text=...`), if it is not aiohttp's default."""
    text = exc.text
    return text if text and text != f"{exc.status}: {exc.reason}" else None


def status_title(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase.capitalize()  # "Method not allowed"
    except ValueError:
        return "Error"


def error_response(
    request: web.Request, status: int, message: str | None = None, headers=None, fields=None
) -> web.Response:
    """The answer to an error, in the form of the app the request was routed to."""
    message = message or MESSAGES.get(status) or "The request could not be completed."
    answer = request.match_info.apps[-1].get(ERRORS, error_page)
    return answer(request, status, message, headers, fields)


def error_page(request: web.Request, status: int, message: str, headers=None, fields=None):
    """The HTML error page for `status`; never raises. Not logged in (401): the login form.
    `fields` (input a view did not validate itself): a 400 listing the messages."""
    if status == 401:
        return see_other(login_url(request), headers=headers)
    if fields:
        status, message = 400, " ".join(fields.values())
    template = f"{status}.html" if status in (404, 500) else "error.html"
    try:
        context = {"status": status, "title": status_title(status), "message": message}
        response = render(request, template, context, status=status)
    except (jinja2.TemplateError, OSError):
        log.exception("Could not render the error page %s", template)
        return web.Response(text=f"{status}: {message}\n", status=status, headers=headers)
    if headers:
        response.headers.extend(headers)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and other non-errors pass through untouched
            raise
        headers = CIMultiDict((k, v) for k, v in exc.headers.items() if k in KEPT_HEADERS)
        return error_response(request, exc.status, user_message(exc), headers)
    except Invalid as exc:  # input a view left to the schema's messages
        return error_response(request, 422, fields=exc.errors)
    except DoesNotExist:  # the row went away during the request (a concurrent delete)
        return error_response(request, 404)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except BadHttpMessage:  # a malformed body, met while a view or the CSRF check read it
        return error_response(request, 400)
    except Exception:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500)


def security_headers(
    behind_proxy: bool,
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """The on_response_prepare hook: the same safe headers on every response, errors
    included, and HSTS when the request came over HTTPS, to the app or to a trusted proxy.

    aiohttp hands the hook its own request. Behind a proxy (`behind_proxy`: the setting
    server.trusted_proxies is not empty), the proxy's view of the request says whether it
    came over HTTPS (www/proxy.py); without one, aiohttp's request says, with no lookup.
    Every answer runs this, cached ones too, and looking for a proxy's view that is not
    there raised and caught a KeyError each time.
    """

    async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.merge(_SECURITY_DEFAULTS)  # those missing, as setdefault() each
        response.headers["Server"] = SECURITY_HEADERS["Server"]
        if (forwarded(request) if behind_proxy else request).secure:
            response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY

    return add_security_headers


@web.middleware
async def caches(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A GET or HEAD reads the tables' change counters once, whatever it looks up in the
    caches (www/cache.py); an anonymous one is answered from the response cache while
    what it shows is unchanged (www/responses.py). Other requests pass."""
    if request.method not in (hdrs.METH_GET, hdrs.METH_HEAD):
        return await handler(request)
    responses = request.app[RESPONSES]
    if responses.applies(request):
        return await responses.answer(request, handler)  # its one check, or none for a hit
    with responses.queries.one_check(hint=request.path):
        return await handler(request)
