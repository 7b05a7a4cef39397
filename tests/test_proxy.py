"""Behind a reverse proxy: X-Forwarded-* believed from server.trusted_proxies only
(www/proxy.py), and HSTS over HTTPS.

The test client connects from 127.0.0.1, so trusting 127.0.0.1 makes it the proxy.
"""

import asyncio
import logging
import os

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from tests.conftest import Auth, overrides_for
from www.__main__ import main
from www.middlewares import STRICT_TRANSPORT_SECURITY, error_middleware
from www.proxy import parse_address
from www.settings import ConfigError, load_settings

SITE = "https://blog.example.com"
CLIENT = "203.0.113.7"
# What nginx (deploy/nginx.conf) adds for a visitor of https://blog.example.com.
VIA_PROXY = {
    "X-Forwarded-For": CLIENT,
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "blog.example.com",
}
HSTS = "Strict-Transport-Security"
PASSWORD = "correct horse"


@pytest.fixture
def trusted():
    return ["127.0.0.1"]


@pytest.fixture
def secure():
    return False


@pytest.fixture
def settings(tmp_path, trusted, secure):
    overrides = overrides_for(tmp_path)
    overrides["server"] = {"trusted_proxies": trusted}
    overrides["session"]["secure"] = secure
    return load_settings(overrides=overrides, environ={})


async def seen(request: web.Request) -> web.Response:
    """What a view sees of the request."""
    keys = ("remote", "scheme", "host", "secure")
    return web.json_response({key: getattr(request, key) for key in keys})


@pytest.fixture
def app(app):
    app.router.add_get("/seen", seen)  # this module's own app only
    return app


@pytest.fixture
def access_log(caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")

    async def line(request_line: str) -> str:
        """The access log line of `request_line`, once the server has written it."""
        async with asyncio.timeout(5):
            while True:
                for record in caplog.records:
                    if record.name == "aiohttp.access" and request_line in record.getMessage():
                        return record.getMessage()
                await asyncio.sleep(0.01)

    return line


async def log_in_via_proxy(auth: Auth, headers: dict) -> aiohttp.ClientResponse:
    await auth.create_user()
    form = {"email": "alice@example.com", "password": PASSWORD}
    return await auth.post("/login", form, headers={"Origin": SITE, **headers})


# From a trusted proxy


async def test_form_post_from_the_site_through_the_proxy_is_accepted(auth):
    resp = await log_in_via_proxy(auth, VIA_PROXY)
    assert resp.status == 303, await resp.text()
    assert resp.headers[HSTS] == STRICT_TRANSPORT_SECURITY


async def test_views_and_access_log_see_the_client(client, access_log):
    resp = await client.get("/seen", headers=VIA_PROXY)
    assert await resp.json() == {
        "remote": CLIENT,
        "scheme": "https",
        "host": "blog.example.com",
        "secure": True,
    }
    assert (await access_log("GET /seen")).startswith(f"{CLIENT} [")


async def test_redirect_and_error_page_over_https_get_hsts(client):
    resp = await client.get("/posts/new", headers=VIA_PROXY, allow_redirects=False)
    assert resp.status == 303  # to the login form (raised, then answered by aiohttp)
    assert resp.headers[HSTS] == STRICT_TRANSPORT_SECURITY
    resp = await client.get("/nowhere", headers=VIA_PROXY)
    assert resp.status == 404
    assert resp.headers[HSTS] == STRICT_TRANSPORT_SECURITY


async def test_no_hsts_over_plain_http(client):
    resp = await client.get("/", headers={**VIA_PROXY, "X-Forwarded-Proto": "http"})
    assert resp.status == 200
    assert HSTS not in resp.headers
    assert HSTS not in (await client.get("/")).headers


@pytest.mark.parametrize("secure", [True])
async def test_secure_session_cookie_behind_an_https_proxy(aiohttp_server, aiohttp_client, app):
    server = await aiohttp_server(app)
    # The client's cookie jar keeps Secure cookies to itself over http://, as a browser
    # would; here the proxy is the one speaking HTTPS to the browser.
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=server.make_url("/"))
    auth = Auth(await aiohttp_client(server, cookie_jar=jar), app)
    resp = await log_in_via_proxy(auth, VIA_PROXY)
    assert resp.status == 303, await resp.text()
    cookie = resp.cookies["www_session"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True


async def test_websocket_origin_checked_against_the_forwarded_host(client, post):
    headers = {"X-Forwarded-Host": "blog.example.com", "X-Forwarded-Proto": "https"}
    ws = await client.ws_connect(f"/ws/posts/{post.id}", headers=headers, origin=SITE)
    await ws.close()


@pytest.mark.parametrize("trusted", [["127.0.0.1", "10.0.0.0/8"]])
@pytest.mark.parametrize(
    ("chain", "remote"),
    [
        # Read from the right; the first address no trusted proxy stands for is the client,
        # and what the client wrote left of it is not believed.
        ([f"198.51.100.9, {CLIENT}, 10.0.0.5"], CLIENT),
        ([f"unknown, {CLIENT}"], CLIENT),  # not refused: the client wrote `unknown`
        (["10.0.0.5"], "10.0.0.5"),  # only proxies: the furthest one
        ([f"{CLIENT}, garbage"], "127.0.0.1"),  # a proxy wrote nonsense: the peer it is
        ([], "127.0.0.1"),  # a health check straight from the proxy's machine
        (["198.51.100.9", CLIENT], CLIENT),  # one header per proxy is the same list
        ([f"::ffff:{CLIENT}"], CLIENT),  # as a dual-stack socket writes IPv4
    ],
)
async def test_x_forwarded_for_chain(client, chain, remote):
    headers = CIMultiDict(("X-Forwarded-For", value) for value in chain)
    resp = await client.get("/seen", headers=headers)
    assert resp.status == 200
    assert (await resp.json())["remote"] == remote


@pytest.mark.parametrize(
    ("name", "value", "key", "expected"),
    [
        ("X-Forwarded-Proto", "HTTPS", "scheme", "https"),
        ("X-Forwarded-Proto", "ftp", "scheme", "http"),
        ("X-Forwarded-Proto", "http, https", "scheme", "https"),  # the nearest proxy's
        ("X-Forwarded-Host", "blog.example.com:8443", "host", "blog.example.com:8443"),
        ("X-Forwarded-Host", "[2001:db8::1]", "host", "[2001:db8::1]"),
        ("X-Forwarded-Host", "evil.example/path", "host", None),  # not a host: ignored
    ],
)
async def test_forwarded_scheme_and_host(client, name, value, key, expected):
    view = await (await client.get("/seen", headers={name: value})).json()
    assert view[key] == (expected or f"127.0.0.1:{client.port}")


async def test_proxy_middleware_comes_first(app):
    assert app.middlewares[0].__name__ == "forwarded_headers"
    assert app.middlewares[1] is error_middleware


# From anyone else


@pytest.mark.parametrize("trusted", [[]])
async def test_without_trusted_proxies_nothing_is_believed(app, auth, client, access_log):
    assert app.middlewares[0] is error_middleware  # nothing added to the chain
    resp = await log_in_via_proxy(auth, VIA_PROXY)
    assert resp.status == 403  # the Origin names another host than the one asked
    assert HSTS not in resp.headers
    resp = await client.get("/seen", headers=VIA_PROXY)
    assert await resp.json() == {
        "remote": "127.0.0.1",
        "scheme": "http",
        "host": f"127.0.0.1:{client.port}",
        "secure": False,
    }
    assert HSTS not in resp.headers
    assert (await access_log("GET /seen")).startswith("127.0.0.1 [")


@pytest.mark.parametrize("trusted", [["10.0.0.0/8"]])
async def test_spoofed_chain_from_an_untrusted_peer_is_ignored(auth, client, access_log):
    spoofed = {**VIA_PROXY, "X-Forwarded-For": f"{CLIENT}, 10.0.0.1, 10.0.0.2"}
    resp = await client.get("/seen", headers=spoofed)
    assert resp.status == 200  # ignored, not refused
    view = await resp.json()
    assert (view["remote"], view["scheme"], view["secure"]) == ("127.0.0.1", "http", False)
    assert (await access_log("GET /seen")).startswith("127.0.0.1 [")
    resp = await log_in_via_proxy(auth, spoofed)
    assert resp.status == 403


# The setting


def test_addresses_and_networks_of_either_family():
    env = {"WWW_SERVER__TRUSTED_PROXIES": "[127.0.0.1, 10.0.0.0/8, '::1', 'fd00::/8']"}
    trusted = load_settings(environ=env).server.trusted_proxies
    assert [str(network) for network in trusted] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
        "fd00::/8",
    ]
    assert load_settings(environ={}).server.trusted_proxies == ()  # the default


@pytest.mark.parametrize(
    ("value", "key", "message"),
    [
        ("[localhost]", "server.trusted_proxies.0", "expected an IP address or network (CIDR)"),
        ("[127.0.0.1, 10.0.0.1/8]", "server.trusted_proxies.1", "own address, 10.0.0.0/8"),
        ("[10.0.0.0/33]", "server.trusted_proxies.0", "got '10.0.0.0/33'"),
        ("[5]", "server.trusted_proxies.0", "(CIDR) as a string, got 5"),
        ("127.0.0.1", "server.trusted_proxies", "expected a list, got '127.0.0.1'"),
        ("null", "server.trusted_proxies", "expected a list, got None"),
    ],
)
def test_a_bad_entry_is_named_with_its_file_and_key(tmp_path, value, key, message):
    path = tmp_path / "local.yaml"
    path.write_text(f"server:\n  trusted_proxies: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={})
    assert info.value.key == key
    assert str(info.value).startswith(f"{path}: {key}: ")
    assert message in str(info.value)


def test_a_bad_entry_stops_start_up(tmp_path, monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("WWW_"):
            monkeypatch.delenv(name)
    path = tmp_path / "local.yaml"
    path.write_text("server:\n  trusted_proxies: [nginx]\n", encoding="utf-8")
    assert main(["--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"config error: {path}: server.trusted_proxies.0: "
        "expected an IP address or network (CIDR), got 'nginx'\n"
    )


def test_ipv4_mapped_peers_are_ipv4():
    assert str(parse_address("::ffff:127.0.0.1")) == "127.0.0.1"
    assert str(parse_address("::1")) == "::1"
    assert parse_address("") is None
