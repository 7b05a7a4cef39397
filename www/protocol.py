"""What aiohttp does by itself with a malformed request: answered and logged as ours.

A malformed request line or header, a line too long, broken chunked framing: aiohttp's
HTTP parser refuses these before any application code runs, so neither the middlewares
nor `on_response_prepare` see them. Its `RequestHandler.handle_error` answers them with
`Server: Python/3.x aiohttp/3.x` (the versions an attacker looks for) and the parser's
message (which quotes the client's bytes), and logs a traceback for each one. So does
its `log_exception` when, after the answer, it drains a body the view did not read and
meets the client's broken framing or Content-Encoding there.

aiohttp has no hook for either (aio-libs/aiohttp#3287, #6463), so the app's own request
handler (www/connections.py's GuardedRequestHandler, which `python -m www`, the gunicorn
worker in www/worker.py and the tests serve with) overrides both with the functions
below. A client's mistake (4xx) is answered with our headers and a short body, and logged
in one line at INFO, without a traceback; a server error (500, 504) keeps aiohttp's
handling, which logs it in full, with our headers on the answer.
"""

import http
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from .bodies import brief, describe
from .middlewares import SECURITY_HEADERS

log = logging.getLogger(__name__)

AIOHTTP_HANDLE_ERROR = RequestHandler.handle_error
AIOHTTP_LOG_EXCEPTION = RequestHandler.log_exception


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def handle_error(
    self: RequestHandler,
    request: web.BaseRequest,
    status: int = 500,
    exc: BaseException | None = None,
    message: str | None = None,
) -> web.StreamResponse:
    """aiohttp's `RequestHandler.handle_error`, answered and logged as the app does."""
    if status >= 500:
        response = AIOHTTP_HANDLE_ERROR(self, request, status, exc, message)
    else:
        if request.writer.output_size > 0:  # as aiohttp: too late for another answer
            raise ConnectionError("Response is sent already, cannot send another response")
        # Something that is not HTTP at all (TLS to the plain port, a scanner) is noise.
        level = logging.DEBUG if isinstance(exc, BadHttpMethod) else logging.INFO
        log.log(
            level,
            "Malformed request from %s: %s",
            request.remote,
            brief(describe(exc) if exc else message),
        )
        response = web.Response(status=status, text=f"{status}: {phrase(status)}\n")
        response.force_close()  # as aiohttp: the connection cannot be trusted further
    response.headers.update(SECURITY_HEADERS)  # Server: www, not the versions
    return response


def log_exception(self: RequestHandler, *args: Any, **kwargs: Any) -> None:
    """aiohttp's `RequestHandler.log_exception`, but one line for a body the client
    broke, met while aiohttp drained it after the answer (it closes the connection)."""
    exc = kwargs.get("exc_info")
    if isinstance(exc, RequestPayloadError | HttpProcessingError):
        log.info("Unreadable body, left unread by the view: %s", brief(describe(exc)))
        return
    AIOHTTP_LOG_EXCEPTION(self, *args, **kwargs)
