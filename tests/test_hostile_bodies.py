"""Property-based: whatever body a client sends to whatever unsafe route, the answer is
never a 5xx, no traceback is shown or logged.

The routes are read from the app's router (the API sub-application's included), never
listed. The bodies are random bytes, forms and JSON under random content types and
charsets, multipart bodies of random framing (a boundary absent, wrong or too long; parts
with random headers, charsets, transfer and content encodings; the last delimiter
missing), each maybe under a Content-Encoding, real or claimed. They are sent anonymously
without a session (403 unread), anonymously with a session, and logged in, the CSRF token
in the header, in the body or nowhere, so that both the CSRF check and the views read them.
"""

import gzip
import json
import logging
import zlib
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import UNSAFE_METHODS, make_post
from www import DB
from www.posts.models import Comment

MAX_EXAMPLES = 200
FORM = "application/x-www-form-urlencoded"
FIELD_NAMES = ["csrf_token", "title", "summary", "content", "email", "password", "name", "file"]
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
CHARSETS = st.sampled_from(
    ["utf-8", "UTF8", "us-ascii", "latin-1", "utf-16", "utf-7", "x-nonsense", "rot13", "base64"]
) | HEADER_TEXT.filter(lambda s: '"' not in s and ";" not in s)
CONTENT_TYPES = st.sampled_from(
    [FORM, "multipart/form-data", "application/json", "text/plain", "multipart/mixed", ""]
)
ENCODINGS = st.sampled_from([None, "gzip", "deflate", "br", "zstd", "identity", "x-nonsense"])
TEXT = st.text(max_size=50)


def unsafe_paths(app, ids: list[int]) -> list[tuple[str, str]]:
    """(method, path) of every unsafe route of the app and its sub-applications, with
    each of `ids` (and a missing one) in place of each variable part."""
    found = set()
    for route in app.router.routes():
        if route.method not in UNSAFE_METHODS:
            continue
        pattern = route.resource.get_info().get("pattern")
        names = list(pattern.groupindex) if pattern else []
        for value in [*ids, 999999] if names else [None]:
            parts = {name: str(value) for name in names}
            found.add((route.method, str(route.resource.url_for(**parts))))
    return sorted(found)


@st.composite
def part(draw, token: str | None) -> bytes:
    """One multipart part: random headers (some of them broken) and content."""
    name = draw(st.sampled_from(FIELD_NAMES) | TEXT)
    disposition = b'form-data; name="%s"' % name.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        disposition += b'; filename="%s"' % draw(st.binary(max_size=30))
    headers = [b"Content-Disposition: " + draw(st.sampled_from([disposition, b"form-data"]))]
    if draw(st.booleans()):
        content_type = draw(st.sampled_from(["text/plain", "multipart/mixed", "image/png"]))
        if draw(st.booleans()):
            content_type += f"; charset={draw(CHARSETS)}"
        headers.append(f"Content-Type: {content_type}".encode())
    for header, values in (
        ("Content-Transfer-Encoding", ["base64", "quoted-printable", "8bit", "x-nonsense"]),
        ("Content-Encoding", ["gzip", "deflate", "identity", "x-nonsense"]),
    ):
        if draw(st.integers(0, 3)) == 0:
            headers.append(f"{header}: {draw(st.sampled_from(values))}".encode())
    if draw(st.integers(0, 9)) == 0:
        headers.append(draw(st.binary(max_size=40)).replace(b"\r\n", b""))
    content = token.encode() if token and name == "csrf_token" else draw(st.binary(max_size=200))
    return b"\r\n".join(headers) + b"\r\n\r\n" + content + b"\r\n"


@st.composite
def multipart(draw, token: str | None) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart body with random framing."""
    boundary = draw(st.text("abcdefghij0123456789-'()+_,./:=?", min_size=1, max_size=75))
    parts = draw(st.lists(part(token), max_size=4))
    if token and draw(st.booleans()):  # the token first, as the upload form sends it
        parts.insert(
            0, b'Content-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n' % token.encode()
        )
    delimiter = b"--" + boundary.encode()
    body = b"".join(delimiter + b"\r\n" + p for p in parts)
    if draw(st.booleans()):
        body += delimiter + b"--\r\n"
    subtype = draw(st.sampled_from(["form-data", "mixed"]))
    declared = draw(st.sampled_from(["same", "other", "none", "quoted"]))
    content_type = {
        "same": f"multipart/{subtype}; boundary={boundary}",
        "other": f"multipart/{subtype}; boundary=x{boundary}",
        "none": f"multipart/{subtype}",
        "quoted": f'multipart/{subtype}; boundary="{boundary}"',
    }[declared]
    return content_type, body


@st.composite
def request_body(draw, token: str | None) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a random request body, maybe compressed or claiming to be."""
    kind = draw(st.sampled_from(["bytes", "form", "json", "multipart"]))
    if kind == "multipart":
        content_type, body = draw(multipart(token))
    else:
        content_type = draw(CONTENT_TYPES | HEADER_TEXT)
        if kind == "bytes":
            body = draw(st.binary(max_size=500))
        else:
            values = draw(st.dictionaries(st.sampled_from(FIELD_NAMES) | TEXT, TEXT, max_size=5))
            if token and draw(st.booleans()):
                values["csrf_token"] = token
            text = urlencode(values) if kind == "form" else json.dumps(values)
            codec = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
            body = text.encode(codec, "replace")
        if draw(st.booleans()):
            content_type += f"; charset={draw(CHARSETS)}"
    headers = {"Content-Type": content_type}
    encoding = draw(ENCODINGS)
    if encoding:
        headers["Content-Encoding"] = encoding
        if draw(st.booleans()):  # really compressed, as claimed
            body = {"gzip": gzip.compress, "deflate": zlib.compress}.get(encoding, bytes)(body)
    return headers, body


@pytest.fixture
async def targets(auth, client, app):
    """Every unsafe (method, path), with the ids of a post and a comment of the user."""
    user = await auth.login_as("fuzzer")
    post = await make_post(app, user)
    comment = await Comment.create(app[DB], post_id=post.id, user_id=user.id, content="Hi")
    return unsafe_paths(app, sorted({post.id, comment.id}))


@pytest.fixture
async def others(client):
    """Anonymous browsers: one with a session (and its CSRF token), one without any."""
    url = client.make_url("/api/session")
    with_session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with with_session.get(url) as resp:
        token = (await resp.json())["csrf_token"]
    without = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    yield {"anonymous with a session": (with_session, token), "no session": (without, None)}
    await with_session.close()
    await without.close()


async def logged_in(auth, client) -> tuple[aiohttp.ClientSession, str]:
    """The test client's session, logged in again if an example logged it out."""
    async with client.get("/api/session") as resp:
        state = await resp.json()
    if state["user"] is None:
        await auth.login("fuzzer@example.com")
        return await logged_in(auth, client)
    return client.session, state["csrf_token"]


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # The app, clients and routes are made once per test and shared by its examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_hostile_bodies_never_5xx(auth, client, targets, others, caplog, data):
    caplog.set_level(logging.INFO)
    method, path = data.draw(st.sampled_from(targets), "route")
    who = data.draw(st.sampled_from(["logged in", *others]), "who")
    session, token = await logged_in(auth, client) if who == "logged in" else others[who]
    place = data.draw(st.sampled_from(["header", "body", "nowhere"]), "token")
    headers, body = data.draw(request_body(token if place == "body" else None), "body")
    if place == "header" and token:
        headers["X-CSRF-Token"] = token
    async with session.request(
        method,
        client.make_url(path),
        data=body,
        headers=headers,
        allow_redirects=False,
        skip_auto_headers=["Content-Type"],
    ) as resp:
        text = await resp.text(errors="replace")
    event(f"{who}: {resp.status}")  # pytest --hypothesis-show-statistics shows the spread
    assert resp.status < 500, (method, path, headers, body[:300], resp.status, text[:300])
    assert "Traceback" not in text
    logged = [r for r in caplog.records if r.exc_info or "\n" in r.getMessage()]
    assert not logged, [(r.getMessage(), r.exc_text or r.exc_info) for r in logged]
    caplog.clear()
