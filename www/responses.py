"""Whole responses for anonymous visitors, never stale: rendered once, then served again
while the tables they were made from are unchanged.

A visitor without a session cookie or a bearer token sees exactly what every other such
visitor sees at that URL: the same bytes. So the first such GET renders as usual, and the
response is kept, with the change counters (www/db/versions.py) of the tables its queries
read, counted *before* it ran; the next anonymous GET of that URL reads the counters (one
query, shared by the requests arriving together: www/cache.py) and, if none of those tables
has changed, is answered from memory, with no handler, session, template or query. A write
by any process moves a counter, so the very next request renders afresh; a new comment
moves `comments`, so the cached home page (which reads `posts`, `users`, `tags`...) stays.

Only what depends on nothing but the URL and the data is kept: a 200 to a GET with no
session cookie and no Authorization header, a plain body, no Set-Cookie (a page that
starts a session, such as a form with its CSRF token, is never kept), no Vary but
Accept-Encoding, nothing `private` or `no-store`. The key is the scheme, host and path
with its query, as the client sent them. Each response carries an ETag (the handler's own,
or a hash of the body), and If-None-Match is answered 304. Bounded by bytes
(`cache.responses_max_bytes`), least recently used first; `cache.responses: false` turns
it off.

A cached answer skips the handler, so what it would have done for every request (count a
rate limit, log a view) does not happen: keep such GETs out of this cache (`no-store`).
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from .cache import QueryCache, scopes_of, unchanged
from .db import DatabaseError
from .session_cookie import cookie_value

log = logging.getLogger(__name__)

# Headers made afresh for each answer (lower case).
_NOT_KEPT = frozenset({"content-length", "date", "server", "transfer-encoding"})
# What a 304 repeats of the 200 it stands for (RFC 9110, 15.4.5).
_VALIDATORS = frozenset({"etag", "cache-control", "last-modified", "vary", "expires"})
_OVERHEAD = 512  # bytes counted for an entry besides its body and headers


class Kept(NamedTuple):
    body: bytes
    headers: tuple[tuple[str, str], ...]  # the handler's, ETag included
    etag: str  # its value, unquoted
    depends: dict[str, int]  # the change counter of each table it read
    scopes: tuple[str, ...]  # those of depends that are scoped counters
    weight: int  # about its bytes

    def current(self, versions: Mapping[str, int]) -> bool:
        return unchanged(self.depends, versions)


class ResponseCache:
    def __init__(
        self, queries: QueryCache, cookie_name: str, max_bytes: int, enabled: bool = True
    ) -> None:
        """`queries`: the page-data cache, whose shared read of the change counters and
        table names this cache uses too; `cookie_name`: the session cookie's."""
        self.queries, self.cookie_name = queries, cookie_name
        self.max_bytes, self.enabled = max_bytes, enabled
        self.bytes = self.hits = self.misses = 0
        self._kept: OrderedDict[tuple[str, str, str], Kept] = OrderedDict()

    def applies(self, request: web.Request) -> bool:
        """Whether the request is one every anonymous visitor could have sent."""
        return (
            self.enabled
            and request.method in (hdrs.METH_GET, hdrs.METH_HEAD)
            and cookie_value(request, self.cookie_name) is None
            and hdrs.AUTHORIZATION not in request.headers
        )

    async def answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The kept response if still current, else the handler's (kept if it may be)."""
        key = (request.scheme, request.host, request.raw_path)
        kept = self._kept.get(key)
        try:  # before the data (never newer than it), with the kept one's scoped counters
            versions = await self.queries.versions(kept.scopes if kept is not None else ())
        except DatabaseError:  # the handler answers as it would without this cache
            return await handler(request)
        kept = self._kept.get(key)  # again: others may have dropped or replaced it
        if kept is not None and kept.current(versions):
            self.hits += 1
            self._kept.move_to_end(key)
            return _replay(request, kept)
        self.misses += 1
        with self.queries.one_check(versions), self.queries.db.reads.recording() as read:
            response = await handler(request)
        if request.method == hdrs.METH_GET and _keepable(response):
            kept = self._keep(key, response, self.queries.depends(read, versions))
            if _matches(request, kept.etag):
                return _not_modified(kept)
        return response

    def _keep(self, key: tuple[str, str, str], response: web.Response, depends: dict) -> Kept:
        body = bytes(response.body)  # type: ignore[arg-type]  # _keepable checked it
        if response.etag is None:
            response.etag = hashlib.blake2b(body, digest_size=16).hexdigest()
        headers = tuple((k, v) for k, v in response.headers.items() if k.lower() not in _NOT_KEPT)
        weight = len(body) + sum(len(k) + len(v) for k, v in headers) + _OVERHEAD
        kept = Kept(body, headers, response.etag.value, depends, scopes_of(depends), weight)
        if weight <= self.max_bytes:
            if key in self._kept:  # out of date, or rendered by two requests at once
                self.bytes -= self._kept.pop(key).weight
            self._kept[key] = kept
            self.bytes += weight
            while self.bytes > self.max_bytes:
                self.bytes -= self._kept.popitem(last=False)[1].weight
        return kept

    def summary(self) -> str:
        """The counts so far, as one line: "Response cache: 9,876 hits, 54 misses (99.5%)"."""
        lookups = self.hits + self.misses
        rate = f"{self.hits / lookups:.1%}" if lookups else "no lookups"
        return f"Response cache: {self.hits:,} hits, {self.misses:,} misses ({rate})"

    async def log_summary(self, _app: object = None) -> None:
        """Log summary() at INFO (an on_cleanup handler, as QueryCache.log_summary)."""
        log.info(self.summary())


def _keepable(response: web.StreamResponse) -> bool:
    """A plain 200 that depends on nothing but the URL and the data."""
    if type(response) is not web.Response or response.status != 200:
        return False  # streamed, a file, a WebSocket, an error or a redirect
    if not isinstance(response.body, bytes) or response.compression:
        return False
    headers = response.headers
    control = headers.get(hdrs.CACHE_CONTROL, "").lower()
    vary = {v.strip().lower() for v in headers.get(hdrs.VARY, "").split(",") if v.strip()}
    return (
        not response.cookies  # set_cookie() keeps them apart until the headers are sent
        and hdrs.SET_COOKIE not in headers
        and "private" not in control
        and "no-store" not in control
        and vary <= {"accept-encoding"}
    )


def _matches(request: web.Request, etag: str) -> bool:
    """If-None-Match names this ETag (weak comparison), or is *."""
    tags = request.if_none_match
    return tags is not None and any(tag.value in (etag, "*") for tag in tags)


def _replay(request: web.Request, kept: Kept) -> web.Response:
    if _matches(request, kept.etag):
        return _not_modified(kept)
    return web.Response(body=kept.body, headers=kept.headers)


def _not_modified(kept: Kept) -> web.Response:
    """304: no body, but the validators and caching headers a 200 would have had."""
    return web.Response(
        status=304, headers=[(k, v) for k, v in kept.headers if k.lower() in _VALIDATORS]
    )
