"""URLs: route patterns, building URLs from route names, reading ids and pages from them,
and the 303 that sends a browser to one after a form (see_other).

Every route has a name (`posts.detail`). Views and templates never write a path: they ask
for one by name, `url_for(request, "posts.detail", id=7)` or `{{ "posts.detail"|url(id=7)
}}`, so a path changes in one place, its resource's routes.py.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import hdrs, web
from aiohttp.typedefs import LooseHeaders
from markupsafe import Markup, escape
from yarl import URL

from .keys import DB, URLS

# Ids are 1 to 18 ASCII digits, so they always fit a 64-bit integer; anything else is a
# 404 from the router ([0-9], not \d, which would also match other scripts' digits).
ID = r"{id:[0-9]{1,18}}"
MAX_PAGE = 9_999_999  # bounds the OFFSET sent to the database


def walk(app: web.Application, prefix: str = "") -> Iterator[tuple[str, web.AbstractResource]]:
    """(app prefix, resource) for every resource, those of sub-applications included."""
    for resource in app.router.resources():
        info = resource.get_info()
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from walk(info["app"], prefix + info["prefix"])
        else:
            yield prefix, resource


class Urls:
    """Every named route's path, compiled once into a small function per route (as
    namedtuple compiles its class): building /posts/7 is a dict lookup and a string
    concatenation, many times cheaper than the router's url_for(). An unknown name
    (KeyError) or a missing or extra part (TypeError) raises, so a typo fails the first
    test that renders the page."""

    def __init__(self, app: web.Application) -> None:
        self._patterns: dict[str, str] = {}
        self._builders: dict[str, Callable[..., str]] = {}
        for _, resource in walk(app):
            if resource.name:
                self._patterns[resource.name] = resource.canonical
                self._builders[resource.name] = _compile(resource.canonical)

    def __call__(self, name: str, query_: dict[str, Any] | None = None, **parts: Any) -> str:
        path = self._builders[name](**parts)
        return f"{path}?{urlencode(query_, safe='/')}" if query_ else path

    def markup(self, name: str, query_: dict[str, Any] | None = None, **parts: Any) -> Markup:
        """The same, for templates: a path is safe HTML as built (its literal pieces are
        checked when compiled, its parts percent-encoded), so it skips escaping, which
        cost a page of 40 links more than building them; a query's "&" is escaped."""
        if query_:
            return escape(self(name, query_, **parts))
        return Markup(self._builders[name](**parts))  # noqa: S704 (see above)

    def pattern(self, name: str) -> str:
        """The path with its {parts}, e.g. /users/{id}: for scripts that fill it in."""
        return self._patterns[name]

    def names(self) -> list[str]:
        return list(self._patterns)


HTML_SPECIAL = re.compile(r"[&<>\"']")


def _part(value: Any) -> str:
    """A path part: ids as they are, anything else percent-encoded ("/" included)."""
    return str(value) if type(value) is int else quote(str(value), safe="")


def _compile(canonical: str) -> Callable[..., str]:
    """`/posts/{id}/edit` -> `def build(*, id): return "/posts/" + _part(id) + "/edit"`.
    The names come from the router, which accepts only identifiers in braces."""
    if HTML_SPECIAL.search(canonical):  # what Urls.markup relies on
        raise ValueError(f"route path {canonical!r}: no &, <, >, quotes in a path, please")
    pieces = re.split(r"{(\w+)}", canonical)  # literal, name, literal, name, ..., literal
    names = pieces[1::2]
    body = " + ".join(
        f"_part({piece})" if i % 2 else repr(piece) for i, piece in enumerate(pieces) if piece
    )
    params = f"*, {', '.join(names)}" if names else ""
    namespace = {"_part": _part}
    exec(f"def build({params}):\n    return {body or repr('')}", namespace)  # noqa: S102
    return namespace["build"]


def route_table(app: web.Application) -> list[tuple[str, str, str, str]]:
    """(name, methods, path, handler) of every route, for `python -m www routes`."""
    rows = []
    for _, resource in walk(app):
        if isinstance(resource, web.StaticResource):
            rows.append(
                (resource.name or "", "GET,HEAD", resource.canonical + "/{path}", "static files")
            )
            continue
        handlers: dict[str, list[str]] = {}
        for route in resource:
            name = f"{route.handler.__module__}.{route.handler.__qualname__}"
            handlers.setdefault(name, []).append(route.method)
        for handler, methods in handlers.items():
            rows.append(
                (resource.name or "", ",".join(sorted(methods)), resource.canonical, handler)
            )
    return rows


def url_for(request: web.Request, name: str, query_: dict | None = None, **parts: Any) -> str:
    """The path of the route `name`, e.g. url_for(request, "posts.detail", id=7)."""
    return request.config_dict[URLS](name, query_, **parts)


def see_other(location: str, headers: LooseHeaders | None = None) -> web.Response:
    """303 to `location`: where a form that worked sends the browser (POST, then GET).
    The location as web.HTTPSeeOther writes it (yarl: non-ASCII percent-encoded).

    Returned, not raised as web.HTTPSeeOther: a raised HTTPException is held by the frames
    that catch it (aiohttp-session's middleware, aiohttp's request handler) in a reference
    cycle, so a dozen frames, the request and all they hold wait for the garbage collector.
    Under the mixed load every comment's 303 did, and the collections that freed them
    stopped the server for 15 to 30 ms about once a second."""
    answer = web.Response(status=303, headers=headers)
    answer.headers[hdrs.LOCATION] = str(URL(location))
    return answer


def positive_int(raw: str, high: int) -> int | None:
    """`raw` as a whole number from 1 to `high` (ASCII digits only), else None."""
    if raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)) and 1 <= int(raw) <= high:
        return int(raw)
    return None


def page_number(request: web.Request) -> int:
    """The 1-based `page` query parameter; 404 for anything but a positive integer."""
    number = positive_int(request.query.get("page", "1"), MAX_PAGE)
    if number is None:
        raise web.HTTPNotFound(text="There is no such page.")
    return number


async def get_or_404(model: Any, request: web.Request) -> Any:
    """The `model` row with the route's {id}, or 404."""
    found = await model.get(request.config_dict[DB], int(request.match_info["id"]))
    if found is None:
        raise web.HTTPNotFound()
    return found
