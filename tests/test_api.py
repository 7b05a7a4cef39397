"""The JSON API through HTTP: statuses, shapes, the order of checks and permissions."""

import asyncio
import io

import pytest

from www import DB
from www.keys import PUBSUB
from www.posts import api
from www.posts.models import Comment, Post

POST_KEYS = {"id", "title", "summary", "content", "author", "created_at", "updated_at"}
COMMENT_KEYS = {"id", "post_id", "content", "author", "created_at"}
COOKIE = "www_session"
# Every unsafe route, with a body that would be valid. {id} is filled in per test.
UNSAFE = [
    ("POST", "/api/session", {"email": "alice@example.com", "password": "correct horse"}),
    ("DELETE", "/api/session", None),
    ("POST", "/api/posts", {"title": "New"}),
    ("PATCH", "/api/posts/{id}", {"title": "Changed"}),
    ("DELETE", "/api/posts/{id}", None),
    ("POST", "/api/posts/{id}/comments", {"content": "Hi"}),
]
LOGIN_REQUIRED = [route for route in UNSAFE if route[1] != "/api/session"]
JSON_BODIES = [route for route in UNSAFE if route[2] is not None]


async def token(client) -> str:
    resp = await client.get("/api/session")
    assert resp.status == 200
    return (await resp.json())["csrf_token"]


async def send(client, method, path, body=None, **kwargs):
    """An unsafe request with this session's X-CSRF-Token header."""
    headers = {"X-CSRF-Token": await token(client), **kwargs.pop("headers", {})}
    return await client.request(method, path, json=body, headers=headers, **kwargs)


async def error_of(resp, status: int) -> dict:
    """The `error` object of a JSON error response, after checking its status and shape."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    return error


async def make_post(app, user, n=1, **values):
    values = {"title": f"Post {n}", "summary": f"Summary {n}", "content": "Body", **values}
    return await Post.create(app[DB], user_id=user.id, **values)


def cookie_value(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


def replay(client, cookie: str) -> None:
    """Send `cookie` as the session cookie from now on, as an attacker with a copy would."""
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({COOKIE: cookie})


@pytest.fixture
async def post(auth, app):
    """A post by "author" (another user than the one tests log in as)."""
    return await make_post(app, await auth.create_user("author"))


# --- session ------------------------------------------------------------------------------


async def test_session_anonymous_starts_a_session(client):
    resp = await client.get("/api/session")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert COOKIE in resp.cookies
    body = await resp.json()
    assert body.keys() == {"user", "csrf_token"}
    assert body["user"] is None and body["csrf_token"]
    assert await token(client) == body["csrf_token"]  # the same session the next time


async def test_session_logged_in_shows_only_id_and_name(auth, client):
    alice = await auth.login_as("alice")
    body = await (await client.get("/api/session")).json()
    assert body["user"] == {"id": alice.id, "name": "alice"}


async def test_login_returns_the_user_and_the_new_sessions_token(auth, client):
    alice = await auth.create_user("alice")
    old_token, old_cookie = await token(client), cookie_value(client)
    resp = await send(client, *UNSAFE[0])
    assert resp.status == 200
    body = await resp.json()
    assert body == {"user": {"id": alice.id, "name": "alice"}, "csrf_token": body["csrf_token"]}
    assert body["csrf_token"] != old_token
    assert await token(client) == body["csrf_token"]
    assert cookie_value(client) != old_cookie
    # The old token is refused, the new one accepted.
    resp = await client.post("/api/posts", json={"title": "x"}, headers={"X-CSRF-Token": old_token})
    await error_of(resp, 403)
    resp = await client.post(
        "/api/posts", json={"title": "x"}, headers={"X-CSRF-Token": body["csrf_token"]}
    )
    assert resp.status == 201
    # The cookie from before the login (session fixation) is still anonymous.
    replay(client, old_cookie)
    assert (await (await client.get("/api/session")).json())["user"] is None


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "nobody@example.com", "password": "correct horse"},
        {"email": "alice@example.com", "password": "wrong horse"},
    ],
    ids=["unknown email", "wrong password"],
)
async def test_login_failure_is_401_with_one_message(auth, client, credentials):
    await auth.create_user("alice")
    error = await error_of(await send(client, "POST", "/api/session", credentials), 401)
    assert error == {"status": 401, "message": "Incorrect email or password."}
    assert (await (await client.get("/api/session")).json())["user"] is None


@pytest.mark.parametrize(
    ("credentials", "fields"),
    [
        ({}, {"email": "Email is required.", "password": "Password is required."}),
        ({"email": 5, "password": "x"}, {"email": "Email must be text."}),
        ({"email": "a@b.c", "password": "x", "remember": True}, {"remember": "Unknown field."}),
    ],
)
async def test_login_invalid_fields_is_422(client, credentials, fields):
    error = await error_of(await send(client, "POST", "/api/session", credentials), 422)
    assert error["fields"] == fields


async def test_logout_is_204_and_the_old_cookie_stops_working(auth, client):
    await auth.login_as("alice")
    cookie = cookie_value(client)
    resp = await send(client, "DELETE", "/api/session")
    assert resp.status == 204
    assert await resp.read() == b""
    replay(client, cookie)
    assert (await (await client.get("/api/session")).json())["user"] is None


# --- the order of checks, for every unsafe route -----------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
async def test_unsafe_request_without_csrf_header_is_403(
    auth, client, app, post, method, path, body
):
    await auth.login_as("alice", is_admin=True)  # allowed to do anything, but for the token
    resp = await client.request(method, path.format(id=post.id), json=body)
    error = await error_of(resp, 403)
    assert "CSRF" in error["message"]
    assert await Post.get(app[DB], post.id) is not None
    assert (await (await client.get("/api/session")).json())["user"] is not None


@pytest.mark.parametrize(("method", "path", "body"), LOGIN_REQUIRED)
async def test_anonymous_is_401_before_404(client, method, path, body):
    resp = await send(client, method, path.format(id=999), body)
    error = await error_of(resp, 401)
    assert error["message"] == "You need to log in to do that."


@pytest.mark.parametrize(("method", "path", "body"), LOGIN_REQUIRED[1:])
async def test_missing_post_is_404_before_validation(auth, client, method, path, body):
    await auth.login_as("alice")
    resp = await send(client, method, path.format(id=999), data="not json")
    await error_of(resp, 404)


@pytest.mark.parametrize(("method", "path", "body"), JSON_BODIES)
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/jsonx"]
)
async def test_body_that_is_not_json_is_415(auth, client, post, method, path, body, content_type):
    await auth.login_as("alice", is_admin=True)
    headers = {"Content-Type": content_type}
    resp = await send(client, method, path.format(id=post.id), data=b"{}", headers=headers)
    error = await error_of(resp, 415)
    assert error["message"] == "Send JSON (Content-Type: application/json)."


@pytest.mark.parametrize(("method", "path", "body"), JSON_BODIES)
@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"",
        b'["a list"]',
        b'"text"',
        b'{"title": NaN}',
        b"\xff{}",
        b"[" * 100_000,
        b'{"title": "\\ud800", "content": "x"}',
    ],
    ids=["truncated", "empty", "list", "string", "NaN", "not UTF-8", "deep", "surrogate"],
)
async def test_malformed_json_is_400(auth, client, app, post, method, path, body, raw):
    await auth.login_as("alice", is_admin=True)
    headers = {"Content-Type": "application/json"}
    resp = await send(client, method, path.format(id=post.id), data=raw, headers=headers)
    await error_of(resp, 400)
    assert (await Post.get(app[DB], post.id)).title == post.title


async def test_not_the_author_is_403_before_validation(auth, client, app, post):
    await auth.login_as("mallory")
    path = f"/api/posts/{post.id}"
    error = await error_of(await send(client, "PATCH", path, data=b"{"), 403)
    assert error["message"] == "You are not allowed to change this."
    await error_of(await send(client, "PATCH", path, {"title": "Mine"}), 403)
    await error_of(await send(client, "DELETE", path), 403)
    assert (await Post.get(app[DB], post.id)).title == post.title


async def test_body_is_bounded_by_client_max_size(auth, client):
    await auth.login_as("alice")
    huge = io.BytesIO(b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    resp = await send(
        client, "POST", "/api/posts", data=huge, headers={"Content-Type": "application/json"}
    )
    await error_of(resp, 413)


# --- posts --------------------------------------------------------------------------------


async def test_list_posts_newest_first_with_the_default_page_size(auth, client, app, settings):
    alice = await auth.create_user("alice")
    per_page = settings.blog.per_page
    posts = [await make_post(app, alice, n) for n in range(per_page + 1)]
    resp = await client.get("/api/posts")
    assert resp.status == 200
    body = await resp.json()
    assert body.keys() == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, per_page, per_page + 1)
    assert [item["id"] for item in body["items"]] == [p.id for p in reversed(posts[1:])]
    item = body["items"][0]
    assert item.keys() == POST_KEYS
    assert item["author"] == {"id": alice.id, "name": "alice"}
    assert item["created_at"].endswith("+00:00")
    second = await (await client.get("/api/posts?page=2")).json()
    assert [item["id"] for item in second["items"]] == [posts[0].id]


async def test_list_posts_page_and_per_page(auth, client, app):
    alice = await auth.create_user("alice")
    posts = [await make_post(app, alice, n) for n in range(5)]
    body = await (await client.get("/api/posts?page=2&per_page=2")).json()
    assert [item["id"] for item in body["items"]] == [posts[2].id, posts[1].id]
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 5)
    past = await client.get("/api/posts?page=9&per_page=2")
    assert past.status == 200
    assert (await past.json())["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=x", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=1.5", "page"),
        ("page=", "page"),
        ("page=99999999999999999999", "page"),
    ],
)
async def test_list_posts_invalid_query_is_422(client, query, field):
    error = await error_of(await client.get(f"/api/posts?{query}"), 422)
    assert error["fields"].keys() == {field}
    assert error["message"] == "Some fields are not valid."


async def test_list_posts_loads_authors_in_one_query(auth, client, app, monkeypatch):
    for name in ("alice", "bob", "carol"):
        await make_post(app, await auth.create_user(name))
    db = app[DB]
    queries = []
    fetchall = db.fetchall

    async def recording(sql, params=()):
        queries.append(sql)
        return await fetchall(sql, params)

    monkeypatch.setattr(db, "fetchall", recording)
    body = await (await client.get("/api/posts")).json()
    assert {item["author"]["name"] for item in body["items"]} == {"alice", "bob", "carol"}
    assert sum('FROM "users"' in sql for sql in queries) == 1


async def test_create_post_is_201_with_location(auth, client):
    alice = await auth.login_as("alice")
    resp = await send(client, "POST", "/api/posts", {"title": "  Hello  ", "content": "# Hi"})
    assert resp.status == 201
    body = await resp.json()
    assert resp.headers["Location"] == f"/api/posts/{body['id']}"
    assert body.keys() == POST_KEYS
    assert body["title"] == "Hello" and body["summary"] == "" and body["content"] == "# Hi"
    assert body["author"] == {"id": alice.id, "name": "alice"}
    again = await client.get(resp.headers["Location"])
    assert again.status == 200
    assert await again.json() == body


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"title": "Title is required."}),
        ({"title": "   "}, {"title": "Title is required."}),
        ({"title": "x" * 201}, {"title": "Title must be at most 200 characters."}),
        ({"title": 5}, {"title": "Title must be text."}),
        (
            {"title": "ok", "summary": "s" * 501},
            {"summary": "Summary must be at most 500 characters."},
        ),
        ({"title": "ok", "titel": "typo"}, {"titel": "Unknown field."}),
    ],
)
async def test_create_post_invalid_is_422_with_fields(auth, client, app, body, fields):
    await auth.login_as("alice")
    error = await error_of(await send(client, "POST", "/api/posts", body), 422)
    assert error == {"status": 422, "message": "Some fields are not valid.", "fields": fields}
    assert await Post.select(app[DB]).count() == 0


async def test_get_post(auth, client, app, post):
    resp = await client.get(f"/api/posts/{post.id}")
    assert resp.status == 200
    body = await resp.json()
    assert body["id"] == post.id and body["title"] == post.title
    assert body["author"]["name"] == "author"


@pytest.mark.parametrize("path", ["/api/posts/999", "/api/posts/abc", "/api/posts/" + "9" * 19])
async def test_missing_post_is_404(client, path):
    await error_of(await client.get(path), 404)


async def test_update_post_changes_only_the_given_fields(auth, client, app):
    alice = await auth.login_as("alice")
    post = await make_post(app, alice)
    resp = await send(client, "PATCH", f"/api/posts/{post.id}", {"title": " New title "})
    assert resp.status == 200
    body = await resp.json()
    assert body.keys() == POST_KEYS
    assert (body["title"], body["summary"], body["content"]) == ("New title", post.summary, "Body")
    assert body["updated_at"] > body["created_at"]
    assert (await Post.get(app[DB], post.id)).title == "New title"


async def test_admin_may_update_and_the_author_stays(auth, client, app, post):
    await auth.login_as("root", is_admin=True)
    resp = await send(client, "PATCH", f"/api/posts/{post.id}", {"summary": "Edited"})
    assert resp.status == 200
    body = await resp.json()
    assert body["summary"] == "Edited" and body["author"]["name"] == "author"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": ""}, {"title": "Title is required."}),
        ({"content": None, "id": 3}, {"id": "Unknown field."}),
        ({"content": ["x"]}, {"content": "Content must be text."}),
    ],
)
async def test_update_post_invalid_is_422(auth, client, app, body, fields):
    post = await make_post(app, await auth.login_as("alice"))
    error = await error_of(await send(client, "PATCH", f"/api/posts/{post.id}", body), 422)
    assert error["fields"] == fields
    assert (await Post.get(app[DB], post.id)).content == "Body"


async def test_delete_post_is_204_and_its_comments_go(auth, client, app):
    alice = await auth.login_as("alice")
    post = await make_post(app, alice)
    await Comment.create(app[DB], post_id=post.id, user_id=alice.id, content="c")
    resp = await send(client, "DELETE", f"/api/posts/{post.id}")
    assert resp.status == 204
    assert await resp.read() == b""
    assert await Post.get(app[DB], post.id) is None
    assert await Comment.select(app[DB]).count() == 0
    await error_of(await client.get(f"/api/posts/{post.id}"), 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/api/posts/{id}", {"title": "x"}),
        ("POST", "/api/posts/{id}/comments", {"content": "x"}),
    ],
)
async def test_post_deleted_meanwhile_is_404_not_500(
    auth, client, app, monkeypatch, method, path, body
):
    post = await make_post(app, await auth.login_as("alice"))
    found = api.get_or_404

    async def deleted_after_lookup(model, request):
        obj = await found(model, request)
        await Post.select(app[DB]).where(id=obj.id).delete()  # by a concurrent request
        return obj

    monkeypatch.setattr(api, "get_or_404", deleted_after_lookup)
    await error_of(await send(client, method, path.format(id=post.id), body), 404)
    assert await Comment.select(app[DB]).count() == 0


# --- comments -----------------------------------------------------------------------------


async def test_list_comments_oldest_first(auth, client, app, post):
    bob = await auth.create_user("bob")
    first = await Comment.create(app[DB], post_id=post.id, user_id=bob.id, content="first")
    second = await Comment.create(app[DB], post_id=post.id, user_id=post.user_id, content="2nd")
    resp = await client.get(f"/api/posts/{post.id}/comments")
    assert resp.status == 200
    body = await resp.json()
    assert body.keys() == {"items"}
    assert [item["id"] for item in body["items"]] == [first.id, second.id]
    assert body["items"][0] == {
        "id": first.id,
        "post_id": post.id,
        "content": "first",
        "author": {"id": bob.id, "name": "bob"},
        "created_at": first.created_at.isoformat(),
    }
    await error_of(await client.get("/api/posts/999/comments"), 404)


async def test_create_comment_is_201_and_reaches_live_sockets(auth, client, app, post):
    ws = await client.ws_connect(f"/ws/posts/{post.id}")
    async with asyncio.timeout(5):
        while app[PUBSUB].subscribers(f"post:{post.id}") < 1:
            await asyncio.sleep(0.01)
    bob = await auth.login_as("bob")
    resp = await send(client, "POST", f"/api/posts/{post.id}/comments", {"content": " Hi "})
    assert resp.status == 201
    body = await resp.json()
    assert body.keys() == COMMENT_KEYS
    assert (body["post_id"], body["content"]) == (post.id, "Hi")
    assert body["author"] == {"id": bob.id, "name": "bob"}
    assert await ws.receive_json(timeout=5) == {"type": "comment", "comment": body}
    await ws.close()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"content": "Comment is required."}),
        ({"content": "x" * 5001}, {"content": "Comment must be at most 5000 characters."}),
        ({"content": "ok", "post_id": 2}, {"post_id": "Unknown field."}),
    ],
)
async def test_create_comment_invalid_is_422(auth, client, app, post, body, fields):
    await auth.login_as("bob")
    error = await error_of(await send(client, "POST", f"/api/posts/{post.id}/comments", body), 422)
    assert error["fields"] == fields
    assert await Comment.select(app[DB]).count() == 0


# --- errors and privacy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/posts", "GET,HEAD,POST"),
        ("POST", "/api/posts/1", "DELETE,GET,HEAD,PATCH"),
        ("PATCH", "/api/session", "DELETE,GET,HEAD,POST"),
        ("POST", "/api/openapi.json", "GET,HEAD"),
    ],
)
async def test_wrong_method_is_405_json_with_allow(client, method, path, allow):
    resp = await client.request(method, path)
    await error_of(resp, 405)
    assert sorted(resp.headers["Allow"].split(",")) == allow.split(",")


@pytest.mark.parametrize("path", ["/api/nothing", "/api/posts/1/nothing", "/api/"])
async def test_unknown_api_address_is_404_json(client, path):
    await error_of(await client.get(path), 404)


async def test_no_email_or_password_hash_in_any_response(auth, client, app):
    alice = await auth.login_as("alice")
    post = await make_post(app, alice)
    await Comment.create(app[DB], post_id=post.id, user_id=alice.id, content="c")
    bodies = [
        await (await client.get(path)).text()
        for path in (
            "/api/session",
            "/api/posts",
            f"/api/posts/{post.id}",
            f"/api/posts/{post.id}/comments",
        )
    ]
    login = {"email": alice.email, "password": "correct horse"}
    bodies.append(await (await send(client, "POST", "/api/session", login)).text())
    bodies.append(await (await send(client, "PATCH", f"/api/posts/{post.id}", {})).text())
    for body in bodies:
        assert alice.email not in body and alice.password_hash not in body
        assert "email" not in body and "password" not in body
