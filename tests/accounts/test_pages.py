"""Accounts through HTTP: register, log in, log out, sessions and cookies."""

import logging

import pytest

from www import DB
from www.accounts.models import User
from www.accounts.schemas import UserOut

REGISTER = {"name": "Bob", "email": "Bob@Example.com", "password": "long enough"}


async def test_register_then_login(auth, client, app):
    resp = await auth.post("/register", REGISTER)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login"
    user = await User.select(app[DB]).where(email="bob@example.com").first()
    assert user.name == "Bob"  # the email is stored in lower case
    resp = await auth.login("BOB@example.com", "long enough")
    assert resp.status == 303
    page = await (await client.get("/")).text()
    assert "Bob" in page and "Log out" in page
    assert 'href="/login"' not in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Name is required."),
        ("name", "   ", "Name is required."),
        ("name", "n" * 51, "Name must be at most 50 characters."),
        ("email", "", "Email is required."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("password", "", "Password is required."),
        ("password", "short", "Password must be at least 8 characters."),
        ("password", "p" * 129, "Password must be at most 128 characters."),
    ],
)
async def test_register_validation(auth, app, field, value, message):
    resp = await auth.post("/register", {**REGISTER, field: value})
    assert resp.status == 400
    body = await resp.text()
    assert message in body
    if field != "name":
        assert 'value="Bob"' in body  # the user's input is kept...
    assert "long enough" not in body  # ...but never the password
    assert await User.select(app[DB]).count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "ALICE@example.COM"}, "Email is already registered."),
        ({"name": "ALICE"}, "Name is already taken."),
    ],
)
async def test_register_duplicate_in_any_case(auth, app, change, message):
    await auth.create_user("alice")
    resp = await auth.post("/register", {**REGISTER, **change})
    assert resp.status == 400
    assert message in await resp.text()
    assert await User.select(app[DB]).count() == 1


async def test_password_is_hashed_with_argon2id(auth, app, caplog):
    caplog.set_level(logging.DEBUG)
    await auth.post("/register", REGISTER)
    user = await User.select(app[DB]).where(name="Bob").first()
    assert user.password_hash.startswith("$argon2id$")
    assert "long enough" not in caplog.text
    assert user.password_hash not in caplog.text
    assert "password_hash" not in UserOut.model_validate(user).model_dump()


async def test_register_and_login_pages(client):
    for path in ("/register", "/login"):
        resp = await client.get(path)
        assert resp.status == 200
        assert 'name="csrf_token"' in await resp.text()


async def test_login_redirects_to_next(auth):
    await auth.create_user()
    resp = await auth.login(next="/posts/new")
    assert resp.status == 303
    assert resp.headers["Location"] == "/posts/new"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
async def test_login_ignores_external_next(auth, target):
    await auth.create_user()
    resp = await auth.post(
        "/login",
        {"email": "alice@example.com", "password": "correct horse"},
        params={"next": target},
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/"


async def test_login_page_keeps_a_local_next_in_the_form(client):
    body = await (await client.get("/login?next=/posts/new")).text()
    assert 'action="/login?next=/posts/new"' in body


@pytest.mark.parametrize(
    ("email", "password"),
    [("nobody@example.com", "correct horse"), ("alice@example.com", "wrong password")],
)
async def test_login_failure_has_one_message(auth, email, password):
    await auth.create_user()
    resp = await auth.login(email, password)
    assert resp.status == 400
    body = await resp.text()
    assert "Incorrect email or password." in body
    assert f'value="{email}"' in body
    assert password not in body


async def test_login_with_empty_fields(auth):
    resp = await auth.post("/login", {"email": "", "password": ""})
    assert resp.status == 400
    assert "Email is required." in await resp.text()


async def test_login_starts_a_new_session(auth, client):
    await auth.create_user()
    await auth.token()  # an anonymous session, as on the login page
    before = client.session.cookie_jar.filter_cookies(client.make_url("/"))["www_session"].value
    token_before = await auth.token()
    await auth.login()
    after = client.session.cookie_jar.filter_cookies(client.make_url("/"))["www_session"].value
    assert after != before
    assert await auth.token() != token_before  # the CSRF token is rotated too


async def test_logout_makes_a_replayed_cookie_anonymous(auth, client):
    await auth.login_as("alice")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["www_session"].value
    resp = await auth.logout()
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    assert "Log in" in await (await client.get("/")).text()
    # Replay the old cookie: it must not authenticate any more.
    client.session.cookie_jar.update_cookies({"www_session": cookie})
    body = await (await client.get("/")).text()
    assert "alice" not in body and "Log out" not in body
    resp = await client.get("/posts/new", allow_redirects=False)
    assert resp.status == 303


async def test_deleted_user_is_anonymous(auth, client, app):
    user = await auth.login_as("alice")
    await user.delete(app[DB])
    assert "Log out" not in await (await client.get("/")).text()


async def test_password_rehashed_when_parameters_change(auth, app):
    from www.passwords import hash_password_sync
    from www.settings import PasswordSettings

    old_hash = hash_password_sync(
        PasswordSettings(time_cost=1, memory_cost=16, parallelism=1, workers=1, queue=0),
        "correct horse",
    )
    user = await User.create(
        app[DB], name="alice", email="alice@example.com", password_hash=old_hash
    )
    resp = await auth.login()
    assert resp.status == 303
    fresh = await User.get(app[DB], user.id)
    assert fresh.password_hash != old_hash
    assert "m=8," in fresh.password_hash  # the configured (test) parameters


async def test_session_cookie_flags(auth, client):
    resp = await client.get("/login")
    cookie = resp.cookies["www_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == "1209600"
    assert not cookie["secure"]  # development default; production.yaml turns it on


async def test_secure_cookie_from_settings(aiohttp_client, tmp_path, db_url):
    from tests.conftest import overrides_for, with_tables
    from www.app import create_app
    from www.settings import load_settings

    overrides = overrides_for(tmp_path, db_url)
    overrides["session"]["secure"] = True
    app = with_tables(create_app(load_settings(overrides=overrides, environ={})))
    client = await aiohttp_client(app)
    resp = await client.get("/login")
    assert resp.cookies["www_session"]["secure"] is True


async def test_home_page_sets_no_cookie_for_visitors(client):
    resp = await client.get("/")
    assert "www_session" not in resp.cookies


async def test_change_password_ends_other_sessions(auth, client, app, aiohttp_client):
    await auth.login_as("alice")
    other = await aiohttp_client(client.server)  # the same user on another device
    other_auth = type(auth)(other, app)
    assert (await other_auth.login()).status == 303
    page = await (await client.get("/account/password")).text()
    assert 'name="new_password"' in page
    resp = await auth.post(
        "/account/password", {"current_password": "correct horse", "new_password": "new secret 1"}
    )
    assert resp.status == 303
    assert "Log out" in await (await client.get("/")).text()  # this session goes on
    assert "Log out" not in await (await other.get("/")).text()  # the other one ended
    assert (await auth.logout()).status == 303
    assert (await auth.login(password="correct horse")).status == 400
    assert (await auth.login(password="new secret 1")).status == 303


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"current_password": "wrong", "new_password": "new secret 1"}, "is not right"),
        ({"current_password": "", "new_password": "new secret 1"}, "Current password is required."),
        ({"current_password": "correct horse", "new_password": "short"}, "at least 8 characters"),
    ],
)
async def test_change_password_errors(auth, app, values, message):
    user = await auth.login_as("alice")
    resp = await auth.post("/account/password", values)
    assert resp.status == 400
    body = await resp.text()
    assert message in body
    assert "new secret 1" not in body
    assert (await User.get(app[DB], user.id)).password_hash == user.password_hash


async def test_change_password_needs_login(client):
    resp = await client.get("/account/password", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/account/password"
