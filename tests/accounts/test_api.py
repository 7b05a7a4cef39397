"""The session in the JSON API: who is logged in, logging in and out (www/accounts/api.py)."""

import pytest

from tests.helpers import COOKIE, cookie_value, error_of, replay, send, token

LOGIN = ("POST", "/api/session", {"email": "alice@example.com", "password": "correct horse"})


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
    resp = await send(client, *LOGIN)
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
