"""The API reference page, /api/docs (www/apidocs.py): Swagger UI from the pinned package,
under the app's Content-Security-Policy. tests/e2e/test_api_docs.py renders it in Chromium."""

import re

import pytest

from www.apidocs import ASSETS, SWAGGER_UI, VERSION
from www.middlewares import CONTENT_SECURITY_POLICY

SCRIPT_SRC = re.compile(r'<script\b[^>]*\bsrc="([^"]+)"[^>]*></script>')


def csp_directives(resp) -> dict[str, list[str]]:
    policy = resp.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


async def test_the_page_loads_swagger_ui_from_the_app(client):
    resp = await client.get("/api/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert 'data-url="/api/openapi.json"' in html
    scripts = SCRIPT_SRC.findall(html)
    assert [src.split("?")[0] for src in scripts] == [
        "/static/swagger-ui/swagger-ui-bundle.js",
        "/static/js/api-docs.js",
    ]
    assert re.search(r'<link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css\?v=', html)
    # No inline script: every <script> has a src, and none is written in the page.
    assert html.count("<script") == len(scripts)
    assert not re.search(r"\son\w+=", html)  # no inline event handlers either


async def test_swagger_ui_files_come_from_the_pinned_package(client):
    html = await (await client.get("/api/docs")).text()
    for url, content_type in [
        (
            re.search(r'src="(/static/swagger-ui/swagger-ui-bundle\.js[^"]*)"', html)[1],
            "text/javascript",
        ),
        (re.search(r'href="(/static/swagger-ui/swagger-ui\.css[^"]*)"', html)[1], "text/css"),
        (re.search(r'src="(/static/js/api-docs\.js[^"]*)"', html)[1], "text/javascript"),
    ]:
        resp = await client.get(url)
        assert resp.status == 200, url
        assert resp.content_type in (content_type, "application/javascript"), url
        body = await resp.read()
        assert body and len(body) == int(resp.headers["Content-Length"])
    bundle = await (await client.get("/static/swagger-ui/swagger-ui-bundle.js")).read()
    assert bundle == (SWAGGER_UI / "swagger-ui-bundle.js").read_bytes()
    assert b"SwaggerUIBundle" in bundle


async def test_the_package_files_cache_for_a_year_under_a_versioned_url(client):
    html = await (await client.get("/api/docs")).text()
    assert f"swagger-ui.css?v={VERSION}" in html
    resp = await client.get(f"/static/swagger-ui/swagger-ui.css?v={VERSION}")
    assert "immutable" in resp.headers["Cache-Control"]
    assert "ETag" in resp.headers


@pytest.mark.parametrize(
    "path",
    [
        "/static/swagger-ui/oauth2-redirect.html",  # the package's other files are not served
        "/static/swagger-ui/index.css",
        "/static/swagger-ui/swagger-editor-bundle.js",
        "/static/swagger-ui/..%2F__init__.py",
        "/static/swagger-ui/%2e%2e%2fcore.py",
        "/static/swagger-ui/",
    ],
)
async def test_only_the_two_files_are_served(client, path):
    resp = await client.get(path)
    assert resp.status == 404


def test_only_known_files_are_listed():
    assert set(ASSETS) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    assert all((SWAGGER_UI / name).is_file() for name in ASSETS)


async def test_the_page_runs_under_the_sites_content_security_policy(client):
    page = await client.get("/api/docs")
    home = await client.get("/")
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert home.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    directives = csp_directives(page)
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]  # "Try it out" calls this site only


async def test_the_footer_links_the_reference(client):
    html = await (await client.get("/")).text()
    assert re.search(r'<footer.*<a href="/api/docs">API</a>', html, re.S)


async def test_the_page_is_not_an_operation_of_the_api(client):
    document = await (await client.get("/api/openapi.json")).json()
    assert "/api/docs" not in document["paths"]
    assert not any("docs" in path for path in document["paths"])


async def test_a_bearer_token_does_not_matter_to_the_page(client):
    """A page ignores Authorization (www/auth.py): even a wrong token gets the page."""
    resp = await client.get("/api/docs", headers={"Authorization": "Bearer www_wrong"})
    assert resp.status == 200
    assert "Log in" in await resp.text()
