"""www/routing.py and the router: every route named and reachable, URLs built from names,
HEAD wherever GET, and `python -m www routes`. Routes are read from the app, never listed."""

import re

import aiohttp_jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from www.__main__ import format_routes, main
from www.keys import URLS
from www.routing import _compile, route_table, walk
from www.settings import PROJECT_ROOT


def named_resources(app):
    return [resource for _, resource in walk(app) if not isinstance(resource, web.StaticResource)]


def test_every_route_has_a_name(app):
    unnamed = [resource.canonical for resource in named_resources(app) if not resource.name]
    assert unnamed == []


SAMPLE = {"table": "posts"}  # a part that is not an id (the admin's table names)


async def test_every_name_builds_a_url_that_the_router_resolves_to_it(app):
    urls = app[URLS]
    for resource in named_resources(app):
        parts = {name: SAMPLE.get(name, 7) for name in re.findall(r"{(\w+)}", resource.canonical)}
        path = urls(resource.name, **parts)
        methods = {route.method for route in resource}
        request = make_mocked_request(sorted(methods)[0], path, app=app)
        match = await app.router.resolve(request)
        assert match.http_exception is None, path
        assert match.route.resource.name == resource.name, path


def test_every_get_route_answers_head(app):
    for resource in named_resources(app):
        methods = {route.method for route in resource}
        if "GET" in methods:
            assert "HEAD" in methods, resource.canonical


@pytest.mark.parametrize("path", ["/healthz", "/", "/login", "/api/posts"])
async def test_head_is_get_without_a_body(client, path):
    got, head = await client.get(path), await client.head(path)
    assert head.status == got.status == 200
    assert head.headers["Content-Type"] == got.headers["Content-Type"]
    assert await head.read() == b""


def test_urls_are_quoted_and_mistakes_are_loud(app):
    urls = app[URLS]
    assert urls("posts.detail", id=3) == "/posts/3"
    assert urls("accounts.login", query_={"next": "/posts/3?x=a b"}) == (
        "/login?next=/posts/3%3Fx%3Da+b"
    )
    with pytest.raises(KeyError):
        urls("posts.nothing")
    with pytest.raises(TypeError):
        urls("posts.detail")  # the id is missing
    with pytest.raises(TypeError):
        urls("posts.index", id=1)  # a part it does not take
    assert urls("posts.author", id="a b/c") == "/users/a%20b%2Fc"  # parts are quoted


def test_the_template_filter_escapes_what_needs_it_once(app):
    """Paths skip escaping (they are safe as built); a query's & is escaped, once."""
    render = aiohttp_jinja2.get_env(app).from_string
    assert render("<a href='{{ 'posts.author'|url(id=x) }}'>").render(x="<'&\">") == (
        "<a href='/users/%3C%27%26%22%3E'>"
    )
    page = render("{{ 'accounts.login'|url(query_={'next': '/a', 'b': '<'}) }}").render()
    assert page == "/login?next=/a&amp;b=%3C"
    with pytest.raises(ValueError, match="no &, <"):
        _compile("/a&b/{id}")


FULLWIDTH_ONE, ARABIC_INDIC_ONE = "\uff11", "\u0661"  # digits to Python, not to the router


@pytest.mark.parametrize(
    "path",
    [f"/posts/{FULLWIDTH_ONE}", f"/posts/{ARABIC_INDIC_ONE}", "/posts/1x", "/users/" + "9" * 19],
)
async def test_ids_are_one_to_eighteen_ascii_digits(client, path):
    assert (await client.get(path)).status == 404


def test_python_m_www_routes_lists_every_route(app, capsys, monkeypatch, settings):
    monkeypatch.setattr("www.__main__.load_settings", lambda path: settings)
    assert main(["routes"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = route_table(app)
    assert len(out) == len(rows) + 1  # a header line
    for (name, methods, path, handler), line in zip(rows, out[1:], strict=True):
        assert line.split() == [name, methods, path, *handler.split()]


def test_readme_url_table_comes_from_the_command(app):
    """Every row of the README's table is a row `python -m www routes --markdown` prints
    (a resource you add does not break this; a route you rename or remove does)."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- routes: python -m www routes --markdown -->", "<!-- /routes -->"
    table = readme.split(start, 1)[1].split(end, 1)[0].strip().splitlines()
    printed = format_routes(route_table(app), markdown=True).splitlines()
    stale = [row for row in table if row not in printed]
    assert not stale, "README.md's URL table is out of date: paste `make routes` over it"
    assert table[:2] == printed[:2] and len(table) > 2


def routes_with_an_id(app):
    """(method, path with {id}) of every route of the app and its sub-apps that takes an id."""
    return [
        (route.method, resource.canonical)  # a sub-app's resources include its prefix
        for _, resource in walk(app)
        if "{id}" in resource.canonical
        for route in resource
    ]


async def test_every_route_with_an_id_takes_ascii_digits_only(client, app, auth):
    """`/posts/\uff11` (a fullwidth digit, which int() reads as 1) is no post: 404 for every
    route that takes an id, found from the router, page or API, logged in or not."""
    await auth.login_as("alice")
    routes = routes_with_an_id(app)
    assert {"/posts/{id}", "/api/posts/{id}", "/files/{id}", "/ws/posts/{id}"} <= {
        path for _, path in routes
    }
    for method, path in routes:
        for digits in (FULLWIDTH_ONE, ARABIC_INDIC_ONE, "1" + FULLWIDTH_ONE, "\u00b9"):
            resp = await client.request(method, path.replace("{id}", digits))
            assert resp.status == 404, (method, path, digits)
