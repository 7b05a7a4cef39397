"""Publish/subscribe between requests, so views don't need to know who listens.

`PubSub` is what the application asks of a broker. Every broker fans messages out to
this process's subscribers with an `InProcessPubSub`; what differs is how a message
reaches the other processes:

- `InProcessPubSub` alone does not: enough for tests and for one server process.
- The application's brokers (www/brokers/) go through Redis, or through the database
  (a table on SQLite, LISTEN/NOTIFY on PostgreSQL), so that every process hears them.
"""

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class Subscription:
    """Messages of one channel for one listener, in a bounded queue.

    A listener that falls `max_pending` messages behind loses the oldest ones: a slow
    client never makes a publisher wait.
    """

    def __init__(self, max_pending: int, encode: Callable[[Any], str] = json.dumps) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(max_pending)
        self.dropped = 0
        self._encode = encode

    def put(self, message: Any) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)

    async def get(self) -> Any:
        return await self.queue.get()

    async def get_json(self) -> str:
        """The next message as JSON text: encoded once for all the subscribers of this
        process that receive it (a comment on a post that 1,000 sockets follow)."""
        return self._encode(await self.queue.get())


class PubSub(Protocol):
    """A broker, as the application uses it (app[PUBSUB])."""

    async def start(self) -> None:
        """At application start-up (a cleanup context in www/app.py), database open."""

    async def stop(self) -> None:
        """At application cleanup, before the database closes."""

    async def publish(self, channel: str, message: Any) -> None:
        """Send `message` (JSON-serialisable) to every subscriber of `channel`, in every
        process. Called inside `async with db.transaction()`, it is sent only if and when
        that transaction commits (the in-process broker alone sends it at once)."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """`async with pubsub.subscribe("post:1") as sub: message = await sub.get()`."""

    def subscribers(self, channel: str) -> int:
        """How many subscribers `channel` has in this process."""


class InProcessPubSub:
    """Fans messages out to the subscribers of this process (the PubSub methods, and
    `deliver`, which brokers call for each message that reaches this process)."""

    def __init__(self, max_pending: int = 100) -> None:
        self.max_pending = max_pending
        self._channels: dict[str, set[Subscription]] = defaultdict(set)
        self._last: tuple[Any, str] | None = None  # the last message encoded, and its text

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, channel: str, message: Any) -> None:
        self.deliver(channel, message)

    def deliver(self, channel: str, message: Any) -> int:
        """Hand `message` to every subscriber of `channel` now; returns how many got it."""
        subscribers = self._channels.get(channel, ())
        for subscription in subscribers:
            subscription.put(message)
        return len(subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(self.max_pending, self._encode)
        self._channels[channel].add(subscription)
        try:
            yield subscription
        finally:
            self._channels[channel].discard(subscription)
            if not self._channels[channel]:
                del self._channels[channel]

    def subscribers(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    def _encode(self, message: Any) -> str:
        """json.dumps(message), once per message delivered: every subscriber gets the same
        object, one after another (the message is kept, so its identity is not reused)."""
        if self._last is None or self._last[0] is not message:
            self._last = (message, json.dumps(message))
        return self._last[1]
