"""A body the app cannot read is the client's mistake: 400 (415 for a charset it does not
read, 413 when too big), the usual error page or JSON error, one log line, no traceback.

Each case is sent twice: without the X-CSRF-Token header (the CSRF check reads the body,
looking for the form's token) and with it (the view reads the body). A session with no
CSRF token to compare with gets 403 before its body is read at all.
"""

import asyncio
import gzip
import io
import logging
import zlib

import pytest

from tests.helpers import error_of, replay, token
from www import DB
from www.bodies import MAX_FORM_FIELDS
from www.posts.models import Post

FORM = "application/x-www-form-urlencoded"
PART = b'Content-Disposition: form-data; name="title"\r\n\r\nHello\r\n'


def multipart(*parts: bytes, boundary: str = "b0undary", end: bool = True) -> bytes:
    """A multipart body of `parts` (each: its headers, a blank line, its content)."""
    body = b"".join(b"--%s\r\n%s" % (boundary.encode(), part) for part in parts)
    return body + (b"--%s--\r\n" % boundary.encode() if end else b"")


MULTIPART = "multipart/form-data; boundary=b0undary"
GZIP_BOMB = gzip.compress(b"title=" + b"a" * 3 * 1024 * 1024)  # 3 MiB inflated, 3 KiB sent

# name: (Content-Type, extra headers, body, status)
CASES = {
    "multipart without a boundary": ("multipart/form-data", {}, multipart(PART), 400),
    "multipart with the wrong boundary": (
        "multipart/form-data; boundary=other",
        {},
        multipart(PART),
        400,
    ),
    "multipart with a boundary too long": (
        "multipart/form-data; boundary=" + "b" * 71,
        {},
        multipart(PART, boundary="b" * 71),
        400,
    ),
    "multipart part without a name": (
        MULTIPART,
        {},
        multipart(b"Content-Disposition: form-data\r\n\r\nHello\r\n"),
        400,
    ),
    "multipart part in an unknown charset": (
        MULTIPART,
        {},
        multipart(
            b'Content-Disposition: form-data; name="title"\r\n'
            b"Content-Type: text/plain; charset=x-nonsense\r\n\r\nHello\r\n"
        ),
        415,
    ),
    "multipart part of invalid UTF-8": (
        MULTIPART,
        {},
        multipart(b'Content-Disposition: form-data; name="title"\r\n\r\n\xff\xfe\r\n'),
        400,
    ),
    "multipart part of broken base64": (
        MULTIPART,
        {},
        multipart(
            b'Content-Disposition: form-data; name="title"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nn0t=base64!\r\n"
        ),
        400,
    ),
    "multipart part nested without a boundary": (
        MULTIPART,
        {},
        multipart(b"Content-Type: multipart/mixed\r\n\r\nHello\r\n"),
        400,
    ),
    "multipart part that is itself multipart": (
        MULTIPART,
        {},
        multipart(
            b"Content-Type: multipart/mixed; boundary=inner\r\n\r\n"
            + multipart(PART, boundary="inner")
        ),
        400,
    ),
    "multipart file over the size limit": (
        MULTIPART,
        {},
        multipart(
            b'Content-Disposition: form-data; name="title"; filename="big"\r\n\r\n'
            + b"x" * 3 * 1024 * 1024
            + b"\r\n"
        ),
        413,
    ),
    "multipart with a long _charset_": (
        MULTIPART,
        {},
        multipart(
            b'Content-Disposition: form-data; name="_charset_"\r\n\r\n' + b"u" * 40 + b"\r\n"
        ),
        400,
    ),
    "multipart part with a broken Content-Disposition": (
        MULTIPART,
        {},
        multipart(b"Content-Disposition: ;;;\r\n\r\nHello\r\n"),
        400,
    ),
    "multipart file part, then a broken part": (
        MULTIPART,
        {},
        multipart(
            b'Content-Disposition: form-data; name="title"; filename="a.txt"\r\n\r\n'
            + b"x" * 100_000
            + b"\r\n",
            b"Content-Disposition: form-data\r\n\r\nHello\r\n",
        ),
        400,
    ),
    "form in an unknown charset": (f"{FORM}; charset=x-nonsense", {}, b"title=Hello", 415),
    "form in a charset that is not a text encoding": (
        f"{FORM}; charset=rot13",
        {},
        b"title=Hello",
        415,
    ),
    "form of invalid UTF-8": (FORM, {}, b"title=\xff\xfe", 400),
    "form claiming gzip": (FORM, {"Content-Encoding": "gzip"}, b"title=Hello", 400),
    "form claiming deflate": (FORM, {"Content-Encoding": "deflate"}, b"title=Hello", 400),
    "form gzip-bomb": (FORM, {"Content-Encoding": "gzip"}, GZIP_BOMB, 413),
}


async def anonymous_session(client) -> None:
    """Start an anonymous session that has a CSRF token (as GET /login would)."""
    await token(client)


def one_line_logs(caplog) -> None:
    """What was logged is one short line a record, with no traceback."""
    for record in caplog.records:
        message = record.getMessage()
        assert record.exc_info is None, message
        assert "\n" not in message and len(message) < 500, message
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("header", [False, True], ids=["csrf-reads", "view-reads"])
async def test_unreadable_form_anonymous(client, caplog, case, header):
    content_type, headers, body, status = CASES[case]
    await anonymous_session(client)
    if header:
        headers = {**headers, "X-CSRF-Token": await token(client)}
    caplog.set_level(logging.INFO)
    resp = await client.post(
        "/login", data=io.BytesIO(body), headers={"Content-Type": content_type, **headers}
    )
    assert resp.status == status, await resp.text()
    assert resp.content_type == "text/html"
    assert "Traceback" not in await resp.text()
    one_line_logs(caplog)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("header", [False, True], ids=["csrf-reads", "view-reads"])
async def test_unreadable_form_logged_in(auth, client, caplog, case, header):
    content_type, headers, body, status = CASES[case]
    await auth.login_as()
    if header:
        headers = {**headers, "X-CSRF-Token": await auth.token()}
    caplog.set_level(logging.INFO)
    resp = await client.post(
        "/posts/new",
        data=io.BytesIO(body),
        headers={"Content-Type": content_type, **headers},
        allow_redirects=False,
    )
    assert resp.status == status, await resp.text()
    assert "Traceback" not in await resp.text()
    one_line_logs(caplog)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("cookie", [None, "forged"], ids=["no cookie", "forged cookie"])
async def test_no_session_token_is_403_without_reading(client, caplog, case, cookie):
    """Anonymous, with no session (or one without a token): 403 before the body is read,
    so even an unreadable body is a 403. (aiohttp drains the unread body after the
    answer: a broken Content-Encoding met there is logged in one line.)"""
    content_type, headers, body, _ = CASES[case]
    if cookie:
        replay(client, cookie)
    caplog.set_level(logging.INFO)
    resp = await client.post(
        "/login", data=io.BytesIO(body), headers={"Content-Type": content_type, **headers}
    )
    assert resp.status == 403
    assert not [r for r in caplog.records if r.name == "www.bodies"]
    one_line_logs(caplog)


async def test_no_session_token_is_403_even_when_the_body_never_comes(client):
    """The body is not waited for: a request that announces more bytes than it sends
    is answered at once."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() + b"\r\n"
            b"Content-Length: 1000\r\n\r\ncsrf_token=abc"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 403"), status_line


JSON_CASES = {
    "JSON claiming gzip": ({"Content-Encoding": "gzip"}, b'{"title": "Hello"}', 400),
    "JSON claiming deflate": ({"Content-Encoding": "deflate"}, b'{"title": "Hello"}', 400),
    "JSON of invalid UTF-8": ({}, b'{"title": "\xff\xfe"}', 400),
    "JSON gzip-bomb": (
        {"Content-Encoding": "gzip"},
        gzip.compress(b'{"title": "' + b"a" * 3 * 1024 * 1024 + b'"}'),
        413,
    ),
}


@pytest.mark.parametrize("case", JSON_CASES)
async def test_unreadable_json(auth, client, caplog, case):
    headers, body, status = JSON_CASES[case]
    await auth.login_as()
    headers = {**headers, "X-CSRF-Token": await token(client)}
    caplog.set_level(logging.INFO)
    resp = await client.post(
        "/api/posts", data=body, headers={"Content-Type": "application/json", **headers}
    )
    await error_of(resp, status)
    one_line_logs(caplog)


async def test_deflate_that_stops_short_is_400(auth, client, caplog):
    """aiohttp's parser meets this one at the body's end, as it completes the request, and
    refuses the request itself (www/protocol.py answers it): a 400 all the same."""
    await auth.login_as()
    headers = {"Content-Encoding": "deflate", "X-CSRF-Token": await token(client)}
    caplog.set_level(logging.INFO)
    resp = await client.post(
        "/api/posts",
        data=zlib.compress(b'{"title": "Hello"}')[:-6],
        headers={"Content-Type": "application/json", **headers},
    )
    assert resp.status == 400
    assert "Traceback" not in await resp.text()
    one_line_logs(caplog)


async def test_api_body_that_is_a_form_is_415(auth, client):
    await auth.login_as()
    resp = await client.post(
        "/api/posts",
        data=b"title=Hello",
        headers={"Content-Type": FORM, "X-CSRF-Token": await token(client)},
    )
    await error_of(resp, 415)


async def test_page_body_that_is_not_a_form_is_415(auth, client):
    await auth.login_as()
    headers = {"X-CSRF-Token": await auth.token()}
    resp = await client.post("/posts/new", json={"title": "Hello"}, headers=headers)
    assert resp.status == 415
    assert "UTF-8" in await resp.text()


async def test_page_post_without_a_body_is_an_empty_form(auth, client):
    await auth.login_as()
    headers = {"X-CSRF-Token": await auth.token()}
    resp = await client.post("/posts/new", headers=headers)
    assert resp.status == 400
    assert "Title is required." in await resp.text()


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "us-ascii"])
async def test_form_in_utf8_or_ascii_is_read(auth, client, charset):
    await auth.login_as()
    body = f"title=Hello&csrf_token={await auth.token()}".encode()
    headers = {"Content-Type": f"{FORM}; charset={charset}"}
    resp = await client.post("/posts/new", data=body, headers=headers, allow_redirects=False)
    assert resp.status == 303


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=other"],
    ids=["no boundary", "wrong boundary"],
)
async def test_upload_whose_token_part_cannot_be_read_is_400(auth, client, caplog, content_type):
    """The upload view's CSRF check streams the first part itself (www/csrf.py)."""
    await auth.login_as()
    caplog.set_level(logging.INFO)
    body = multipart(b'Content-Disposition: form-data; name="csrf_token"\r\n\r\nx\r\n')
    resp = await client.post("/files", data=body, headers={"Content-Type": content_type})
    assert resp.status == 400
    one_line_logs(caplog)


async def test_connection_closes_after_a_body_the_parser_gave_up_on(auth, client):
    """What follows a broken gzip body on the connection is not read as a next request."""
    await auth.login_as()
    resp = await client.post(
        "/api/posts",
        data=b"not gzip",
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-CSRF-Token": await token(client),
        },
    )
    assert resp.status == 400
    assert resp.headers["Connection"] == "close"
    assert (await client.get("/healthz")).status == 200  # on a new connection


async def test_multipart_form_is_read_once_by_the_csrf_check_and_the_view(auth, client, app):
    """The token in a multipart form's body; the view gets the same fields (a file part
    in a page form is read past, unkept)."""
    await auth.login_as()
    body = multipart(
        b'Content-Disposition: form-data; name="title"\r\n\r\nH\xc3\xa9llo\r\n',
        b'Content-Disposition: form-data; name="content"; filename="c.txt"\r\n\r\nfile\r\n',
        b'Content-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n'
        % (await auth.token()).encode(),
    )
    resp = await client.post(
        "/posts/new", data=body, headers={"Content-Type": MULTIPART}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    [post] = await Post.select(app[DB]).all()
    assert (post.title, post.content) == ("Héllo", "")


async def test_multipart_form_of_too_many_fields_is_413(auth, client):
    await auth.login_as()
    fields = [b'Content-Disposition: form-data; name="f"\r\n\r\nx\r\n'] * (MAX_FORM_FIELDS + 1)
    resp = await client.post(
        "/posts/new",
        data=multipart(*fields),
        headers={"Content-Type": MULTIPART, "X-CSRF-Token": await auth.token()},
    )
    assert resp.status == 413
