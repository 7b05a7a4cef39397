"""Rate limits in the views: `hit`, `check` and the client's address key.

    await hit(request, "comment_user", str(user.id))   # one attempt; 429 when over
    await check(request, "login_account", key)          # 429 if used up; counts nothing

The names are the keys of `rate_limits` in config/default.yaml. Over a limit they raise
RateLimited: a 429 with Retry-After and the wait in words, shown on the error page (or
as the API's JSON error). The limits themselves, their storage (memory or Redis) and why
they fail open are in www/limiter.py.
"""

from collections.abc import AsyncIterator
from ipaddress import IPv6Address, IPv6Network

from aiohttp import web

from .keys import RATE_LIMITS
from .limiter import RateLimited, RateLimits
from .proxy import parse_address

__all__ = ["RateLimited", "RateLimits", "check", "client_address", "hit", "rate_limits_ctx"]


async def rate_limits_ctx(app: web.Application) -> AsyncIterator[None]:
    await app[RATE_LIMITS].open()
    yield
    await app[RATE_LIMITS].close()


def client_address(request: web.Request) -> str:
    """The key of the client's address: the peer's, or the one a trusted proxy gave
    (www/proxy.py has already put it in request.remote; a header from an untrusted client
    is never read). An IPv6 client commonly holds a whole /64 (one home or one server),
    so its addresses count as one."""
    address = parse_address(request.remote or "")
    if address is None:
        return "unknown"  # a Unix socket: no address to tell clients apart
    if isinstance(address, IPv6Address):
        return str(IPv6Network((address, 64), strict=False))
    return str(address)


async def hit(request: web.Request, name: str, key: str) -> None:
    """Count one attempt of `name` (a key of rate_limits) for `key`; over the limit,
    raises RateLimited (429, Retry-After)."""
    await request.config_dict[RATE_LIMITS].hit(name, key)


async def check(request: web.Request, name: str, key: str) -> None:
    """Raise RateLimited if `name` is already used up for `key`, counting nothing."""
    await request.config_dict[RATE_LIMITS].check(name, key)
