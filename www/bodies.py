"""Reading request bodies: the one place where the app reads and parses one.

A body is whatever a client chose to send: a multipart body without its boundary, a form
in a charset no codec knows, bytes that claim to be gzip and are not. aiohttp's readers
(`request.post()`, `.multipart()`, `.read()`) raise a dozen kinds of exception for these
(ValueError, UnicodeDecodeError, LookupError, RuntimeError, zlib.error, the parser's
errors wrapped in RequestPayloadError...), which would reach the error middleware as a
500 with a traceback in the log: one for every hostile request. `reading()` makes them
the client's mistake instead: 400, or 415 for a charset the app does not read, logged
in one short line; aiohttp's own 413 (over `client_max_size`) passes through.

Forms are read in UTF-8 (or ASCII, its subset), as the pages send them; JSON is UTF-8 by
definition (RFC 8259 defines no charset parameter), so its charset is not looked at.
"""

import codecs
import json
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from aiohttp.web_protocol import RequestPayloadError
from multidict import MultiDict, MultiDictProxy

from .keys import FORM
from .schemas import is_utf8

log = logging.getLogger(__name__)

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
FORM_CHARSETS = frozenset({"utf-8", "ascii"})  # codecs' own names for them
# What aiohttp's body readers raise for bytes they cannot read. Caught only around a
# reader's call, where any of these can only come from what the client sent.
MALFORMED = (
    ValueError,  # UnicodeDecodeError, binascii.Error, no or wrong multipart boundary...
    LookupError,  # a charset (of the body or of a part) that no codec knows
    AssertionError,  # a multipart reader given a part that is not multipart
    RuntimeError,  # a part's unknown Content-Encoding, an over-long _charset_
    TypeError,
    zlib.error,  # a multipart part that claims gzip or deflate and is not
    HttpProcessingError,  # aiohttp.http_exceptions: bad part headers, lines too long...
    RequestPayloadError,  # the body's framing or Content-Encoding, from the parser
    # A part's malformed Content-Disposition: aiohttp warns and reads on (the name is
    # then None: a 400 all the same), but where warnings are errors (the tests) it raises.
    BadContentDispositionHeader,
    BadContentDispositionParam,
)
MAX_FORM_FIELDS = 1000  # in one multipart form; aiohttp's own limit for a urlencoded one
LOGGED_CHARS = 160  # of the error's text in the log line (it may quote the client's bytes)
MESSAGES = {
    400: "The request body could not be read.",
    413: "That form has too many fields.",
    415: "Send the form in UTF-8, as application/x-www-form-urlencoded or multipart/form-data.",
}


def brief(value: object, limit: int = LOGGED_CHARS) -> str:
    """`value` as one line of at most about `limit` characters, for a log."""
    text = repr(str(value))[1:-1]  # control characters and newlines escaped
    return text if len(text) <= limit else text[:limit] + "..."


def describe(exc: BaseException) -> str:
    """An exception as one short line: its type and text (aiohttp's own message, without
    its status prefix); for the parser's error wrapped in RequestPayloadError, that one."""
    if isinstance(exc, RequestPayloadError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"


def refuse(request: web.Request, status: int, reason: object) -> web.HTTPException:
    """The 400, 413 (too many fields) or 415 for a body the app will not read, logged in
    one line (a client's mistake: INFO, no traceback)."""
    log.info(
        "Unreadable body (%d) on %s %s: %s",
        status,
        request.method,
        brief(request.path, 100),
        brief(reason),
    )
    if status == 413:
        return web.HTTPRequestEntityTooLarge(MAX_FORM_FIELDS, 0, text=MESSAGES[status])
    error = web.HTTPUnsupportedMediaType if status == 415 else web.HTTPBadRequest
    return error(text=MESSAGES[status])


@contextmanager
def reading(request: web.Request) -> Iterator[None]:
    """Around a read of the request's body: what aiohttp raises for bytes it cannot read
    becomes a 400 (415 for an unknown charset), logged in one line."""
    try:
        yield
    except MALFORMED as exc:
        unknown_charset = isinstance(exc, LookupError) and not isinstance(exc, KeyError)
        error = refuse(request, 415 if unknown_charset else 400, describe(exc))
        if isinstance(exc, RequestPayloadError):
            abandon(request)
            error.headers["Connection"] = "close"
        raise error from None


def abandon(request: web.Request) -> None:
    """After the parser gave up on the body (its framing or Content-Encoding): close the
    connection once answered, since what follows on it cannot be told from a next
    request, and mark the body finished, or aiohttp would try to read the rest of it
    after the answer, meet the same error again and log it with a traceback."""
    request.protocol.close()
    request.content.feed_eof()


def check_form_charset(request: web.Request) -> None:
    """415 for a form declared in a charset other than UTF-8 (or ASCII)."""
    charset = request.charset
    if charset is None:
        return
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError):
        name = None
    if name not in FORM_CHARSETS:
        raise refuse(request, 415, f"charset {charset!r}")


async def form(request: web.Request) -> MultiDictProxy:
    """The submitted form (urlencoded or multipart/form-data; read once, then cached).

    An empty body is an empty form. Raises 415 for a body of another type or charset,
    400 for one that cannot be read, 413 over the app's client_max_size.
    """
    if request.content_type not in FORM_TYPES:
        if request.body_exists:
            raise refuse(request, 415, f"Content-Type {request.content_type!r}")
        return MultiDictProxy(MultiDict())
    if FORM not in request:
        check_form_charset(request)
        with reading(request):
            if request.content_type == "multipart/form-data":
                request[FORM] = await _multipart_form(request)
            else:
                request[FORM] = await request.post()
    return request[FORM]


async def _multipart_form(request: web.Request) -> MultiDictProxy[str]:
    """A multipart/form-data form's fields, as text (in each part's charset, UTF-8 by
    default). Unlike `request.post()`, files are not spooled to temporary files (which it
    leaves unclosed when a later part is broken): no form read here takes one (uploads
    are streamed, www/uploads.py), so a part with a file name is read past, unkept."""
    reader = await request.multipart()
    fields: MultiDict[str] = MultiDict()
    limit = request.client_max_size
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ValueError("a multipart part inside a form")
        if part.name is None:
            raise ValueError("a form part without a name")
        if len(fields) >= MAX_FORM_FIELDS:
            raise refuse(request, 413, f"over {MAX_FORM_FIELDS} fields")
        if part.filename is None:
            fields.add(part.name, await part.text())  # at most client_max_size
        else:
            while not part.at_eof() and request.content.total_bytes <= limit:
                await part.read_chunk()
        if request.content.total_bytes > limit:
            raise web.HTTPRequestEntityTooLarge(limit, request.content.total_bytes)
    return MultiDictProxy(fields)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises 415 unless the Content-Type is application/json; 400 for malformed JSON (NaN
    and unpaired surrogates included), a body that is not an object or that cannot be
    read (its Content-Encoding, its framing); 413 over the app's client_max_size.
    """
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send JSON (Content-Type: application/json).")
    with reading(request):
        raw = await request.read()
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise web.HTTPBadRequest(text="The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="The body must be a JSON object.")
    if not all(is_utf8(value) for value in data.values() if isinstance(value, str)):
        raise web.HTTPBadRequest(text="The body is not valid JSON (unpaired surrogate).")
    return data
