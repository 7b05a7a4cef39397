"""Password reset by mail, through HTTP, with a real SMTP server (aiosmtpd) receiving the
mails: ask for a link, follow it, set a new password; expiry, reuse, superseding."""

import hashlib
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.conftest import overrides_for
from tests.test_executors import hashing_blocked
from www import DB
from www.accounts import resets
from www.accounts.models import PasswordReset, User
from www.accounts.reset_pages import EXPIRED, SENT
from www.keys import HASHING
from www.orm import utcnow
from www.settings import load_settings

FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    # The app and client are made once per test and shared by its examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

BASE_URL = "https://blog.test"
LINK = re.compile(re.escape(BASE_URL) + r"/password/reset/([A-Za-z0-9_-]+)")
NEW = "a brand new password"


@pytest.fixture
def settings(tmp_path, db_url, smtp_server):
    """The app sends its mails to the test's SMTP server; links start with BASE_URL."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["mail"] |= {"smtp_url": smtp_server.url, "retry_delay": 0.05, "timeout": 2.0}
    overrides["site"] = {"base_url": BASE_URL}
    return load_settings(overrides=overrides, environ={})


async def ask(auth, email="alice@example.com", **kwargs):
    return await auth.post("/password/forgot", {"email": email}, **kwargs)


async def mailed_token(auth, smtp_server, email="alice@example.com") -> str:
    """Ask for a link and return the token of the mail that brings it."""
    count = len(smtp_server.messages)
    resp = await ask(auth, email)
    assert resp.status == 303
    message = (await smtp_server.wait(count + 1))[-1]
    return LINK.search(message.get_body(("plain",)).get_content()).group(1)


async def flashes(client) -> str:
    body = await (await client.get("/login")).text()
    match = re.search(r'<div class="flashes".*?</div>', body, re.S)
    return match.group(0) if match else ""


async def test_the_whole_journey(auth, client, smtp_server):
    user = await auth.login_as("alice")  # this session must end with the reset
    old_cookies = client.session.cookie_jar.filter_cookies(client.make_url("/"))

    # The request's Host is the attacker's: the link is still built from site.base_url.
    resp = await ask(auth, "Alice@Example.com", headers={"Host": "evil.example"})
    assert resp.status == 303
    assert resp.headers["Location"] == "/login"
    [message] = await smtp_server.wait(1)
    assert message["To"] == "alice@example.com"
    assert message["From"] == "www <noreply@localhost>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    token = LINK.search(text).group(1)
    assert f'href="{BASE_URL}/password/reset/{token}"' in html
    assert "evil.example" not in text + html
    assert "Hello alice," in text and "60 minutes" in text

    resp = await client.get(f"/password/reset/{token}")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "strict-origin"  # no path, no token
    assert f'action="/password/reset/{token}"' in await resp.text()

    resp = await auth.post(f"/password/reset/{token}", {"password": NEW})
    assert resp.status == 303
    assert resp.headers["Location"] == "/login"
    assert "Your password was changed." in await flashes(client)

    # The session that was logged in before is anonymous now.
    client.session.cookie_jar.update_cookies(old_cookies)
    assert 'href="/login"' in await (await client.get("/")).text()
    assert (await auth.login(password="correct horse")).status == 400
    assert (await auth.login(password=NEW)).status == 303
    assert await PasswordReset.select(auth.app[DB]).where(user_id=user.id).count() == 0


async def test_a_known_and_an_unknown_address_get_the_same_answer(auth, client, smtp_server):
    await auth.create_user("alice")
    answers = []
    for email in ("nobody@example.com", "alice@example.com"):
        resp = await ask(auth, email)
        answers.append((resp.status, resp.headers["Location"], await flashes(client)))
    assert answers[0] == answers[1]
    assert SENT in answers[0][2]
    # The mails are made in turn: once alice's came, nobody's was looked at, and sent none.
    await smtp_server.wait(1)
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.com"]


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "a@" + "x" * 300 + ".com"])
async def test_an_invalid_address_shows_the_form_again(auth, smtp_server, email):
    resp = await ask(auth, email)
    assert resp.status == 400
    body = await resp.text()
    assert 'action="/password/forgot"' in body
    assert 'role="alert"' in body  # the message
    if email:
        assert f'value="{email}"' in body  # kept


async def test_the_token_is_stored_hashed(auth, app, smtp_server):
    user = await auth.create_user("alice")
    token = await mailed_token(auth, smtp_server)
    [link] = await PasswordReset.select(app[DB]).where(user_id=user.id).all()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.expires_at - link.created_at == timedelta(hours=1)


async def test_a_link_expires_after_an_hour(auth, client, smtp_server, monkeypatch):
    await auth.create_user("alice")
    token = await mailed_token(auth, smtp_server)
    made = utcnow()
    monkeypatch.setattr(resets, "now", lambda: made + timedelta(minutes=59))
    assert (await client.get(f"/password/reset/{token}")).status == 200
    monkeypatch.setattr(resets, "now", lambda: made + timedelta(hours=1, seconds=1))
    resp = await client.get(f"/password/reset/{token}")
    assert resp.status == 400
    assert EXPIRED in await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    resp = await auth.post(f"/password/reset/{token}", {"password": NEW})
    assert resp.status == 400
    assert EXPIRED in await resp.text()
    assert (await auth.login(password="correct horse")).status == 303  # unchanged


async def test_a_link_works_once(auth, client, smtp_server):
    await auth.create_user("alice")
    token = await mailed_token(auth, smtp_server)
    assert (await auth.post(f"/password/reset/{token}", {"password": NEW})).status == 303
    for resp in (
        await client.get(f"/password/reset/{token}"),
        await auth.post(f"/password/reset/{token}", {"password": "yet another one"}),
    ):
        assert resp.status == 400
        assert EXPIRED in await resp.text()
    assert (await auth.login(password=NEW)).status == 303


async def test_a_newer_link_voids_the_older(auth, client, smtp_server):
    await auth.create_user("alice")
    older = await mailed_token(auth, smtp_server)
    newer = await mailed_token(auth, smtp_server)
    assert older != newer
    resp = await auth.post(f"/password/reset/{older}", {"password": NEW})
    assert resp.status == 400
    assert EXPIRED in await resp.text()
    assert (await client.get(f"/password/reset/{newer}")).status == 200


async def test_a_password_change_voids_the_link(auth, client, smtp_server):
    await auth.login_as("alice")
    token = await mailed_token(auth, smtp_server)
    resp = await auth.post(
        "/account/password", {"current_password": "correct horse", "new_password": NEW}
    )
    assert resp.status == 303
    resp = await client.get(f"/password/reset/{token}")
    assert resp.status == 400
    assert EXPIRED in await resp.text()


async def test_a_full_hashing_queue_leaves_the_link_usable(auth, app, client, smtp_server):
    await auth.create_user("alice")
    token = await mailed_token(auth, smtp_server)
    hashing = app[HASHING]
    async with hashing_blocked(app, jobs=hashing.workers + hashing.queue):
        resp = await auth.post(f"/password/reset/{token}", {"password": NEW})
        assert resp.status == 503
        assert resp.headers["Retry-After"]
    assert (await client.get(f"/password/reset/{token}")).status == 200  # not spent
    assert (await auth.post(f"/password/reset/{token}", {"password": NEW})).status == 303
    assert (await auth.login(password=NEW)).status == 303


async def test_a_reset_revokes_every_api_token(auth, client, smtp_server):
    await auth.login_as("alice")
    resp = await auth.post("/account/tokens", {"name": "backup", "expires_days": "30"})
    assert resp.status == 303
    page = await (await client.get("/account/tokens")).text()
    api_token = re.search(r"www_[A-Za-z0-9_-]+", page).group(0)
    as_script = {"Authorization": f"Bearer {api_token}"}
    assert (await client.get("/api/session", headers=as_script)).status == 200
    token = await mailed_token(auth, smtp_server)
    assert (await auth.post(f"/password/reset/{token}", {"password": NEW})).status == 303
    resp = await client.get("/api/session", headers=as_script)
    assert resp.status == 401
    assert "WWW-Authenticate" in resp.headers


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "New password is required."),
        ("short", "New password must be at least 8 characters."),
        ("p" * 129, "New password must be at most 128 characters."),
    ],
)
async def test_an_invalid_password_shows_the_form_again(
    auth, client, smtp_server, password, message
):
    await auth.create_user("alice")
    token = await mailed_token(auth, smtp_server)
    resp = await auth.post(f"/password/reset/{token}", {"password": password})
    assert resp.status == 400
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.text()
    assert message in body
    if password:
        assert password not in body  # never echoed
    assert (await client.get(f"/password/reset/{token}")).status == 200  # still usable


@pytest.mark.parametrize("token", ["x", "A" * 43, "a" * 5000, "%00", "..", "é"])
async def test_a_token_that_never_was_is_refused(client, token):
    resp = await client.get(f"/password/reset/{token}")
    assert resp.status in (400, 404)
    if resp.status == 400:
        assert EXPIRED in await resp.text()


async def test_the_users_name_is_escaped_in_the_html_part(auth, smtp_server):
    await auth.create_user('<b>"Bo" & Co</b>', email="bob@example.com")
    await mailed_token(auth, smtp_server, "bob@example.com")
    [message] = smtp_server.messages
    html = message.get_body(("html",)).get_content()
    assert "Hello &lt;b&gt;&#34;Bo&#34; &amp; Co&lt;/b&gt;," in html
    assert "<b>" not in html
    assert 'Hello <b>"Bo" & Co</b>,' in message.get_body(("plain",)).get_content()


async def test_deleting_a_user_deletes_their_links(auth, app, smtp_server):
    user = await auth.create_user("alice")
    await mailed_token(auth, smtp_server)
    await (await User.get(app[DB], user.id)).delete(app[DB])
    assert await PasswordReset.select(app[DB]).count() == 0


async def test_the_login_page_links_to_the_forgot_page(client):
    body = await (await client.get("/login")).text()
    assert '<a href="/password/forgot">Forgot your password?</a>' in body
    resp = await client.get("/password/forgot")
    assert resp.status == 200
    assert 'name="email"' in await resp.text()


@FUZZ
@given(email=st.text(max_size=300))
async def test_any_address_gets_a_303_or_the_form_again(auth, email):
    resp = await ask(auth, email)
    assert resp.status in (303, 400), (email, resp.status)


@FUZZ
@given(password=st.text(max_size=300))
async def test_any_new_password_gets_a_303_or_the_form_again(auth, app, password):
    user = await User.select(app[DB]).where(name="fuzz").first() or await auth.create_user("fuzz")
    token = await resets.make_link(app, user)
    resp = await auth.post(f"/password/reset/{token}", {"password": password})
    assert resp.status in (303, 400), (password, resp.status)
    valid = 8 <= len(password) <= 128 and "\x00" not in password  # spaces count: not stripped
    assert (resp.status == 303) == valid, (password, resp.status)


@FUZZ
@given(token=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1))
async def test_any_token_in_the_path_gets_the_400_page(client, token):
    resp = await client.get(f"/password/reset/{quote(token, safe='')}")
    assert resp.status in (400, 404), (token, resp.status)
