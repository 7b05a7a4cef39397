"""API tokens through HTTP: made on /account/tokens, used by a script as a bearer token.

A "script" here is a client with no cookie jar, sending only `Authorization: Bearer`.
The clock of www/accounts/tokens.py is moved by monkeypatching its `now` (`token_clock`),
never by sleeping; the rate limits' clock by conftest's `clock`.
"""

import hashlib
import re
from datetime import timedelta

import aiohttp
import limits
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.conftest import overrides_for
from tests.helpers import error_of, send
from www import CONFIG, DB
from www.accounts import tokens
from www.accounts.models import ApiToken
from www.app import create_app
from www.orm import utcnow
from www.settings import load_settings

MAX_TOKENS = 3
TOKEN = re.compile(r"www_[A-Za-z0-9_-]{43}")
POST = {"title": "From a script", "content": "Hello"}


@pytest.fixture
def settings(tmp_path, db_url):
    """conftest's settings, with few tokens a user."""
    overrides = overrides_for(tmp_path, db_url)
    overrides["accounts"] = {"max_tokens_per_user": MAX_TOKENS}
    return load_settings(overrides=overrides, environ={})


class Script:
    """A client that sends no cookie, only its token: what `curl -H` does."""

    def __init__(self, client, session: aiohttp.ClientSession):
        self.client, self.session = client, session

    async def request(self, method, path, token, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = self.client.make_url(path)
        async with self.session.request(
            method, url, headers=headers, allow_redirects=False, **kwargs
        ) as resp:
            await resp.read()
            return resp


@pytest.fixture
async def script(client):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield Script(client, session)


@pytest.fixture
def token_clock(monkeypatch):
    """tokens.now(), frozen at a moment that `move()` moves on."""
    moment = [utcnow()]
    monkeypatch.setattr(tokens, "now", lambda: moment[0])

    class Clock:
        @property
        def now(self):
            return moment[0]

        def move(self, **delta):
            moment[0] += timedelta(**delta)

    return Clock()


async def make_token(auth, client, name="nightly backup", days="90") -> str:
    """Make a token on the page, as a user does, and read it where it is shown."""
    resp = await auth.post("/account/tokens", {"name": name, "expires_days": days})
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/account/tokens"
    page = await (await client.get("/account/tokens")).text()
    return TOKEN.search(page).group(0)


async def is_refused(resp) -> None:
    await error_of(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    assert "Set-Cookie" not in resp.headers


async def test_a_new_token_is_shown_once(auth, client):
    await auth.login_as("alice")
    resp = await auth.post("/account/tokens", {"name": "nightly backup", "expires_days": "30"})
    assert resp.status == 303
    first = await client.get("/account/tokens")
    page = await first.text()
    assert first.headers["Cache-Control"] == "no-store"
    assert len(TOKEN.findall(page)) == 1
    assert "nightly backup" in page
    again = await (await client.get("/account/tokens")).text()
    assert not TOKEN.search(again)  # gone on the next page
    assert "nightly backup" in again  # still listed, by name


async def test_only_a_hash_of_the_token_is_stored(auth, client, app):
    await auth.login_as("alice")
    token = await make_token(auth, client)
    [row] = await ApiToken.select(app[DB]).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = await app[DB].fetchall("SELECT * FROM api_tokens")
    assert all(token not in str(value) for value in stored[0])
    assert token.startswith("www_")


async def test_a_token_uses_the_api_without_session_or_csrf(auth, client, script):
    alice = await auth.login_as("alice")
    token = await make_token(auth, client)
    resp = await script.request("POST", "/api/posts", token, json=POST)
    assert resp.status == 201
    assert "Set-Cookie" not in resp.headers  # no session is started for a token
    resp = await script.request("GET", "/api/session", token)
    assert resp.status == 200
    assert (await resp.json())["user"] == {"id": alice.id, "name": "alice"}
    assert "Set-Cookie" not in resp.headers


async def test_a_token_never_opens_a_page(auth, client, script):
    await auth.login_as("alice")
    token = await make_token(auth, client)
    resp = await script.request("GET", "/account/tokens", token)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login")
    resp = await script.request("GET", "/", token)
    assert "Log in" in await resp.text()  # anonymous
    resp = await script.request("POST", "/posts/new", token, data=POST)
    assert resp.status == 403  # no CSRF token: the header does not stand in for it


async def test_a_cookie_api_request_still_needs_its_csrf_token(auth, client):
    await auth.login_as("alice")
    resp = await client.post("/api/posts", json=POST)
    await error_of(resp, 403)
    assert (await send(client, "POST", "/api/posts", POST)).status == 201


@pytest.mark.parametrize(
    "value",
    ["www_wrong", "", "www_", "not-even-the-prefix", "www_" + "x" * 43, "www_" + "x" * 500],
)
async def test_a_wrong_token_is_401_even_where_anonymous_may_read(script, value):
    await is_refused(await script.request("GET", "/api/posts", value))
    await is_refused(await script.request("POST", "/api/posts", value, json=POST))


async def test_other_authorization_schemes_are_left_alone(client):
    """A proxy guarding a staging site sends Basic: the session still works."""
    resp = await client.get("/api/posts", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert resp.status == 200


async def test_an_expired_token_is_401(auth, client, script, token_clock):
    await auth.login_as("alice")
    token = await make_token(auth, client, days="1")
    token_clock.move(hours=23, minutes=59)
    assert (await script.request("GET", "/api/posts", token)).status == 200
    token_clock.move(minutes=1)
    await is_refused(await script.request("GET", "/api/posts", token))
    assert "Expired" in await (await client.get("/account/tokens")).text()


async def test_a_revoked_token_stops_at_once_in_every_process(
    auth, client, app, script, settings, aiohttp_client
):
    await auth.login_as("alice")
    token = await make_token(auth, client)
    # A second app on the same database: another worker, or another machine.
    other = Script(await aiohttp_client(create_app(settings)), script.session)
    assert (await other.request("GET", "/api/posts", token)).status == 200
    assert (await script.request("GET", "/api/posts", token)).status == 200
    [row] = await ApiToken.select(app[DB]).all()
    resp = await auth.post(f"/account/tokens/{row.id}/delete")
    assert resp.status == 303
    assert resp.headers["Location"] == "/account/tokens"
    await is_refused(await script.request("GET", "/api/posts", token))
    await is_refused(await other.request("GET", "/api/posts", token))


async def test_a_password_change_revokes_every_token(auth, client, app, script):
    await auth.login_as("alice")
    made = [await make_token(auth, client, name=f"t{n}") for n in range(2)]
    resp = await auth.post(
        "/account/password",
        {"current_password": "correct horse", "new_password": "a new long one"},
    )
    assert resp.status == 303
    for token in made:
        await is_refused(await script.request("GET", "/api/posts", token))
    assert await ApiToken.select(app[DB]).count() == 0


async def test_only_the_owner_revokes_a_token(auth, client, app, script):
    await auth.login_as("alice")
    token = await make_token(auth, client)
    [row] = await ApiToken.select(app[DB]).all()
    await auth.logout()
    await auth.login_as("bob", is_admin=True)  # not even an admin: it is alice's credential
    assert (await auth.post(f"/account/tokens/{row.id}/delete")).status == 403
    assert (await auth.post(f"/account/tokens/{row.id + 1}/delete")).status == 404
    assert "nightly backup" not in await (await client.get("/account/tokens")).text()
    assert (await script.request("GET", "/api/posts", token)).status == 200


async def test_deleting_needs_the_csrf_token_then_a_login(auth, client, app):
    await auth.login_as("alice")
    await make_token(auth, client)
    [row] = await ApiToken.select(app[DB]).all()
    resp = await client.post(f"/account/tokens/{row.id}/delete", allow_redirects=False)
    assert resp.status == 403
    await auth.logout()
    resp = await auth.post(f"/account/tokens/{row.id}/delete")
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login")
    assert await ApiToken.select(app[DB]).count() == 1


async def test_a_user_holds_at_most_max_tokens(auth, client, app, token_clock):
    await auth.login_as("alice")
    for n in range(MAX_TOKENS):
        await make_token(auth, client, name=f"t{n}", days="1")
    resp = await auth.post("/account/tokens", {"name": "one more", "expires_days": "1"})
    assert resp.status == 400
    page = await resp.text()
    assert f"You have {MAX_TOKENS} tokens already" in page
    assert 'value="one more"' in page  # the input is kept
    token_clock.move(days=1)  # expired ones do not count, and go
    await make_token(auth, client, name="fresh")
    assert await ApiToken.select(app[DB]).count() == 1


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", "90", "Name is required."),
        ("n" * 51, "90", "Name must be at most 50 characters."),
        ("ok", "0", "Days before it expires must be at least 1."),
        ("ok", "366", "Days before it expires must be at most 365."),
        ("ok", "soon", "Days before it expires must be a whole number."),
    ],
)
async def test_invalid_input_shows_the_form_again(auth, client, app, name, days, message):
    await auth.login_as("alice")
    resp = await auth.post("/account/tokens", {"name": name, "expires_days": days})
    assert resp.status == 400
    page = await resp.text()
    assert message in page
    assert f'value="{days}"' in page
    assert await ApiToken.select(app[DB]).count() == 0


async def test_the_form_keeps_to_the_schema(auth, client):
    await auth.login_as("alice")
    page = await (await client.get("/account/tokens")).text()
    assert re.search(r'name="name" value="" maxlength="50" required', page)
    assert re.search(r'name="expires_days" value="90" min="1" max="365"', page)
    assert 'href="/account/tokens"' in await (await client.get("/users/1")).text()


async def test_the_page_needs_a_login(client):
    resp = await client.get("/account/tokens", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/account/tokens"


async def test_last_used_is_written_at_most_once_per_interval(
    auth, client, app, script, token_clock
):
    await auth.login_as("alice")
    token = await make_token(auth, client)

    async def last_used():
        return (await ApiToken.select(app[DB]).first()).last_used_at

    assert await last_used() is None
    assert "Never" in await (await client.get("/account/tokens")).text()
    first = token_clock.now
    await script.request("GET", "/api/posts", token)
    assert await last_used() == first
    token_clock.move(seconds=59)
    await script.request("GET", "/api/posts", token)
    assert await last_used() == first  # no write within the interval
    token_clock.move(seconds=1)
    await script.request("GET", "/api/posts", token)
    assert await last_used() == token_clock.now


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


@examples(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    value=st.one_of(
        HEADER_TEXT,
        HEADER_TEXT.map(lambda text: "Bearer " + text),
        HEADER_TEXT.map(lambda text: "bearer www_" + text),
    )
)
async def test_any_authorization_header_is_never_a_5xx(app, client, clock, value):
    # The fake clock of the rate limits moves a window on for each example, so that the
    # failures of the ones before do not turn this one's 401 into a 429.
    clock.advance(limits.parse(app[CONFIG].rate_limits.bearer_failure_address).get_expiry() * 2)
    resp = await client.get("/api/posts", headers={"Authorization": value})
    assert resp.status in (200, 401), (value, resp.status)
    assert resp.content_type == "application/json"
    if value.lower().startswith("bearer "):
        assert resp.status == 401, value  # never a valid token by chance
