"""Limits on connections that aiohttp's server does not have: read timeouts and a cap.

aiohttp accepts every connection and waits for a request as long as its keep-alive
timeout lets it, and for a request's body forever; 1,100 idle connections took a process
past its 1,024 open files. Here, per process:

- `server.header_timeout`: a connection must send its first request head within that
  many seconds of connecting. (The head of each later request must be complete within
  `server.keepalive_timeout` of the previous response: aiohttp's own keep-alive timer.)
- `server.body_timeout`: while a handler waits for a body, a client that sends nothing
  for that long is disconnected. When the server itself is slow to read (its buffer is
  full, so aiohttp paused the socket), the clock does not run.
- `server.max_connections`: at the cap, a new connection closes the oldest connection that
  has no request in progress (idle, or still sending its head), so that idle sockets can
  never lock out real clients; when every connection is busy, the new one is closed.

aiohttp builds its protocol (RequestHandler) in web.Server, with no hook for a subclass,
so GuardedRunner makes a GuardedServer instead: `python -m www` serves with it, and so
does the gunicorn worker in www/worker.py. The app's handler_args (keepalive_timeout,
the access log class) reach both as they reach any runner.
"""

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web

from . import protocol
from .keys import CONFIG, LIMITS_LOG
from .ratelog import RateLimitedLog
from .settings import ServerSettings

log = logging.getLogger(__name__)

FD_RESERVE = 100  # open files kept for the database, logs, uploads and the listener


def connection_cap(configured: int) -> int:
    """`server.max_connections`, lowered below the process's open-file limit if needed."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or configured <= soft - FD_RESERVE:
        return configured
    cap = max(soft - FD_RESERVE, 1)
    log.warning(
        "server.max_connections is %d but the open-file limit is %d: capping at %d",
        configured,
        soft,
        cap,
    )
    return cap


class GuardedServer(web.Server):
    """aiohttp's Server (the protocol factory), making GuardedRequestHandlers."""

    def __init__(self, plain: web.Server, limits: ServerSettings, limits_log: RateLimitedLog):
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,  # handler_args and the runner's options, as aiohttp made them
        )
        self.limits, self.limits_log = limits, limits_log
        self.max_connections = connection_cap(limits.max_connections)
        self.open: set[GuardedRequestHandler] = set()  # admitted, not yet closing

    def __call__(self) -> "GuardedRequestHandler":
        return GuardedRequestHandler(self, loop=self._loop, **self._kwargs)

    def admit(self, handler: "GuardedRequestHandler") -> bool:
        """Make room for a new connection; False when every connection is busy."""
        if len(self.open) >= self.max_connections:
            victim = next((h for h in self.open_oldest_first() if h.idle), None)
            what = "closing the oldest idle connection" if victim else "refusing new ones"
            self.limits_log.warning(
                "connections",
                "server.max_connections (%d) reached: %s",
                self.max_connections,
                what,
            )
            if victim is None:
                return False
            victim.close_now()
        self.open.add(handler)
        return True

    def open_oldest_first(self):
        # Server._connections is in the order the connections were made.
        return (h for h in self._connections if h in self.open)


class GuardedRequestHandler(web.RequestHandler):
    """aiohttp's protocol with header and body read timeouts, counted by its server, and
    its own errors (unparsable requests) answered and logged as the app's (www/protocol.py).

    One timer per connection, like aiohttp's keep-alive timer: `_deadline` moves as
    bytes arrive, and the timer, when it fires before it, just sets itself again; when
    the deadline has passed, it checks what is late (a head, or a body being waited for).
    """

    handle_error = protocol.handle_error
    log_exception = protocol.log_exception

    def __init__(self, manager: GuardedServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = manager
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def idle(self) -> bool:
        """No request being handled: between two requests, or before the first one."""
        return not self._request_in_progress

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard.admit(self):
            transport.abort()
            self._manager = None  # never registered: connection_lost has nothing to undo
            return
        super().connection_made(transport)
        self._arm(self._guard.limits.header_timeout)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.open.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if data and self._request_count:  # a head has arrived: bytes are body from now on
            self._arm(self._guard.limits.body_timeout)

    def close_now(self) -> None:
        self._guard.open.discard(self)
        self.force_close()

    def _arm(self, timeout: float) -> None:
        self._deadline = self._loop.time() + timeout
        if self._timer is not None and self._timer.when() > self._deadline:
            self._timer.cancel()  # a shorter timeout than the one it was set for
            self._timer = None
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._check)

    def _check(self) -> None:
        self._timer = None
        if self.transport is None or self._force_close:
            return
        if self._loop.time() < self._deadline:  # bytes came since it was set
            self._timer = self._loop.call_at(self._deadline, self._check)
            return
        if self._request_count == 0:
            self._drop("header", "no complete request head within server.header_timeout")
            return
        request = self._current_request
        # A body still expected, and the server ready for it (not paused because its
        # buffer is full): the client has sent nothing for body_timeout seconds.
        if request is not None and not request.content.is_eof() and not self._reading_paused:
            self._drop("body", "no byte of the request body within server.body_timeout")
        # Otherwise there is nothing to wait for: the next bytes set the timer again.

    def _drop(self, kind: str, why: str) -> None:
        self._guard.limits_log.info(kind, "Closing a slow connection from %s: %s", self.peer, why)
        self.close_now()

    @property
    def peer(self) -> str:
        peername = self.peername
        return str(peername[0]) if isinstance(peername, tuple) else str(peername)


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server guards its connections (the app's server.* settings)."""

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # the app's start-up, and its handler_args
        return GuardedServer(plain, self.app[CONFIG].server, self.app[LIMITS_LOG])
