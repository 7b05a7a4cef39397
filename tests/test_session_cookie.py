"""www/session_cookie.py: the session cookie found in the raw header, and decrypted once while
it is among the cookies seen last; never a session that Fernet would not have given."""

import asyncio
import json
import logging
import time

import pytest
from aiohttp.test_utils import make_mocked_request
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from www.session_cookie import SessionCookies, cookie_value

NAME = "www_session"
KEY = b"k" * 32


def request_with(cookie_header: str | None):
    headers = CIMultiDict() if cookie_header is None else CIMultiDict(Cookie=cookie_header)
    return make_mocked_request("GET", "/", headers=headers)


# What a cookie may hold unquoted (RFC 6265 cookie-octet), and names like ours.
OCTETS = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='",;\\'),
    max_size=40,
)
NAMES = st.sampled_from([NAME, "other", "www_session_old", "x" + NAME, "csrftoken"])
PAIRS = st.lists(st.tuples(NAMES, OCTETS, st.booleans()), max_size=6)


@given(PAIRS, st.sampled_from(["; ", ";", " ; "]))
def test_cookie_value_finds_what_aiohttp_finds(pairs, separator):
    header = separator.join(f'{n}="{v}"' if quoted else f"{n}={v}" for n, v, quoted in pairs)
    request = request_with(header)
    assert cookie_value(request, NAME) == request.cookies.get(NAME)


def test_cookie_value_without_the_cookie():
    assert cookie_value(request_with(None), NAME) is None
    assert cookie_value(request_with("other=1; xwww_session=2"), NAME) is None
    assert cookie_value(request_with(f"{NAME}=; other=1"), NAME) == ""


def storage(cache_entries: int = 8, max_age: int = 3600) -> SessionCookies:
    return SessionCookies(KEY, cache_entries=cache_entries, cookie_name=NAME, max_age=max_age)


def cookie_for(store: SessionCookies, data: dict, created: float | None = None) -> str:
    """A cookie as the storage would set it: the session's data and its creation time."""
    created = int(time.time() if created is None else created)
    plaintext = json.dumps({"created": created, "session": data}).encode()
    return store._fernet.encrypt(plaintext).decode()


class CountingFernet:
    """The storage's Fernet, counting its decryptions."""

    def __init__(self, store: SessionCookies):
        self.fernet, self.calls = store._fernet, 0
        store._fernet = self

    def decrypt(self, token, ttl=None):
        self.calls += 1
        return self.fernet.decrypt(token, ttl=ttl)


async def load(store: SessionCookies, cookie: str | None):
    return await store.load_session(request_with(None if cookie is None else f'{NAME}="{cookie}"'))


async def test_a_cookie_seen_again_is_not_decrypted_again():
    store = storage()
    cookie = cookie_for(store, {"uid": 7})
    counting = CountingFernet(store)
    for _ in range(3):
        session = await load(store, cookie)
        assert not session.new and session["uid"] == 7
    assert counting.calls == 1


async def test_each_request_gets_a_session_of_its_own():
    store = storage()
    cookie = cookie_for(store, {"uid": 7, "flash": [["Saved.", "success"]]})
    first = await load(store, cookie)
    first["flash"].append(["Changed in place", "error"])  # a view may mutate what it read
    first["uid"] = 8
    second = await load(store, cookie)
    assert second["uid"] == 7 and second["flash"] == [["Saved.", "success"]]


async def test_the_cache_keeps_the_latest_cookies_only():
    store = storage(cache_entries=2)
    cookies = [cookie_for(store, {"uid": n}) for n in range(3)]
    counting = CountingFernet(store)
    for cookie in cookies:
        await load(store, cookie)
    assert counting.calls == 3
    await load(store, cookies[2])  # kept
    await load(store, cookies[1])  # kept
    assert counting.calls == 3
    assert (await load(store, cookies[0]))["uid"] == 0  # pushed out: decrypted again
    assert counting.calls == 4


async def test_no_cache_decrypts_every_time():
    store = storage(cache_entries=0)
    cookie = cookie_for(store, {"uid": 7})
    counting = CountingFernet(store)
    for _ in range(3):
        assert (await load(store, cookie))["uid"] == 7
    assert counting.calls == 3


@pytest.mark.parametrize("kept", [False, True], ids=["first-time", "kept"])
async def test_a_session_older_than_max_age_is_empty(kept):
    store = storage(max_age=60)
    old = cookie_for(store, {"uid": 7}, created=time.time() - 120)
    if kept:  # the cookie was decrypted while the session was young enough
        store._plaintexts[old] = store._fernet.decrypt(old.encode())
    assert "uid" not in await load(store, old)


@pytest.mark.parametrize(
    "cookie",
    [
        "not-a-token",
        "caf\u00e9-\u2603",  # not ASCII: no token is
        Fernet(Fernet.generate_key()).encrypt(b'{"session": {"uid": 1}}').decode(),  # not our key
    ],
    ids=["garbage", "not-ascii", "another-key"],
)
async def test_a_cookie_we_did_not_issue_is_a_new_session(cookie, caplog):
    store = storage()
    with caplog.at_level(logging.WARNING, logger="www.session_cookie"):
        session = await load(store, cookie)
    assert session.new and "uid" not in session
    assert "Cannot decrypt the session cookie" in caplog.text
    assert store._plaintexts == {}


async def test_a_cookie_that_is_not_json_is_a_new_session():
    store = storage()
    cookie = store._fernet.encrypt(b"\xff not json").decode()
    session = await load(store, cookie)
    assert session.new and "uid" not in session


async def test_logged_in_pages_decrypt_the_cookie_once(auth, client, monkeypatch):
    """Through HTTP: after logging in, page after page, the cookie is decrypted once."""
    calls = []
    decrypt = Fernet.decrypt

    def counting(self, token, ttl=None):
        calls.append(token)
        return decrypt(self, token, ttl)

    monkeypatch.setattr(Fernet, "decrypt", counting)
    await auth.login_as("alice")
    calls.clear()
    for _ in range(3):
        page = await (await client.get("/")).text()
        assert "Log out" in page
    assert len(calls) == 1


async def test_undecodable_bytes_in_the_cookie_are_an_anonymous_visit(client):
    """aiohttp hands undecodable header bytes over as surrogates: no 500, a visitor."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        writer.write(b"Cookie: www_session=caf\xe9\xff; other=1\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b"Log in" in answer
