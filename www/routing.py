"""URLs: route patterns, building URLs from route names, and reading ids and pages from them.

Every route has a name (`posts.detail`). Views and templates never write a path: they ask
for one by name, `url_for(request, "posts.detail", id=7)` or `{{ url("posts.detail",
id=7) }}`, so a path changes in one place, its resource's routes.py.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

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
    """Every named route's path, compiled once: building a URL is a dict lookup and a
    str.format, several times cheaper than the router's url_for(). Unknown names and
    missing or extra parts raise, so a typo fails the first test that renders the page."""

    def __init__(self, app: web.Application) -> None:
        self._paths: dict[str, tuple[str, frozenset[str]]] = {}
        for _, resource in walk(app):
            if resource.name:
                parts = frozenset(_parts(resource.canonical))
                self._paths[resource.name] = (resource.canonical, parts)

    def __call__(self, name: str, query_: dict[str, Any] | None = None, **parts: Any) -> str:
        path, names = self._paths[name]
        if parts.keys() != names:
            raise KeyError(f"route {name!r} takes {sorted(names)}, not {sorted(parts)}")
        if parts:
            path = path.format_map(
                {k: v if type(v) is int else quote(str(v), safe="") for k, v in parts.items()}
            )
        return f"{path}?{urlencode(query_, safe='/')}" if query_ else path

    def pattern(self, name: str) -> str:
        """The path with its {parts}, e.g. /users/{id}: for scripts that fill it in."""
        return self._paths[name][0]

    def names(self) -> list[str]:
        return list(self._paths)


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


def _parts(canonical: str) -> Iterator[str]:
    """The {names} of a canonical path such as /posts/{id}/comments."""
    for piece in canonical.split("{")[1:]:
        yield piece.split("}", 1)[0]


def url_for(request: web.Request, name: str, query_: dict | None = None, **parts: Any) -> str:
    """The path of the route `name`, e.g. url_for(request, "posts.detail", id=7)."""
    return request.config_dict[URLS](name, query_, **parts)


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
