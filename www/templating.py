"""Jinja2 templates through aiohttp-jinja2, and `static()` URLs that bust caches.

Views call `render(request, "posts/detail.html", {...})`; every template also sees
`request`, `current_user`, `csrf_token()`, `flashes`, the `static()`, `fragment()` and
`csrf_field()` helpers and the `url` and `date` filters. `form_page()` shows a form again
with what the user typed.
"""

import functools
import hashlib
import secrets
from collections.abc import Callable, Container, Hashable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from .auth import pop_flashes
from .cache import QueryCache
from .csrf import get_token
from .keys import QUERIES, SESSION, STATIC_URLS, URLS, USER
from .schemas import form_attrs
from .settings import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"
STATIC_DIR = PROJECT_ROOT / "static"


def static_urls(root: str = "/static/") -> dict[str, str]:
    """Map each file under static/ to its URL with a content hash, e.g. ?v=1a2b3c4d.

    Computed once at start-up, so rendering never touches the disk or the router.
    """
    urls = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            name = path.relative_to(STATIC_DIR).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            urls[name] = f"{root}{name}?v={digest}"
    return urls


# What strftime's %b gives in the C locale, which Python keeps (LC_TIME) unless the program
# calls setlocale(): the month of every date shown.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=4096)  # dates shown lately: pages show the same ones again
def format_date(value: datetime) -> Markup:
    """`{{ post.created_at|date }}`: a <time> element, e.g. 05 May 2026, as
    strftime("%d %b %Y") writes it. Each date is formatted once (4,096 kept, ~1 MiB), and
    without strftime, at a third of its cost: a post page shows a date per comment, more
    than the cache holds under varied traffic, and formatting was a tenth of its time."""
    shown = f"{value.day:02} {MONTHS[value.month - 1]} {value.year}"
    # Both parts are digits, letters and punctuation that need no escaping.
    return Markup(f'<time datetime="{value.isoformat()}">{shown}</time>')  # noqa: S704


def format_datetime(value: datetime) -> Markup:
    """`{{ bookmark.due|datetime }}`: the day and the time, in UTC as stored, e.g.
    05 May 2026, 14:30 UTC (a time the user chose, where the time of day matters)."""
    shown = value.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")
    return Markup(f'<time datetime="{value.isoformat()}">{shown}</time>')  # noqa: S704


@jinja2.pass_context
def csrf_field(page: jinja2.runtime.Context) -> Markup:
    """`{{ csrf_field() }}` in a form: the hidden input with the page's CSRF token
    (www/csrf.py). A function rather than a macro of _macros.html: a macro that reads the
    page's token must be imported `with context`, and that runs the macros' template
    again for every page (about 25 µs of a post page's 330)."""
    token = escape(page["csrf_token"]())  # (Markup.format would cost three times more)
    return Markup(f'<input type="hidden" name="csrf_token" value="{token}">')  # noqa: S704


def configure(
    env: jinja2.Environment, urls, static: dict[str, str], cache: QueryCache | None = None
) -> None:
    """Add the helpers every template uses: `static()`, `fragment()`, `csrf_field()`, and
    the `url`, `date` and `datetime` filters. `cache`: the data cache that fragment()
    keeps its HTML in (none: rendered every time).

    `{{ "posts.detail"|url(id=post.id) }}` builds a route's path from its name
    (www/routing.py). It is a filter rather than a function because Jinja calls filters
    directly, while a function goes through Context.call: about 25 times the cost, which a
    page with 40 links pays 40 times. `"posts.author"|url_pattern` gives `/users/{id}` for
    scripts. A typo fails loudly (KeyError) instead of linking to a 404."""
    env.filters["url"] = urls.markup
    env.filters["url_pattern"] = urls.pattern
    env.globals["static"] = static.__getitem__
    env.filters["date"] = format_date
    env.filters["datetime"] = format_datetime
    env.globals["fragment"] = fragments(env, cache)
    env.globals["csrf_field"] = csrf_field


class Environment(jinja2.Environment):
    """Jinja's environment, but a template's globals are a dict: those of the environment
    when the template is loaded, under the template's own. Jinja's are a ChainMap over
    both, and every render copies them into its context: for a ChainMap that costs about
    7 µs a render, for a dict a fraction of one. Globals are all set by configure(),
    before any template is loaded, as Jinja asks anyway (Environment.make_globals)."""

    def make_globals(self, d: Mapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def setup(app: web.Application, *, auto_reload: bool = False) -> None:
    """Templates from templates/, autoescaped; `auto_reload` re-reads edited files. Call it
    once every route is added: the `url` filter knows the routes of app[URLS]."""
    app[STATIC_URLS] = static_urls()
    env = app[aiohttp_jinja2.APP_KEY] = Environment(  # where aiohttp_jinja2 finds it
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=auto_reload,
    )
    configure(env, app[URLS], app[STATIC_URLS], app[QUERIES])


class Cut(NamedTuple):
    """A fragment's HTML cut at its slots: `pieces` has one more item than `keys`."""

    pieces: tuple[str, ...]
    keys: tuple[Hashable, ...]  # each slot's key, in the order they show

    def filled(self, fill: Callable[[Any], str] | None, keys: Container) -> Markup:
        """The HTML with `fill(key)` in each slot whose key is in `keys`, nothing in the
        others: a join, with no template code run but the fills'."""
        if fill is None or not keys:
            return Markup("".join(self.pieces))  # noqa: S704 (rendered autoescaped)
        parts = [self.pieces[0]]
        for key, piece in zip(self.keys, self.pieces[1:], strict=True):
            if key in keys:
                parts.append(fill(key))
            parts.append(piece)
        return Markup("".join(parts))  # noqa: S704 (autoescaped; fills are macros)


def fragments(env: jinja2.Environment, cache: QueryCache | None = None) -> Callable[..., Markup]:
    """`{{ fragment("posts/_list.html", page=page) }}`: the template rendered with that one
    value alone, once per value the data cache holds (QueryCache.derive), then its HTML
    again for every view until the data changes. For the parts of a page that show only
    cached data, the same for every user: the template sees nothing else (no request,
    no current_user), so it cannot show one user's page to another. A logged-in home
    page then renders its list of posts once per change, not once per view. Without a
    `cache`, it renders every time, as an include would.

    What differs from reader to reader goes in slots: the fragment's template writes
    `{{ slot(comment.id) }}` where, for some readers, something goes, and the page says
    what: `fragment(..., fill=delete_button, keys=deletable)` calls the page's macro
    `delete_button(id)` for each slot whose key is in `deletable`, and leaves the other
    slots empty. A post's comments are then shared by every reader, and one who may
    delete two of them pays for two buttons, not for the whole page of comments."""
    # Where a slot was, in the rendered HTML. Never in a value shown: autoescaping writes
    # a value's "<" as "&lt;", and the random part is known to this process alone.
    mark = f"<!--slot {secrets.token_hex(8)}-->"

    def fragment(
        name: str, fill: Callable[[Any], str] | None = None, keys: Container = (), **values: Any
    ) -> Markup:
        ((variable, value),) = values.items()  # one value: the one the cache holds
        template = env.get_template(name)

        def cut(value: Any) -> Cut:
            slots: list[Hashable] = []  # rendering runs no await: this render's alone

            def slot(key: Hashable) -> Markup:
                slots.append(key)
                return Markup(mark)  # noqa: S704 (a constant)

            html = template.render({variable: value, "slot": slot})
            return Cut(tuple(html.split(mark)), tuple(slots))

        if cache is None:
            return cut(value).filled(fill, keys)
        # Kept by template: one edited and reloaded (templates.auto_reload) is a new one.
        made = cache.derive(value, (template, variable), cut, lambda c: sum(map(len, c.pieces)))
        return made.filled(fill, keys)

    return fragment


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """Render `template` with `context` plus what every page needs: the request, the
    current user, `csrf_token()` for forms, and the flash messages (shown once)."""
    session = request.get(SESSION)
    page = {
        "request": request,
        "current_user": request.get(USER),
        "csrf_token": functools.partial(get_token, session) if session is not None else None,
        "flashes": pop_flashes(request),
    }
    if context:
        page.update(context)
    text = aiohttp_jinja2.render_string(template, request, page)
    # One Content-Type, made once (render_template sets its type and charset in turn).
    return web.Response(text=text, status=status, content_type="text/html")


# Form fields never sent back to the browser: a password is typed again.
NOT_ECHOED = frozenset({"password", "current_password", "new_password", "csrf_token"})


def form_page(
    request: web.Request,
    template: str,
    schema: type,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    *,
    refused: web.HTTPException | None = None,
    **context: Any,
) -> web.Response:
    """The page of `schema`'s form (its `attrs`: maxlength, required): empty (200), or
    again with the user's input (never a password) and the messages (400). `refused` (a
    429 RateLimited) gives its status, headers (Retry-After) and message instead, so
    that a refusal loses nothing the user typed either."""
    values = {key: value for key, value in (form or {}).items() if key not in NOT_ECHOED}
    errors = dict(errors or {})
    if refused is not None:
        errors[""] = refused.text or refused.reason
    page = {"values": values, "errors": errors, "attrs": form_attrs(schema), **context}
    response = render(request, template, page, status=400 if errors else 200)
    if refused is not None:
        response.set_status(refused.status)
        response.headers.extend(refused.headers)
    return response
