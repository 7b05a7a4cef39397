"""CSRF: every unsafe request needs the session's token; cross-site Origins are refused."""

import aiohttp
import pytest
from aiohttp import FormData, web

from tests.conftest import TOKEN
from www import DB
from www.posts.models import Post

POST = {"title": "Hello", "summary": "", "content": "Hi"}


async def count_posts(app):
    return await Post.select(app[DB]).count()


async def test_missing_token(auth, client, app):
    await auth.login_as()
    resp = await client.post("/posts/new", data=POST, allow_redirects=False)
    assert resp.status == 403
    assert "CSRF" in await resp.text()
    assert await count_posts(app) == 0


async def test_wrong_token(auth, app):
    await auth.login_as()
    resp = await auth.post("/posts/new", {**POST, "csrf_token": "forged"})
    assert resp.status == 403
    assert await count_posts(app) == 0


async def test_non_ascii_token_is_403_not_500(auth):
    await auth.login_as()
    resp = await auth.post("/posts/new", {**POST, "csrf_token": "jéton"})
    assert resp.status == 403


async def test_another_sessions_token(auth, client, app):
    await auth.login_as()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        page = await (await other.get(client.make_url("/login"))).text()
    their_token = TOKEN.search(page).group(1)
    assert their_token != await auth.token()
    resp = await auth.post("/posts/new", {**POST, "csrf_token": their_token})
    assert resp.status == 403
    assert await count_posts(app) == 0


async def test_token_in_header_is_accepted(auth, client, app):
    await auth.login_as()
    headers = {"X-CSRF-Token": await auth.token()}
    resp = await client.post("/posts/new", data=POST, headers=headers, allow_redirects=False)
    assert resp.status == 303
    assert await count_posts(app) == 1


async def test_cross_site_origin_refused_even_with_token(auth, app):
    await auth.login_as()
    resp = await auth.post("/posts/new", POST, headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert await count_posts(app) == 0


async def test_same_origin_accepted(auth, client, app):
    await auth.login_as()
    origin = f"http://{client.host}:{client.port}"
    resp = await auth.post("/posts/new", POST, headers={"Origin": origin})
    assert resp.status == 303


async def test_login_and_register_need_the_token(client):
    for path in ("/login", "/register"):
        resp = await client.post(path, data={"email": "a@b.cd"}, allow_redirects=False)
        assert resp.status == 403


async def test_no_session_at_all_is_403(client):
    resp = await client.post("/logout", data={"csrf_token": "x"}, allow_redirects=False)
    assert resp.status == 403


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_unsafe_methods_need_it(aiohttp_client, app, method):
    async def anything(request):
        return web.Response(text="changed")

    app.router.add_route("*", "/anything", anything)
    client = await aiohttp_client(app)
    assert (await client.request(method, "/anything")).status == 403
    assert (await client.get("/anything")).status == 200


async def test_router_errors_come_before_csrf(client):
    assert (await client.post("/healthz")).status == 405
    assert (await client.post("/no/such/page")).status == 404


async def test_multipart_form_with_token_field(auth, client, app):
    await auth.login_as()
    form = FormData()
    form.add_field("title", "From multipart")
    form.add_field("csrf_token", await auth.token())
    resp = await client.post("/posts/new", data=form, allow_redirects=False)
    assert resp.status == 303
    assert await count_posts(app) == 1


async def test_multipart_form_without_token(auth, client, app):
    await auth.login_as()
    form = FormData()
    form.add_field("title", "x")
    form.add_field("upload", b"data", filename="a.txt")
    resp = await client.post("/posts/new", data=form, allow_redirects=False)
    assert resp.status == 403
    assert await count_posts(app) == 0
