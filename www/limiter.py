"""Rate limits: how often a client address, an account or a user may try something.

`RateLimits` (app[RATE_LIMITS], made by create_app from `rate_limits` in
config/default.yaml, where each rate is given in the words of the `limits` library: "5
per 5 minutes") counts attempts per name and key; over a limit it raises RateLimited, a
429 with Retry-After and the wait in words. Views use it through www/ratelimits.py.

The strategy is limits' sliding window counter: two counters per key (this window and the
previous one, weighted by how much of it is still in reach), so memory is O(keys), not
O(hits) as a moving window's timestamps would be. The counters are in Redis when
redis.url is set, shared by every process and machine; else in this process's memory
(www/ratelimit_storage.py: bounded by rate_limits.max_keys).

When the storage fails (Redis down or slow), the limits fail open: the request goes
through, and a warning is logged (at most one a minute, app[LIMITS_LOG]); never a 500.
Refusing every login, post and comment while Redis restarts would turn its outage into
the site's. Meanwhile only the password hashing (slow on purpose, with a bounded queue)
slows guessing down, so the warning is worth an alert.
"""

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import limits
from aiohttp import web
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .brokers.redis import without_password
from .ratelimit_storage import BoundedMemoryStorage
from .ratelog import RateLimitedLog
from .settings import Settings

DEFAULT_MESSAGE = "Too many attempts. Try again in {wait}."
MESSAGES = {  # name -> what a refused request is told
    "login_account": "This account is locked after too many failed logins. It unlocks by "
    "itself in {wait}.",
}
T = TypeVar("T")
FAILURES = (StorageError, OSError, TimeoutError)  # the storage is unreachable or slow


class RateLimited(web.HTTPTooManyRequests):
    """429 with Retry-After (whole seconds, at least 1) and the wait in words; the error
    page (www/middlewares.py) shows the message, the API sends it as its JSON error."""

    def __init__(self, name: str, retry_after: int) -> None:
        self.name, self.retry_after = name, retry_after
        message = MESSAGES.get(name, DEFAULT_MESSAGE).format(wait=in_words(retry_after))
        super().__init__(text=message, headers={"Retry-After": str(retry_after)})


def in_words(seconds: int) -> str:
    """A wait as people say it, to the nearest unit: "1 second", "5 minutes", "2 hours"
    (Retry-After has the exact seconds)."""
    if seconds < 60:
        amount, unit = seconds, "second"
    elif seconds < 2 * 3600:
        amount, unit = round(seconds / 60), "minute"
    else:
        amount, unit = round(seconds / 3600), "hour"
    return f"{amount} {unit}{'' if amount == 1 else 's'}"


class RateLimits:
    """The limits of `rate_limits` over one storage; on the app as app[RATE_LIMITS]."""

    def __init__(self, config: Settings, log: RateLimitedLog) -> None:
        settings, self.log = config.rate_limits, log
        self.items = {
            name: limits.parse(getattr(settings, name))
            for name in type(settings).model_fields
            if name != "max_keys"
        }
        self.timeout = config.redis.timeout
        self.pool: ConnectionPool | None = None
        self.storage: Storage
        if config.redis.url:
            self.location = without_password(config.redis.url)
            # Our own pool: closed at cleanup; no retries (a failure fails open at once).
            self.pool = ConnectionPool.from_url(
                config.redis.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),
            )
            self.storage = RedisStorage(
                f"async+{config.redis.url}",
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=f"{config.redis.key_prefix}:limits",
                connection_pool=self.pool,
            )
        else:
            self.location = "memory"
            self.storage = BoundedMemoryStorage(settings.max_keys, clock=time.time)
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)
        self._turns: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}

    async def hit(self, name: str, key: str) -> None:
        """Count one attempt of `name` for `key`; RateLimited when none is left."""
        item = self.items[name]
        if await self._ask(lambda: self.limiter.hit(item, name, key)) is False:
            raise RateLimited(name, await self.retry_after(item, name, key))

    async def check(self, name: str, key: str) -> None:
        """RateLimited if `name` is used up for `key`; counts nothing."""
        item = self.items[name]
        if await self._ask(lambda: self.limiter.test(item, name, key)) is False:
            raise RateLimited(name, await self.retry_after(item, name, key))

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, name: str, key: str) -> AsyncIterator[None]:
        """Run the block for one (name, key) at a time in this process. For a check that
        is counted only after slow work (a failed login, after its hashing): without
        it, many concurrent attempts would all pass the check before the first failure
        is counted. Each waits its turn, then checks the count its predecessors left."""
        lock, users = self._turns.setdefault((name, key), (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._turns[name, key]

    async def retry_after(self, item: limits.RateLimitItem, name: str, key: str) -> int:
        """Whole seconds until one more attempt of `name` for `key` is let through (>= 1)."""
        expiry = item.get_expiry()
        counter = item.key_for(name, key)  # two limits of one rate never share a counter
        window = await self._ask(lambda: self.storage.get_sliding_window(counter, expiry))
        return 1 + math.floor(wait(item, *window)) if window else expiry

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """The storage's answer; None (let the request through) when it fails."""
        try:
            async with asyncio.timeout(self.timeout):
                return await call()
        except FAILURES as exc:
            self.log.warning(
                "rate-limit-storage",
                "Rate limits: the storage at %s failed (%r): letting requests through",
                self.location,
                exc,
            )
            return None

    async def open(self) -> None:
        """With Redis: log at start-up if it cannot be reached (the limits fail open)."""
        if self.pool is not None and await self._ask(self.storage.check) is False:
            self.log.warning(
                "rate-limit-storage",
                "Rate limits: cannot reach Redis at %s: letting requests through until it answers",
                self.location,
            )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()


def wait(
    item: limits.RateLimitItem, previous: int, previous_ttl: float, current: int, current_ttl: float
) -> float:
    """Seconds until the weighted count drops below the limit. limits' sliding window
    counts previous * previous_ttl / expiry + current: the previous window's weight fades
    out as the current window ends, and the current one then fades as the previous."""
    expiry, amount = item.get_expiry(), item.amount
    if current < amount:  # the previous window's weight has to fade enough
        return max(0.0, previous_ttl - (amount - current) * expiry / previous) if previous else 0.0
    return max(0.0, current_ttl - expiry) + expiry * (1 - amount / current)
