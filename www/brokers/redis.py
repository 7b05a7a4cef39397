"""The Redis broker (`redis.url` set): live comments between processes on any machines.

    publish   once the caller's transaction has committed (db.after_commit), PUBLISH the
              message on one channel, `<redis.key_prefix>:live`. A rolled-back comment is
              never announced. A process publishes one message at a time, so its own
              comments go out in the order they committed, before their request answers.
    deliver   each process keeps one subscribed connection; its task hands every message
              to the process's own subscribers.
    recover   when Redis goes away (a restart, a failover), the process subscribes again
              with back-off (www/brokers/base.py). Redis pub/sub keeps nothing, so comments
              published while a process was away never reach its sockets (their pages show
              them on reload); everything published once it is back does.

redis-py's own retries are turned off: a PUBLISH that timed out may have reached Redis,
and sending it again could show a comment twice.
"""

import asyncio
import json
import logging
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..db import BaseDatabase
from ..settings import LiveSettings, RedisSettings
from .base import Broker, cancel, listening, stay_connected

log = logging.getLogger(__name__)

ERRORS = (RedisError, OSError)  # redis-py's ConnectionError and TimeoutError are RedisErrors


def without_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


class RedisBroker(Broker):
    """The PubSub methods (www/pubsub.py) across processes, through Redis pub/sub."""

    KEEPALIVE = 10.0  # seconds: a subscription that stays quiet is asked PING

    def __init__(
        self,
        db: BaseDatabase,
        settings: RedisSettings,
        live: LiveSettings,
        max_pending: int = 100,
    ) -> None:
        super().__init__(max_pending)
        self.db, self.settings, self.live = db, settings, live
        self.channel = f"{settings.key_prefix}:live"
        self.location = without_password(settings.url)  # for messages
        self.client = redis.Redis.from_url(
            settings.url,
            socket_timeout=settings.timeout,
            socket_connect_timeout=settings.timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._sending = asyncio.Lock()  # one PUBLISH at a time: in commit order
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Fail start-up if Redis cannot be reached (a wrong URL is a mistake to report);
        later losses are waited out."""
        if self._task is not None:
            raise RuntimeError("the broker is already started")
        try:
            await self.client.ping()
        except ERRORS as exc:
            await self.client.aclose()
            raise ConnectionError(f"cannot reach Redis at {self.location}: {exc}") from exc
        try:
            self._task = await listening(self._listen, "broker-listen", self.settings.timeout)
        except BaseException:
            await self.client.aclose()
            raise

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        await self.client.aclose()

    async def publish(self, channel: str, message: Any) -> None:
        payload = json.dumps([channel, message], ensure_ascii=False, separators=(",", ":"))
        await self.db.after_commit(lambda: self._send(payload))

    async def _send(self, payload: str) -> None:
        async with self._sending:
            try:
                await self.client.publish(self.channel, payload)
            except ERRORS as exc:  # the comment is saved; only its live copy is lost
                log.warning("Live: could not publish to Redis at %s (%s)", self.location, exc)

    async def _listen(self, ready: asyncio.Future) -> None:
        async def session(connected: Any) -> None:
            # Subscription replies and PONGs are read too: None then only means "quiet".
            async with self.client.pubsub() as pubsub:
                await pubsub.subscribe(self.channel)
                # After a Redis restart the pool's idle connections still lead to the old
                # server, and the next PUBLISH on one would be lost: let them go.
                await self.client.connection_pool.disconnect(inuse_connections=False)
                if not ready.done():
                    ready.set_result(None)
                connected()
                while True:
                    message = await pubsub.get_message(timeout=self.KEEPALIVE)
                    if message is None:  # quiet: is the server still there?
                        await pubsub.ping()
                    elif message["type"] == "message":
                        self._deliver(message["data"])
                        await asyncio.sleep(0)  # let the sockets' senders take it

        await stay_connected(f"Redis at {self.location}", session, ERRORS, self.live.reconnect_max)

    def _deliver(self, data: str) -> None:
        try:
            channel, message = json.loads(data)
        except (ValueError, TypeError):  # not published by a broker of this app
            log.error("Live: a message on Redis %s is not ours: %.100r", self.channel, data)
            return
        self.local.deliver(channel, message)
