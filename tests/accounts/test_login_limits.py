"""Rate limits on the account forms and the API's login, through HTTP, on a fake clock:
failed logins per account, attempts per client address (as the trusted-proxy handling
gives it), registrations per address, password changes per user."""

import asyncio

import limits

from tests.conftest import Auth, GuardedTestServer, overrides_for, with_tables
from tests.helpers import FakeClock, error_of, send
from www import CONFIG
from www.accounts import actions
from www.app import create_app
from www.keys import RATE_LIMITS
from www.settings import load_settings

RIGHT, WRONG = "correct horse", "wrong horse"
PROXY = "127.0.0.1"  # the test client's address: trusted in the proxy test


def allowed(app, name: str) -> int:
    """How many attempts `name` allows in its window, with the app's settings."""
    return limits.parse(getattr(app[CONFIG].rate_limits, name)).amount


def window(app, name: str) -> int:
    return limits.parse(getattr(app[CONFIG].rate_limits, name)).get_expiry()


async def test_a_locked_account_refuses_even_the_right_password_until_the_window_moves(
    app, auth, clock
):
    await auth.create_user("alice")
    for _ in range(allowed(app, "login_account")):  # 5 failures in 5 minutes
        resp = await auth.login(password=WRONG)
        assert resp.status == 400
        assert "Incorrect email or password." in await resp.text()
    resp = await auth.login(password=RIGHT)
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) == window(app, "login_account") + 1
    page = await resp.text()
    assert "This account is locked after too many failed logins." in page
    assert "It unlocks by itself in 5 minutes." in page
    assert 'value="alice@example.com"' in page and RIGHT not in page  # the form, again
    clock.advance(window(app, "login_account") - 1)
    assert (await auth.login(password=RIGHT)).status == 429  # not a second early
    clock.advance(2)
    assert (await auth.login(password=RIGHT)).status == 303


async def test_the_account_is_the_same_however_its_address_is_written(app, auth, clock):
    await auth.create_user("alice")
    for n in range(allowed(app, "login_account")):
        email = ["Alice@Example.com", " alice@EXAMPLE.COM ", "ALICE@example.com"][n % 3]
        assert (await auth.login(email=email, password=WRONG)).status == 400
    assert (await auth.login(password=RIGHT)).status == 429


async def test_concurrent_attempts_cannot_pass_the_check_together(app, auth, clock, monkeypatch):
    """Only `login_account` passwords are tried, however many attempts come at once."""
    await auth.create_user("alice")
    verify, tried = actions.verify_password, []

    async def slow_verify(*args):  # as production hashing costs: the attempts overlap
        tried.append(args[-1])
        await asyncio.sleep(0.05)
        return await verify(*args)

    monkeypatch.setattr(actions, "verify_password", slow_verify)
    budget = allowed(app, "login_account")
    form = {"email": "alice@example.com", "password": WRONG, "csrf_token": await auth.token()}
    attempts = (auth.client.post("/login", data=form) for _ in range(budget * 3))
    answers = await asyncio.gather(*attempts)  # all sent before the first is answered
    assert sorted(resp.status for resp in answers) == [400] * budget + [429] * (budget * 2)
    assert len(tried) == budget
    assert not app[RATE_LIMITS]._turns  # nothing left behind


async def test_other_accounts_are_not_locked(app, auth, clock):
    await auth.create_user("alice")
    await auth.create_user("bob")
    for _ in range(allowed(app, "login_account")):
        await auth.login(password=WRONG)
    assert (await auth.login("bob@example.com", RIGHT)).status == 303


async def test_a_success_does_not_use_the_accounts_budget(app, auth, clock):
    await auth.create_user("alice")
    budget = allowed(app, "login_account")
    for _ in range(budget + 2):  # more successes than the account's failures allowed
        assert (await auth.login(password=RIGHT)).status == 303
    for _ in range(budget - 1):
        assert (await auth.login(password=WRONG)).status == 400
    assert (await auth.login(password=RIGHT)).status == 303  # the legitimate user: in


async def test_an_unknown_email_is_counted_like_a_known_one(app, auth, clock):
    for _ in range(allowed(app, "login_account")):
        assert (await auth.login("nobody@example.com", WRONG)).status == 400
    resp = await auth.login("nobody@example.com", WRONG)
    assert resp.status == 429  # locking tells nothing about whether the account exists
    assert "unlocks by itself" in await resp.text()


async def test_attempts_per_address_are_limited_across_accounts(app, auth, clock):
    for n in range(allowed(app, "login_address")):  # 20 a minute, each a new account
        assert (await auth.login(f"user{n}@example.com", WRONG)).status == 400
    resp = await auth.login("another@example.com", WRONG)
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= window(app, "login_address") + 1
    page = await resp.text()
    assert "Too many attempts. Try again in 1 minute." in page
    assert 'value="another@example.com"' in page and WRONG not in page  # the form again
    clock.advance(window(app, "login_address") + 1)
    assert (await auth.login("another@example.com", WRONG)).status == 400


async def login_from(auth, email: str, headers: dict):
    form = {"email": email, "password": WRONG}
    return await auth.post("/login", form, headers=headers)


async def test_an_untrusted_clients_forwarded_for_cannot_dodge_the_address_limit(app, auth, clock):
    for n in range(allowed(app, "login_address")):
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}  # a new address each time: ignored
        assert (await login_from(auth, f"user{n}@example.com", headers)).status == 400
    headers = {"X-Forwarded-For": "198.51.100.200"}
    assert (await login_from(auth, "x@example.com", headers)).status == 429


async def test_behind_a_trusted_proxy_each_client_address_has_its_own_budget(
    aiohttp_client, tmp_path, db_url
):
    overrides = overrides_for(tmp_path, db_url)
    overrides["server"] = {"trusted_proxies": [PROXY]}
    app = with_tables(create_app(load_settings(overrides=overrides, environ={})))
    app[RATE_LIMITS].storage.clock = FakeClock()
    auth = Auth(await aiohttp_client(GuardedTestServer(app)), app)
    blocked = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(allowed(app, "login_address")):
        assert (await login_from(auth, f"user{n}@example.com", blocked)).status == 400
    assert (await login_from(auth, "x@example.com", blocked)).status == 429
    other = {"X-Forwarded-For": "203.0.113.8"}
    assert (await login_from(auth, "x@example.com", other)).status == 400
    # What the client wrote left of the address the proxy appended is not believed.
    spoofed = {"X-Forwarded-For": "192.0.2.1, 203.0.113.7"}
    assert (await login_from(auth, "x@example.com", spoofed)).status == 429


async def test_the_api_login_answers_429_as_json_with_retry_after(app, auth, client, clock):
    await auth.create_user("alice")
    wrong = {"email": "alice@example.com", "password": WRONG}
    for _ in range(allowed(app, "login_account")):
        await error_of(await send(client, "POST", "/api/session", wrong), 401)
    right = {"email": "alice@example.com", "password": RIGHT}
    resp = await send(client, "POST", "/api/session", right)
    error = await error_of(resp, 429)
    assert "unlocks by itself" in error["message"]
    assert int(resp.headers["Retry-After"]) >= 1
    clock.advance(window(app, "login_account") + 1)
    assert (await send(client, "POST", "/api/session", right)).status == 200


async def test_the_api_and_the_form_share_the_budgets(app, auth, client, clock):
    await auth.create_user("alice")
    wrong = {"email": "alice@example.com", "password": WRONG}
    for n in range(allowed(app, "login_account")):
        if n % 2:
            await error_of(await send(client, "POST", "/api/session", wrong), 401)
        else:
            assert (await auth.login(password=WRONG)).status == 400
    assert (await auth.login(password=RIGHT)).status == 429


async def test_a_request_refused_by_the_csrf_check_uses_no_budget(app, auth, client, clock):
    await auth.create_user("alice")
    form = {"email": "alice@example.com", "password": WRONG, "csrf_token": "forged"}
    for _ in range(allowed(app, "login_address") + 5):
        assert (await client.post("/login", data=form, allow_redirects=False)).status == 403
    assert (await auth.login(password=RIGHT)).status == 303


async def test_registrations_per_address_are_limited(app, auth, clock):
    for n in range(allowed(app, "register_address")):
        form = {"name": f"user{n}", "email": f"user{n}@example.com", "password": RIGHT}
        assert (await auth.post("/register", form)).status == 303
    form = {"name": "onemore", "email": "onemore@example.com", "password": RIGHT}
    resp = await auth.post("/register", form)
    assert resp.status == 429
    assert "Retry-After" in resp.headers
    page = await resp.text()
    assert "Too many attempts. Try again in" in page
    assert 'value="onemore@example.com"' in page and RIGHT not in page  # the form again
    clock.advance(window(app, "register_address") + 1)
    assert (await auth.post("/register", form)).status == 303


async def test_password_changes_per_user_are_limited(app, auth, clock):
    await auth.login_as("alice")
    form = {"current_password": WRONG, "new_password": "a new password"}
    for _ in range(allowed(app, "password_change_user")):
        assert (await auth.post("/account/password", form)).status == 400
    form["current_password"] = RIGHT
    resp = await auth.post("/account/password", form)
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert 'name="new_password"' in await resp.text()  # the form again, the passwords not
    clock.advance(window(app, "password_change_user") + 1)
    assert (await auth.post("/account/password", form)).status == 303
