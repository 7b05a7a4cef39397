"""The rate limiter itself (www/limiter.py, www/ratelimit_storage.py): the bounded memory
storage under 100,000 client addresses, Retry-After to the second, the wait in words;
and Redis: one budget shared by two apps ("processes"), failing open when Redis is down.
"""

import logging
import tracemalloc

import limits
import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from tests.conftest import Auth, GuardedTestServer, overrides_for, with_tables
from tests.helpers import FakeClock, error_of, send
from www import CONFIG
from www.app import create_app
from www.keys import RATE_LIMITS
from www.limiter import RateLimited, RateLimits, in_words
from www.ratelimit_storage import BoundedMemoryStorage
from www.ratelimits import check, client_address, hit
from www.ratelog import RateLimitedLog
from www.settings import load_settings

ADDRESSES = 100_000
MAX_KEYS = 20_000
BYTES_PER_KEY = 400  # measured: about 290 (key text, two dict entries, a heap entry)
LOGIN_ADDRESS = limits.parse("20 per minute")


def address(n: int) -> str:
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def key(n: int) -> str:
    return LOGIN_ADDRESS.key_for(address(n))


async def test_memory_stays_bounded_with_100000_client_addresses(record_property):
    """A flood from 100,000 addresses in 10 seconds, hitting the storage directly (as
    the limiter does): never more than max_keys counters, and their memory with them."""
    clock = FakeClock()
    storage = BoundedMemoryStorage(MAX_KEYS, clock=clock)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(ADDRESSES):
            assert await storage.acquire_sliding_window_entry(key(n), 20, 60)
            if n % 1000 == 0:
                clock.advance(0.1)
                assert len(storage) <= MAX_KEYS
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(storage) == MAX_KEYS
    assert len(storage._heap) <= 2 * MAX_KEYS + 1024
    assert used < MAX_KEYS * BYTES_PER_KEY, used
    record_property("figure", f"{used / MAX_KEYS:.0f} bytes per counter kept")
    # The oldest counters went first (nearest to expiring); the newest still count.
    assert (await storage.get_sliding_window(key(ADDRESSES - 1), 60))[2] == 1
    assert (await storage.get_sliding_window(key(0), 60))[2] == 0


async def test_expired_counters_go_as_the_clock_moves():
    clock = FakeClock()
    storage = BoundedMemoryStorage(MAX_KEYS, clock=clock)
    limiter = SlidingWindowCounterRateLimiter(storage)
    for n in range(1000):
        await limiter.hit(LOGIN_ADDRESS, address(n))
    assert len(storage) == 1000
    clock.advance(2 * 60 + 1)  # past every counter's expiry (twice the window)
    for n in range(1000, 2000):
        await limiter.hit(LOGIN_ADDRESS, address(n))
    assert len(storage) == 1000  # each call dropped a few of the old ones: all gone
    assert len(storage._heap) == 1000


async def test_a_limit_counts_again_once_its_window_has_passed():
    clock = FakeClock()
    limiter = SlidingWindowCounterRateLimiter(BoundedMemoryStorage(1000, clock=clock))
    item = limits.parse("3 per minute")
    assert [await limiter.hit(item, "k") for _ in range(4)] == [True, True, True, False]
    clock.advance(121)
    assert [await limiter.hit(item, "k") for _ in range(4)] == [True, True, True, False]


async def test_the_memory_storage_keeps_limits_storage_contract():
    """What limits' other strategies and its clear() call, besides the sliding window."""
    clock = FakeClock()
    storage = BoundedMemoryStorage(1000, clock=clock)
    assert await storage.check()
    assert await storage.incr("k", 10) == 1 and await storage.incr("k", 10, 2) == 3
    assert await storage.get_expiry("k") == clock() + 10
    assert await storage.decr("k") == 2 and await storage.get("k") == 2
    clock.advance(10)
    assert await storage.get("k") == 0 and await storage.decr("k") == 0
    assert await storage.get_expiry("k") == clock()  # none: now
    await storage.incr("k", 10)
    await storage.clear("k")
    assert await storage.get("k") == 0
    limiter = SlidingWindowCounterRateLimiter(storage)
    item = limits.parse("2 per minute")
    assert not await limiter.hit(item, "a", cost=3)  # more than the limit at once
    assert await limiter.hit(item, "a") and await limiter.hit(item, "a")
    assert not await limiter.hit(item, "a")
    await limiter.clear(item, "a")
    assert await limiter.hit(item, "a")
    assert await storage.reset() == 1 and len(storage) == 0


async def test_stale_heap_entries_do_not_pile_up():
    """Counters cleared before they expire leave their heap entries behind: rebuilt."""
    storage = BoundedMemoryStorage(1000, clock=FakeClock())
    for n in range(5000):
        await storage.incr(f"k{n}", 60)
        await storage.clear(f"k{n}")
    assert len(storage) == 0 and len(storage._heap) <= 1024 + 1


def memory_limits(clock, **rates) -> RateLimits:
    overrides = {"rate_limits": rates, "logging": {"level": "WARNING"}}
    config = load_settings(overrides=overrides, environ={})
    rate_limits = RateLimits(config, RateLimitedLog(logging.getLogger("test")))
    rate_limits.storage.clock = clock
    return rate_limits


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from(["5 per 5 minutes", "20 per minute", "3 per hour", "1 per second"]),
    start=st.floats(0, 3600),
    steps=st.lists(st.floats(0, 400), min_size=1, max_size=40),
)
async def test_retry_after_is_exact_to_the_second(rate, start, steps):
    """Refused with Retry-After R: still refused R - 1 seconds later, let in after R."""
    clock = FakeClock(FakeClock.START + start)
    rate_limits = memory_limits(clock, comment_user=rate)
    for step in steps:
        clock.advance(step)
        try:
            await rate_limits.hit("comment_user", "alice")
        except RateLimited as refused:
            assert refused.retry_after >= 1
            assert refused.headers["Retry-After"] == str(refused.retry_after)
            clock.advance(refused.retry_after - 1)
            if refused.retry_after > 1:
                with pytest.raises(RateLimited):
                    await rate_limits.check("comment_user", "alice")
            clock.advance(1)
            await rate_limits.check("comment_user", "alice")  # no longer refused


async def test_views_reach_the_apps_limits(app, clock):
    request = make_mocked_request("POST", "/", app=app)
    await hit(request, "comment_user", "alice")
    await check(request, "comment_user", "alice")
    for _ in range(limits.parse(app[CONFIG].rate_limits.comment_user).amount - 1):
        await hit(request, "comment_user", "alice")
    with pytest.raises(RateLimited) as refused:
        await check(request, "comment_user", "alice")
    assert refused.value.text == "Too many attempts. Try again in 1 minute."


async def test_limits_of_the_same_rate_keep_their_own_counters(app, clock):
    """login_address and bearer_failure_address are both 20 a minute by default: using
    one up for an address leaves the other whole."""
    request = make_mocked_request("POST", "/", app=app)
    limits_of = app[CONFIG].rate_limits
    assert limits_of.login_address == limits_of.bearer_failure_address
    for _ in range(limits.parse(limits_of.login_address).amount):
        await hit(request, "login_address", "10.0.0.1")
    with pytest.raises(RateLimited):
        await check(request, "login_address", "10.0.0.1")
    await check(request, "bearer_failure_address", "10.0.0.1")
    await hit(request, "bearer_failure_address", "10.0.0.1")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (301, "5 minutes"),
     (3599, "60 minutes"), (7200, "2 hours"), (86400, "24 hours")],
)  # fmt: skip
def test_waits_in_words(seconds, words):
    assert in_words(seconds) == words


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # IPv4 on a dual-stack socket: the same client
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # a whole /64 is one home or server
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        (None, "unknown"),  # a Unix socket
    ],
)
def test_client_address_keys(remote, key):
    request = make_mocked_request("GET", "/")
    request = request.clone(remote=remote) if remote else request
    assert client_address(request) == key


# Redis: every process and machine shares the budget. (Expiry is Redis's own clock: it
# is tested on the memory storage above, with the fake clock.)


def redis_settings(tmp_path, db_url, url: str):
    overrides = overrides_for(tmp_path, db_url)
    overrides["redis"] = {"url": url, "key_prefix": "test", "timeout": 1.0}
    return load_settings(overrides=overrides, environ={})


async def serve(aiohttp_client, config) -> Auth:
    app = with_tables(create_app(config))
    return Auth(await aiohttp_client(GuardedTestServer(app)), app)


async def test_two_apps_share_one_budget_through_redis(
    aiohttp_client, tmp_path, db_url, redis_server
):
    config = redis_settings(tmp_path, db_url, redis_server.url)
    first = await serve(aiohttp_client, config)
    second = await serve(aiohttp_client, config)  # another process on the same database
    await first.create_user("alice")
    budget = limits.parse(config.rate_limits.login_account).amount
    for n in range(budget):  # the failures, split between the two processes
        resp = await (first, second)[n % 2].login(password="wrong horse")
        assert resp.status == 400
    for auth in (first, second):
        resp = await auth.login(password="correct horse")
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 301
        assert "unlocks by itself" in await resp.text()
    wrong = {"email": "alice@example.com", "password": "wrong horse"}
    error = await error_of(await send(second.client, "POST", "/api/session", wrong), 429)
    assert "locked" in error["message"]
    assert (await first.login("bob@example.com", "x")).status == 400  # others: not locked


async def test_the_redis_keys_carry_the_key_prefix(aiohttp_client, tmp_path, db_url, redis_server):
    config = redis_settings(tmp_path, db_url, redis_server.url)
    auth = await serve(aiohttp_client, config)
    await auth.login(password="wrong horse")
    client = auth.app[RATE_LIMITS].storage.bridge.get_connection()
    keys = [key.decode() async for key in client.scan_iter("*")]
    assert keys and all(key.startswith("test:limits:") for key in keys), keys


async def test_redis_down_lets_requests_through_and_logs_one_warning(
    aiohttp_client, tmp_path, db_url, redis_server, caplog
):
    config = redis_settings(tmp_path, db_url, redis_server.url)
    auth = await serve(aiohttp_client, config)
    await auth.create_user("alice")
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="www.limits"):
        budget = limits.parse(config.rate_limits.login_account).amount
        for _ in range(budget + 2):  # more failures than the account allows: not counted
            assert (await auth.login(password="wrong horse")).status == 400
        assert (await auth.login(password="correct horse")).status == 303
    warnings = [r for r in caplog.records if r.name == "www.limits"]
    assert len(warnings) == 1, caplog.text  # at most one line a minute
    assert "letting requests through" in warnings[0].getMessage()
    assert "Traceback" not in caplog.text


async def test_redis_unreachable_at_start_up_is_logged_not_fatal(caplog):
    config = load_settings(
        overrides={"redis": {"url": "redis://127.0.0.1:9/0", "timeout": 0.5}}, environ={}
    )
    rate_limits = RateLimits(config, RateLimitedLog(logging.getLogger("www.limits")))
    with caplog.at_level(logging.WARNING, logger="www.limits"):
        await rate_limits.open()
        assert "cannot reach Redis at redis://127.0.0.1:9/0" in caplog.text
        await rate_limits.hit("login_address", "192.0.2.1")  # let through
        await rate_limits.check("login_account", "alice@example.com")
    await rate_limits.close()
