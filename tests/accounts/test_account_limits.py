"""Rate limits on reset links, API tokens and bearer failures, through HTTP, on the fake
clock of the app's in-memory limits (conftest's `clock`)."""

import re

import aiohttp
import limits
import pytest

from tests.helpers import error_of
from www import CONFIG

TOKEN = re.compile(r"www_[A-Za-z0-9_-]{43}")


def rate(app, name: str) -> limits.RateLimitItem:
    return limits.parse(getattr(app[CONFIG].rate_limits, name))


async def ask_for_link(auth, email: str):
    return await auth.post("/password/forgot", {"email": email})


@pytest.mark.parametrize("known", [True, False])
async def test_reset_links_for_one_address_are_limited_alike_known_or_not(app, auth, clock, known):
    if known:
        await auth.create_user("alice")
    allowed = rate(app, "reset_email")
    for _ in range(allowed.amount):  # 3 an hour, written in any case
        assert (await ask_for_link(auth, "Alice@Example.com")).status == 303
    resp = await ask_for_link(auth, "alice@example.com")
    assert resp.status == 429
    assert 0 < int(resp.headers["Retry-After"]) <= allowed.get_expiry() + 1
    page = await resp.text()
    assert "Too many attempts. Try again in" in page
    assert 'value="alice@example.com"' in page  # the form again, with the address
    clock.advance(allowed.get_expiry() + 1)
    assert (await ask_for_link(auth, "alice@example.com")).status == 303


async def test_reset_links_from_one_client_are_limited(app, auth, clock):
    allowed = rate(app, "reset_address")
    for n in range(allowed.amount):  # different addresses, one client
        assert (await ask_for_link(auth, f"someone{n}@example.com")).status == 303
    assert (await ask_for_link(auth, "someone.else@example.com")).status == 429


async def make_token(auth, client) -> int:
    resp = await auth.post("/account/tokens", {"name": "script", "expires_days": "7"})
    return resp.status


async def test_making_tokens_is_limited_per_user(app, auth, client, clock):
    await auth.login_as("alice")
    allowed = rate(app, "token_user")
    for _ in range(allowed.amount):  # each revoked again: the count of tokens is no limit
        assert await make_token(auth, client) == 303
        page = await (await client.get("/account/tokens")).text()
        token_id = re.search(r'action="/account/tokens/(\d+)/delete"', page).group(1)
        assert (await auth.post(f"/account/tokens/{token_id}/delete")).status == 303
    assert await make_token(auth, client) == 429
    clock.advance(allowed.get_expiry() + 1)
    assert await make_token(auth, client) == 303


async def test_bearer_failures_from_one_client_are_limited_but_a_good_token_goes_on(
    app, auth, client, clock
):
    await auth.login_as("alice")
    assert await make_token(auth, client) == 303
    good = TOKEN.search(await (await client.get("/account/tokens")).text()).group(0)
    allowed = rate(app, "bearer_failure_address")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as script:

        async def as_script(token: str) -> aiohttp.ClientResponse:
            headers = {"Authorization": f"Bearer {token}"}
            async with script.get(client.make_url("/api/session"), headers=headers) as resp:
                await resp.read()
                return resp

        for n in range(allowed.amount):
            await error_of(await as_script(f"www_guess{n}"), 401)
        resp = await as_script("www_one-more-guess")
        await error_of(resp, 429)
        assert int(resp.headers["Retry-After"]) >= 1
        assert (await as_script(good)).status == 200  # only failures count
        clock.advance(allowed.get_expiry() + 1)
        await error_of(await as_script("www_guess-again"), 401)
