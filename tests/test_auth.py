"""Unit tests of the redirect-target check and the markdown renderer's safety."""

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from tests.helpers import cookie_value
from www.accounts.models import User
from www.auth import MAX_FLASHES, check_owner, safe_next
from www.keys import USER
from www.markdown import render_markdown


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/posts/1", "/posts/1"),
        ("/?page=2", "/?page=2"),
        (None, "/"),
        ("", "/"),
        ("posts", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("/a\\b", "/"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_markdown_never_passes_active_content(source):
    html = render_markdown(source)
    assert "<script" not in html
    assert "<img src=x" not in html
    assert 'href="javascript:' not in html.lower()
    assert 'src="data:text/html' not in html


def test_markdown_features():
    html = render_markdown("# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ [l](/posts/1)")
    assert "<h2>T</h2>" in html  # under the page title
    assert "<table>" in html
    assert "<s>old</s>" in html
    assert '<a href="/posts/1" rel="nofollow noopener ugc">l</a>' in html


async def test_flash_messages_unread_by_a_client_that_never_views_a_page_stay_few(auth, client):
    """Each form POST leaves a message in the session cookie until a page shows it. A script
    that never views a page must not grow the cookie until every request is refused."""
    await auth.login_as("alice")
    token = await auth.token()

    async def publish(count: int) -> int:
        for n in range(count):
            form = {"title": f"Post {n}", "csrf_token": token}
            resp = await client.post("/posts/new", data=form, allow_redirects=False)
            assert resp.status == 303
        return len(cookie_value(client))

    assert await publish(MAX_FLASHES + 2) == await publish(3 * MAX_FLASHES)
    page = await (await client.get("/")).text()
    assert page.count("Your post is published.") == MAX_FLASHES


@pytest.mark.parametrize(
    ("user", "owners", "allowed"),
    [
        (None, (), False),
        (User(id=3, is_admin=False), (), False),  # a row nobody owns: administrators only
        (User(id=3, is_admin=True), (), True),
        (User(id=3, is_admin=False), (4, 3), True),
        (User(id=3, is_admin=False), (4,), False),
        (User(id=3, is_admin=True), (4,), True),
    ],
)
def test_check_owner(user, owners, allowed):
    request = make_mocked_request("POST", "/")
    request[USER] = user
    if allowed:
        check_owner(request, *owners)
    else:
        with pytest.raises(web.HTTPForbidden):
            check_owner(request, *owners)
