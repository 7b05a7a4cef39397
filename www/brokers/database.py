"""The database broker: publish/subscribe between server processes, through one table.

    publish   INSERT a row into broker_messages (channel, JSON payload), in the caller's
              transaction: the message exists if and when what it announces is committed.
    deliver   each process runs one task that asks SQLite's `PRAGMA data_version` every
              `live.poll_interval` seconds. When it moved (a commit by any connection, in
              any process), the task reads the messages after the last one it delivered,
              in id order, and hands them to its own subscribers (www/pubsub.py).
    trim      as it goes, the task deletes messages older than `live.keep_seconds` or
              beyond the newest `live.keep_rows`, in a task of its own so a busy writer
              never holds up delivery.

SQLite has one writer at a time, so ids are handed out in commit order: reading "after the
last id seen" never skips a message that commits later with a smaller id. A process that
starts late begins after the newest message, so it never replays old ones. (A PostgreSQL
sequence makes no such promise: there, LISTEN/NOTIFY is the broker to write.)
"""

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

from .db import Database, DatabaseError
from .orm import DateTimeField, Model, TextField, utcnow
from .pubsub import InProcessPubSub, Subscription
from .settings import LiveSettings

log = logging.getLogger(__name__)


class BrokerMessage(Model):
    """A published message: read by every process, then trimmed."""

    channel = TextField(max_length=200)
    payload = TextField()  # the message as JSON
    created_at = DateTimeField(default=utcnow, index=True)  # the index serves the trimming


class DatabaseBroker:
    """The PubSub methods (www/pubsub.py) across processes, through `db`."""

    BATCH = 500  # messages read per query
    TRIM_EVERY = 5.0  # seconds between looks for messages to trim
    RETRY_AFTER = 1.0  # seconds to wait after the database failed to answer

    def __init__(self, db: Database, settings: LiveSettings, max_pending: int = 100) -> None:
        self.db, self.settings = db, settings
        self.local = InProcessPubSub(max_pending)  # this process's subscribers
        self.last_id: int | None = None  # of the last message delivered (set by start())
        self._task: asyncio.Task | None = None
        self._trimming: asyncio.Task | None = None

    async def start(self) -> None:
        """Begin after the newest message, and start polling."""
        if self._task is not None:
            raise RuntimeError("the broker is already started")
        try:
            newest = await BrokerMessage.select(self.db).order_by("-id").first()
        except DatabaseError as exc:
            raise DatabaseError(f"{exc} (init_db.py creates the tables)") from exc
        self.last_id = newest.id if newest else 0
        self._task = asyncio.create_task(self._run(), name="broker-poll")

    async def stop(self) -> None:
        for task in (self._task, self._trimming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._trimming = None

    async def publish(self, channel: str, message: Any) -> None:
        payload = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        await BrokerMessage.create(self.db, channel=channel, payload=payload)

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self.local.subscribe(channel)

    def subscribers(self, channel: str) -> int:
        return self.local.subscribers(channel)

    async def poll(self) -> int:
        """Deliver the messages committed since the last ones, in id order; how many."""
        if self.last_id is None:
            raise RuntimeError("the broker is not started")
        delivered = 0
        while True:  # ends: each batch moves last_id past rows that exist
            query = BrokerMessage.select(self.db).where(id__gt=self.last_id).order_by("id")
            batch = await query.limit(self.BATCH).all()
            for message in batch:
                if self.last_id and message.id != self.last_id + 1:  # ids have no holes
                    log.warning(
                        "Live messages %d to %d were trimmed before this process read them",
                        self.last_id + 1,
                        message.id - 1,
                    )
                self.last_id = message.id
                try:
                    payload = json.loads(message.payload)
                except ValueError:  # not written by publish(): skipped, never retried
                    log.error("Live message %d is not JSON: skipped", message.id)
                    continue
                self.local.deliver(message.channel, payload)
                delivered += 1
                # Let the sockets' senders take it: a batch longer than their queues
                # must not look like a slow client (which loses its oldest messages).
                await asyncio.sleep(0)
            if len(batch) < self.BATCH:
                return delivered

    async def trim(self) -> int:
        """Delete the messages older than keep_seconds or beyond the newest keep_rows this
        process has read; how many. Only a read when there are none: no write, so no
        process is woken for nothing."""
        if self.last_id is None:
            raise RuntimeError("the broker is not started")
        cutoff = utcnow() - timedelta(seconds=self.settings.keep_seconds)
        beyond = self.last_id - self.settings.keep_rows  # ids up to this one go
        oldest = await BrokerMessage.select(self.db).order_by("id").first()
        if oldest is None or (oldest.created_at >= cutoff and oldest.id > beyond):
            return 0
        async with self.db.transaction() as tx:
            old = await BrokerMessage.select(tx).where(created_at__lt=cutoff).delete()
            return old + await BrokerMessage.select(tx).where(id__lte=beyond).delete()

    async def _run(self) -> None:
        """The polling loop: until cancelled, through any database error."""
        loop = asyncio.get_running_loop()
        seen = None  # data_version when the messages were last read
        next_trim = loop.time() + self.TRIM_EVERY
        while True:
            try:
                version = await self.db.data_version()  # asked first: never newer than the read
                if version != seen:
                    await self.poll()
                    seen = version
            except Exception:
                log.exception("Could not read live messages; trying again")
                await asyncio.sleep(self.RETRY_AFTER)
                continue
            if loop.time() >= next_trim and (self._trimming is None or self._trimming.done()):
                next_trim = loop.time() + self.TRIM_EVERY
                self._trimming = asyncio.create_task(self._trim(), name="broker-trim")
            await asyncio.sleep(self.settings.poll_interval)

    async def _trim(self) -> None:
        try:
            await self.trim()
        except Exception:
            log.exception("Could not trim live messages")
