"""The client's HTTP layer: one aiohttp ClientSession with its timeouts and the bearer
token, retries with back-off where they are safe, and error answers raised as exceptions.

Retried (at most `Retry.attempts` tries in all, each wait capped):
- a GET (or HEAD) whose connection fails or breaks, or that times out: reading twice
  changes nothing;
- a GET answered 429 or 503, after the Retry-After it names, else after a back-off;
- any other method answered 429 or 503 *with* Retry-After: the server says it refused the
  request without doing it. A POST is never sent again after a broken connection or a
  timeout, since it may have been done: the caller decides.
A Retry-After longer than `Retry.max_wait` is not waited for: the error is raised at once,
its `retry_after` set, rather than blocking a program for an hour.
"""

import asyncio
import json as jsonlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp

from .errors import ApiError, ConnectionFailed, Timeout, TransportError, error_for

T = TypeVar("T")
IDEMPOTENT = frozenset({"GET", "HEAD"})
RETRIED_STATUSES = frozenset({429, 503})
MAX_ERROR_BODY = 64 * 1024  # bytes of an error answer read: a proxy's page may be large


@dataclass(frozen=True)
class Retry:
    """When and how long the client retries (see the module's docstring)."""

    attempts: int = 4  # tries in all, the first included (1: never retry)
    backoff: float = 0.5  # seconds before the second try without Retry-After; doubles
    max_backoff: float = 10.0  # the most a back-off grows to
    max_wait: float = 60.0  # the longest Retry-After waited for; longer: raise at once

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None to give up now."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter: clients do not retry in step


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds, or an HTTP date (None if neither)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time()) if when.tzinfo else None


Handler = Callable[[aiohttp.ClientResponse], Awaitable[T]]


class Http:
    """Requests to the API at `url` (the site's root, e.g. https://blog.example.com)."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: aiohttp.ClientTimeout,
        retry: Retry,
        user_agent: str,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout, self.retry = timeout, retry
        self.headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise RuntimeError("Use the client inside `async with Client(...) as api:`")
        return self._session

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout, headers=self.headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def json(self, method: str, path: str, **kwargs: Any) -> bytes:
        """The body of a successful answer (b"" for a 204): the caller validates it."""
        return await self.send(method, path, read_body, **kwargs)

    async def send(
        self,
        method: str,
        path: str,
        handle: Handler[T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Callable[[], Any] | None = None,
        timeouts: aiohttp.ClientTimeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """`handle(response)` of a successful answer, retrying as the module says; an error
        answer raises its ApiError, no answer a TransportError. `data` makes the body of
        each try (a streamed payload is read once)."""
        url = self.url + path
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        for attempt in range(1, self.retry.attempts + 1):
            options = {"timeout": timeouts} if timeouts else {}
            try:
                body = data() if data else None
                async with self.session.request(
                    method, url, params=query, json=json, data=body, headers=headers, **options
                ) as resp:
                    if resp.status < 400:
                        return await handle(resp)
                    error = await _error(resp)
            except ApiError:
                raise
            except TimeoutError as exc:  # aiohttp's timeouts (connect, sock_read, total)
                error = Timeout(f"{method} {path}: no answer in time ({_name(exc)})")
            except (aiohttp.ClientError, OSError) as exc:
                error = ConnectionFailed(f"{method} {path}: {_name(exc)}: {exc}".rstrip(": "))
            wait = self._delay(method, attempt, error)
            if wait is None:
                raise error
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # the last attempt raises

    def _delay(self, method: str, attempt: int, error: Exception) -> float | None:
        if isinstance(error, TransportError):
            return self.retry.delay(attempt, None) if method in IDEMPOTENT else None
        assert isinstance(error, ApiError)
        if error.status not in RETRIED_STATUSES:
            return None
        if method not in IDEMPOTENT and error.retry_after is None:
            return None  # done or not: only the server's Retry-After says it was not
        return self.retry.delay(attempt, error.retry_after)


async def read_body(resp: aiohttp.ClientResponse) -> bytes:
    return await resp.read()


async def _error(resp: aiohttp.ClientResponse) -> ApiError:
    raw = await resp.content.read(MAX_ERROR_BODY)
    try:
        body = jsonlib.loads(raw)
    except ValueError:
        body = None
    return error_for(resp.status, body, retry_after_seconds(resp.headers.get("Retry-After")))


def _name(exc: BaseException) -> str:
    return type(exc).__name__
