"""The JSON API's shared behaviour, for every route of every resource: the order of checks,
JSON errors, body limits and privacy. Routes are read from the resources, never listed."""

import io

import pytest

from tests.helpers import api_routes, error_of, id_for, make_post, send
from www import DB
from www.posts.models import Comment, Post
from www.schemas import MAX_ECHOED_NAME, MAX_UNKNOWN_FIELDS

UNSAFE = [(method, path) for method, path, _ in api_routes()]
LOGIN_REQUIRED = [
    (method, path)
    for method, path, handler in api_routes()
    if getattr(handler, "login_required", 0)
]
ON_A_POST = [(method, path) for method, path in LOGIN_REQUIRED if "{id}" in path]
JSON_BODIES = [
    (method, path) for method, path, handler in api_routes() if handler.operation.body is not None
]


def ids(routes):
    return [f"{method} {path}" for method, path in routes]


@pytest.mark.parametrize(("method", "path"), UNSAFE, ids=ids(UNSAFE))
async def test_unsafe_request_without_csrf_header_is_403(auth, client, app, post, method, path):
    await auth.login_as("alice", is_admin=True)  # allowed to do anything, but for the token
    target = path.format(id=await id_for(app, path, post))
    resp = await client.request(method, target, json={})
    error = await error_of(resp, 403)
    assert "CSRF" in error["message"]
    assert await Post.get(app[DB], post.id) is not None
    assert (await (await client.get("/api/session")).json())["user"] is not None


@pytest.mark.parametrize(("method", "path"), LOGIN_REQUIRED, ids=ids(LOGIN_REQUIRED))
async def test_anonymous_is_401_before_404(client, method, path):
    resp = await send(client, method, path.format(id=999), {})
    error = await error_of(resp, 401)
    assert error["message"] == "You need to log in to do that."


@pytest.mark.parametrize(("method", "path"), ON_A_POST, ids=ids(ON_A_POST))
async def test_missing_post_is_404_before_validation(auth, client, method, path):
    await auth.login_as("alice")
    resp = await send(client, method, path.format(id=999), data="not json")
    await error_of(resp, 404)


@pytest.mark.parametrize(("method", "path"), JSON_BODIES, ids=ids(JSON_BODIES))
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/jsonx"]
)
async def test_body_that_is_not_json_is_415(auth, client, app, post, method, path, content_type):
    await auth.login_as("alice", is_admin=True)
    headers = {"Content-Type": content_type}
    target = path.format(id=await id_for(app, path, post))
    resp = await send(client, method, target, data=b"{}", headers=headers)
    error = await error_of(resp, 415)
    assert error["message"] == "Send JSON (Content-Type: application/json)."


@pytest.mark.parametrize(("method", "path"), JSON_BODIES, ids=ids(JSON_BODIES))
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
async def test_malformed_json_is_400(auth, client, app, post, method, path, raw):
    await auth.login_as("alice", is_admin=True)
    headers = {"Content-Type": "application/json"}
    target = path.format(id=await id_for(app, path, post))
    resp = await send(client, method, target, data=raw, headers=headers)
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


@pytest.mark.parametrize(("method", "path"), JSON_BODIES, ids=ids(JSON_BODIES))
async def test_422_names_a_bounded_number_of_unknown_keys(auth, client, app, post, method, path):
    """A body of thousands of invented, enormous keys is not echoed back whole."""
    await auth.login_as("alice", is_admin=True)
    body = {f"{n:04}" + "k" * 1000: "x" for n in range(1000)}
    target = path.format(id=await id_for(app, path, post))
    resp = await send(client, method, target, body)
    fields = (await error_of(resp, 422))["fields"]
    unknown = [name for name, message in fields.items() if message == "Unknown field."]
    assert 1 <= len(unknown) <= MAX_UNKNOWN_FIELDS
    assert all(len(name) <= MAX_ECHOED_NAME for name in fields)
    assert len(await resp.read()) < 4096


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
