"""Behind a reverse proxy: X-Forwarded-* believed from server.trusted_proxies only
(www/proxy.py), HSTS over HTTPS, and deploy/nginx.conf run for real in front of the app.

The test client connects from 127.0.0.1, so trusting 127.0.0.1 makes it the proxy.
"""

import asyncio
import datetime
import logging
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from multidict import CIMultiDict

from tests.conftest import TOKEN, Auth, overrides_for
from tests.databases import migrate
from tests.serving import ROOT, clean_env, free_port, serving, write_config
from www.__main__ import main
from www.accounts.models import User
from www.db import Database
from www.middlewares import STRICT_TRANSPORT_SECURITY, error_middleware
from www.passwords import hash_password_sync
from www.posts.models import Post
from www.proxy import parse_address
from www.settings import PROJECT_ROOT, ConfigError, load_settings

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


# deploy/nginx.conf

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
# The visitor connects to nginx from another loopback address than nginx's own, so that the
# app's log can only show it if nginx passed it on.
VISITOR = "127.0.0.2"


def test_body_size_limit_matches_uploads_max_size():
    limit = re.search(r"client_max_body_size (\d+)m;", NGINX_CONF.read_text(encoding="utf-8"))
    max_size = load_settings(environ={}).uploads.max_size
    mib = 1024 * 1024
    assert max_size < int(limit.group(1)) * mib <= max_size + mib  # room for the form only


def nginx_or_skip() -> str:
    if NGINX:
        return NGINX
    reason = "nginx is not installed (apt-get install nginx)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason}, and CI must run this test")
    pytest.skip(reason)


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_without_nginx_ci_fails_where_others_skip(monkeypatch, ci, outcome):
    monkeypatch.setattr(sys.modules[__name__], "NGINX", None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match=r"^nginx is not installed"):
        nginx_or_skip()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for localhost, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def adapted_conf(app_port: int, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx.conf on free ports of 127.0.0.1, as localhost, with a test certificate.
    Each change must apply exactly as often as expected, or the file has drifted."""
    changes = [
        (r"server 127\.0\.0\.1:8080;", f"server 127.0.0.1:{app_port};", 1),
        (r"\n *listen \[::\]:[^\n]*;", "", 4),  # IPv4 loopback only
        (r"listen 80\b", f"listen 127.0.0.1:{http_port}", 2),
        (r"listen 443\b", f"listen 127.0.0.1:{https_port}", 2),
        (r"ssl_certificate \S+;", f"ssl_certificate {cert};", 1),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", 1),
        (r"server_name blog\.example\.com;", "server_name localhost;", 2),
        (r"alias /srv/www/static/;", f"alias {ROOT / 'static'}/;", 1),
        # On port 443 a browser's Origin has no port, like $host; on a free port it has one.
        (r"X-Forwarded-Host \$host;", "X-Forwarded-Host $host:$server_port;", 2),
    ]
    conf = NGINX_CONF.read_text(encoding="utf-8")
    for pattern, replacement, expected in changes:
        conf, count = re.subn(pattern, lambda _, new=replacement: new, conf)
        assert count == expected, f"deploy/nginx.conf: {pattern!r} matched {count} times"
    return conf


def nginx_main_conf(tmp_path: Path, site: Path) -> str:
    """The main file around deploy/nginx.conf: everything inside tmp_path, in the foreground."""
    mime_types = Path("/etc/nginx/mime.types")
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
daemon off;
master_process off;  # one process, as whoever runs the tests: no worker user to switch to
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    {f"include {mime_types};" if mime_types.exists() else ""}
    access_log {tmp_path / "access.log"};
{temp_paths}
    include {site};
}}
"""


def wait_for_port(proc: subprocess.Popen, port: int, log: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited with {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port} within {timeout}s")


async def prepare(url: str) -> int:
    """The tables, a user (alice) and a post of hers; returns the post's id."""
    async with Database.from_url(url, PROJECT_ROOT) as db:
        await migrate(db)
        settings = load_settings(environ={}).passwords
        user = await User.create(
            db,
            name="alice",
            email="alice@example.com",
            password_hash=hash_password_sync(settings, PASSWORD),
        )
        post = await Post.create(db, user_id=user.id, title="Hi", summary="S", content="Body")
        return post.id


async def visit(https_port: int, http_port: int, cert: Path, post_id: int) -> None:
    """A browser's visit through nginx: log in, comment and see it live, fetch a file."""
    base = origin = f"https://localhost:{https_port}"
    tls = ssl.create_default_context(cafile=str(cert))
    connector = aiohttp.TCPConnector(ssl=tls, local_addr=(VISITOR, 0), family=socket.AF_INET)
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        page = await (await http.get(f"{base}/login")).text()
        form = {"email": "alice@example.com", "password": PASSWORD}
        form["csrf_token"] = TOKEN.search(page).group(1)
        headers = {"Origin": origin}  # as a browser sends with every form
        resp = await http.post(f"{base}/login", data=form, headers=headers, allow_redirects=False)
        assert resp.status == 303, await resp.text()
        assert resp.headers[HSTS] == STRICT_TRANSPORT_SECURITY
        assert resp.cookies["www_session"]["secure"] is True

        live = f"wss://localhost:{https_port}/ws/posts/{post_id}"
        async with http.ws_connect(live, origin=origin) as ws:
            page = await (await http.get(f"{base}/posts/{post_id}")).text()
            form = {"content": "Through nginx", "csrf_token": TOKEN.search(page).group(1)}
            path = f"{base}/posts/{post_id}/comments"
            resp = await http.post(path, data=form, headers=headers, allow_redirects=False)
            assert resp.status == 303, await resp.text()
            message = await ws.receive_json(timeout=5)
            assert message["comment"]["content"] == "Through nginx"

        resp = await http.get(f"{base}/static/css/style.css")
        assert resp.status == 200
        assert await resp.read() == (ROOT / "static" / "css" / "style.css").read_bytes()
        assert resp.headers["Server"].startswith("nginx")  # not the app's: nginx served it

        resp = await http.get(f"http://localhost:{http_port}/login", allow_redirects=False)
        assert resp.status == 301
        assert resp.headers["Location"].startswith("https://localhost")
        with pytest.raises(aiohttp.ServerDisconnectedError):  # another host name: 444
            await http.get(f"http://127.0.0.1:{http_port}/login")


def test_login_through_nginx_with_deploy_conf(tmp_path):
    nginx = nginx_or_skip()
    overrides = overrides_for(tmp_path)
    overrides["server"] = {"trusted_proxies": ["127.0.0.1"]}
    overrides["session"]["secure"] = True
    overrides["logging"]["level"] = "INFO"  # the access log
    config = write_config(tmp_path, overrides)
    post_id = asyncio.run(prepare(overrides["db"]["url"]))
    app_port, http_port, https_port = free_port(), free_port(), free_port()
    cert, key = self_signed(tmp_path)
    site = tmp_path / "www.conf"
    site.write_text(adapted_conf(app_port, http_port, https_port, cert, key), encoding="utf-8")
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(nginx_main_conf(tmp_path, site), encoding="utf-8")
    error_log = tmp_path / "error.log"

    args = [sys.executable, "-m", "www", "--port", str(app_port), "--config", str(config)]
    with serving(args, f"http://127.0.0.1:{app_port}/healthz", env=clean_env()) as app:
        proc = subprocess.Popen(
            [nginx, "-e", str(error_log), "-p", str(tmp_path), "-c", str(main_conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(proc, https_port, error_log)
            asyncio.run(visit(https_port, http_port, cert, post_id))
        finally:
            proc.send_signal(signal.SIGQUIT)  # nginx's graceful stop, by its own PID
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        app.send_signal(signal.SIGTERM)
        _, err = app.communicate(timeout=20)

    assert "Traceback" not in err
    login = [line for line in err.splitlines() if '"POST /login HTTP/1.1" 303' in line]
    assert len(login) == 1, err
    assert f"aiohttp.access: {VISITOR} [" in login[0]  # the visitor, not nginx (127.0.0.1)
