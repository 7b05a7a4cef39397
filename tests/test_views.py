"""The home page, static files and the health check."""


async def test_home_page(client):
    resp = await client.get("/")
    assert resp.status == 200
    body = await resp.text()
    assert "<title>Home · www</title>" in body
    assert 'href="/login"' in body and 'href="/register"' in body


async def test_static_file_is_served(client):
    resp = await client.get("/static/css/style.css")
    assert resp.status == 200
    assert "--accent" in await resp.text()


async def test_static_urls_carry_a_content_hash(app):
    from www.keys import STATIC_URLS

    url = app[STATIC_URLS]["css/style.css"]
    assert url.startswith("/static/css/style.css?v=")
    assert len(url.rsplit("=", 1)[1]) == 12


async def test_healthz_ok(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_healthz_unavailable_when_database_is_down(client, app):
    from www import DB

    await app[DB].close()
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {
        "status": "unavailable",
        "failed": {"database": "the database is unreachable or its schema is not ready"},
    }
