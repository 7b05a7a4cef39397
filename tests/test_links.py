"""No dead link: crawl the site as an anonymous visitor, a user and an admin, and resolve
every href, action and src of every page through the router.

Links (href, src) are followed with GET and must answer below 400 (a redirect to the login
form counts); a form's action must be a route that takes the form's method.
"""

from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from tests.helpers import make_post
from www import DB
from www.posts.models import Comment
from www.routing import walk

MAX_PAGES = 200  # a bound on the crawl, far above what the sample site has


class Links(HTMLParser):
    """(kind, method, url) of each href, src and form action of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name):
                self.found.append((name, "GET", attrs[name]))
        if tag == "form" and attrs.get("action"):
            self.found.append(("action", (attrs.get("method") or "GET").upper(), attrs["action"]))


def local(url: str) -> str | None:
    """The path and query of a link to this site, or None for another site's."""
    parts = urlsplit(urldefrag(url)[0])
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pages_without_parameters(app) -> list[str]:
    """Every GET page that needs no id: where a crawl starts, so a resource that is not
    linked from the menu is still visited. Not the admin's (403 but for administrators,
    who reach them from the menu's "Admin")."""
    return [
        resource.canonical
        for _, resource in walk(app)
        if "{" not in resource.canonical
        and not isinstance(resource, web.StaticResource)
        and any(route.method == "GET" for route in resource)
        and not any(getattr(route.handler, "admin_required", False) for route in resource)
    ]


async def crawl(client, app, *, visited: bool = False):
    """Every local link reachable from the pages without parameters, by the page that holds
    it; or, with `visited`, the HTML pages the crawl read."""
    start = pages_without_parameters(app)
    seen, queue, links, pages, forbidden = set(), list(start), {}, [], []
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        resp = await client.get(path, allow_redirects=False)
        if resp.status == 403 and path in start:
            forbidden.append(path)  # for administrators (www.scaffold): dead if linked
            continue
        if resp.status == 401 and path in start and path.startswith("/api/"):
            forbidden.append(path)  # the API's answer to anonymous users (no login page)
            continue
        assert resp.status < 400, (path, resp.status)
        if resp.content_type != "text/html":
            continue
        pages.append(path)
        parser = Links()
        parser.feed(await resp.text())
        for kind, method, url in parser.found:
            target = local(url)
            if target is None:
                continue
            links.setdefault(target, set()).add(f"{kind} {method} on {path}")
            request = make_mocked_request(method, urlsplit(target).path, app=app)
            match = await app.router.resolve(request)
            assert match.http_exception is None, f"{kind}={url!r} on {path}: no {method} route"
            if method == "GET" and target not in seen and not target.startswith("/ws/"):
                queue.append(target)
    assert not [path for path in forbidden if path in links], (forbidden, links)
    return pages if visited else links


async def upload(auth, content: bytes, filename: str):
    form = aiohttp.FormData()
    form.add_field("csrf_token", await auth.token())
    form.add_field("file", content, filename=filename)
    resp = await auth.client.post("/files", data=form, allow_redirects=False)
    assert resp.status == 303


@pytest.mark.parametrize("who", ["anonymous", "user", "admin"])
async def test_no_dead_links(auth, client, app, who):
    author = await auth.create_user("author")
    for n in range(12):  # more than a page, so the pagination links appear
        post = await make_post(app, author, n)
    await Comment.create(app[DB], post_id=post.id, user_id=author.id, content="Hello")
    if who != "anonymous":
        await auth.login_as(who, is_admin=who == "admin")
        await upload(auth, b"\x89PNG\r\n\x1a\n" + bytes(64), "picture.png")
        await upload(auth, b"plain text\n", "notes.txt")
        await make_post(app, (await auth.create_user("someone")), 99)
    links = await crawl(client, app)
    assert f"/posts/{post.id}" in links and "/static/css/style.css" in {
        link.split("?")[0] for link in links
    }
    if who != "anonymous":
        assert any(link.startswith("/files/") for link in links)  # the user's files
    # The admin's pages are linked for an administrator only, and crawled then.
    admin_pages = {"/admin/", "/admin/audit", "/admin/posts/", "/admin/users/"}
    if who == "admin":
        assert admin_pages <= set(links)
    else:
        assert not any(link.startswith("/admin") for link in links)
