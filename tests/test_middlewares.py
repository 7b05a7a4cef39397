"""Error pages (HTML and JSON under /api/) and the security headers."""

import jinja2
import pytest
from aiohttp import web

SECRET_TEXT = "database password is hunter2"


async def boom(request):
    raise RuntimeError(SECRET_TEXT)


async def forbidden(request):
    raise web.HTTPForbidden(text="Members only.")


async def moved(request):
    raise web.HTTPFound("/elsewhere")


@pytest.fixture
def app(app):
    app.router.add_get("/boom", boom)
    app.router.add_get("/forbidden", forbidden)
    app.router.add_get("/moved", moved)
    return app


async def test_404_page_is_rendered_from_template(client):
    resp = await client.get("/nope")
    assert resp.status == 404
    assert resp.content_type == "text/html"
    body = await resp.text()
    assert "Page not found" in body
    assert 'href="/static/css/style.css?v=' in body  # styled, extends base.html


async def test_405_keeps_allow_header(client):
    resp = await client.post("/healthz")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert "Method not allowed" in await resp.text()


async def test_500_hides_the_exception(client, caplog):
    resp = await client.get("/boom")
    assert resp.status == 500
    body = await resp.text()
    assert "Something went wrong" in body
    assert SECRET_TEXT not in body
    assert "Traceback" not in body
    assert SECRET_TEXT in caplog.text  # but it is logged, with the traceback
    assert "Traceback" in caplog.text


async def test_view_message_is_shown_on_error_page(client):
    resp = await client.get("/forbidden")
    assert resp.status == 403
    assert "Members only." in await resp.text()


async def test_redirects_pass_through(client):
    resp = await client.get("/moved", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/elsewhere"


async def test_api_404_is_json(client):
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404
    assert await resp.json() == {
        "error": {"status": 404, "message": "There is nothing at this address."}
    }


async def test_api_500_is_json_without_details(client, monkeypatch):
    async def broken_loader(*args):
        raise RuntimeError(SECRET_TEXT)

    monkeypatch.setattr("www.posts.actions.posts_page", broken_loader)
    resp = await client.get("/api/posts")
    assert resp.status == 500
    data = await resp.json()
    assert data["error"]["status"] == 500
    assert SECRET_TEXT not in str(data)


async def test_template_failure_falls_back_to_plain_text(client, app, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise jinja2.TemplateError("broken template")

    monkeypatch.setattr("www.middlewares.render", broken)
    resp = await client.get("/nope")
    assert resp.status == 404
    assert resp.content_type == "text/plain"
    assert (await resp.text()).startswith("404: ")
    assert "Could not render the error page" in caplog.text


@pytest.mark.parametrize("path", ["/", "/nope", "/boom", "/static/css/style.css"])
async def test_security_headers_everywhere(client, path):
    resp = await client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["Server"] == "www"  # no versions
