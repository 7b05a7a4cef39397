"""Publish/subscribe between requests, so views don't need to know who listens.

`InProcessPubSub` fans messages out to subscribers in this process: enough for one
server process. Several workers need a shared broker (PostgreSQL LISTEN/NOTIFY, Redis)
behind the same two methods.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any


class Subscription:
    """Messages of one channel for one listener, in a bounded queue.

    A listener that falls `max_pending` messages behind loses the oldest ones: a slow
    client never makes a publisher wait.
    """

    def __init__(self, max_pending: int) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(max_pending)
        self.dropped = 0

    def put(self, message: Any) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)

    async def get(self) -> Any:
        return await self.queue.get()


class InProcessPubSub:
    def __init__(self, max_pending: int = 100) -> None:
        self.max_pending = max_pending
        self._channels: dict[str, set[Subscription]] = defaultdict(set)

    async def publish(self, channel: str, message: Any) -> int:
        """Hand `message` to every subscriber of `channel`; returns how many got it."""
        subscribers = self._channels.get(channel, ())
        for subscription in subscribers:
            subscription.put(message)
        return len(subscribers)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        """`async with pubsub.subscribe("post:1") as sub: message = await sub.get()`."""
        subscription = Subscription(self.max_pending)
        self._channels[channel].add(subscription)
        try:
            yield subscription
        finally:
            self._channels[channel].discard(subscription)
            if not self._channels[channel]:
                del self._channels[channel]

    def subscribers(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))
