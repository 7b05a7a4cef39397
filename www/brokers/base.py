"""What the brokers share: this process's subscribers, and staying connected.

A broker (www/pubsub.py's PubSub) carries messages between processes; once a message
reaches a process, `Broker.local` hands it to that process's subscribers, each with a
bounded queue, so a slow socket only ever delays itself.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from ..pubsub import InProcessPubSub, Subscription

log = logging.getLogger(__name__)

FIRST_RETRY = 0.1  # seconds before the first reconnection; doubled after each failure


class Broker:
    """The subscriber side of every broker; subclasses add start, stop and publish."""

    def __init__(self, max_pending: int = 100) -> None:
        self.local = InProcessPubSub(max_pending)  # this process's subscribers

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        return self.local.subscribe(channel)

    def subscribers(self, channel: str) -> int:
        return self.local.subscribers(channel)


async def cancel(*tasks: asyncio.Task | None) -> None:
    """Cancel the tasks (None: none) and wait until each has ended."""
    for task in tasks:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def listening(
    listen: Callable[[asyncio.Future], Awaitable[None]], name: str, within: float
) -> asyncio.Task:
    """Start `listen(ready)` as a task, and return it once it has set `ready`: from then on
    no message is missed. RuntimeError if it has not `within` seconds (start-up
    fails rather than hangs on a server that takes connections from the pool only)."""
    ready = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(listen(ready), name=name)
    await asyncio.wait([ready, task], timeout=within, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        await cancel(task)
        raise RuntimeError(f"could not listen for live comments within {within:g} s")
    return task


async def stay_connected(
    what: str,
    session: Callable[[Callable[[], None]], Awaitable[None]],
    errors: tuple[type[BaseException], ...],
    reconnect_max: float,
) -> None:
    """Run `session(connected)` again whenever it fails with one of `errors`, until
    cancelled: after FIRST_RETRY seconds, then twice as long after each failure, up to
    `reconnect_max`. The session calls `connected()` once it listens, which logs the
    recovery and resets the wait. Each failure is one line in the log, no traceback:
    a server that restarts is an event, not a bug."""
    delay, lost = FIRST_RETRY, False

    def connected() -> None:
        nonlocal delay, lost
        if lost:
            log.warning("Live: listening to %s again", what)
        delay, lost = FIRST_RETRY, False

    while True:
        try:
            await session(connected)
            reason = "the connection ended"
        except errors as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
        log.warning("Live: lost %s (%s); reconnecting in %.1f s", what, reason, delay)
        lost = True
        await asyncio.sleep(delay)
        delay = min(delay * 2, reconnect_max)
