"""SQLite's broker: publish/subscribe between server processes, through one table.

    publish   INSERT a row into broker_messages (channel, JSON payload), in the caller's
              transaction: the message exists if and when what it announces is committed.
    deliver   each process runs one task that asks SQLite's `PRAGMA data_version` every
              `live.poll_interval` seconds, and at once when this process commits a
              message. When it moved (a commit by any connection, in any process), the
              task reads the messages after the last one it delivered, in id order, and
              hands them to its own subscribers. So a comment reaches the sockets of the
              process that saved it without waiting for the next poll; other processes'
              within `poll_interval`.
    trim      as it goes, the task deletes messages older than `live.keep_seconds` or
              beyond the newest `live.keep_rows` (www/brokers/messages.py).

SQLite has one writer at a time, so ids are handed out in commit order: reading "after the
last id seen" never skips a message that commits later with a smaller id. A process that
starts late begins after the newest message, so it never replays old ones. (A PostgreSQL
sequence makes no such promise: there, www/brokers/postgres.py is the broker.)
"""

import asyncio
import contextlib
import logging
from typing import Any

from ..db import BaseDatabase
from ..settings import LiveSettings
from .base import Broker, cancel
from .messages import BrokerMessage, MessageTable, decode

log = logging.getLogger(__name__)


class DatabaseBroker(Broker):
    """The PubSub methods (www/pubsub.py) across processes, through `db`."""

    BATCH = 500  # messages read per query
    RETRY_AFTER = 1.0  # seconds to wait after the database failed to answer

    def __init__(self, db: BaseDatabase, settings: LiveSettings, max_pending: int = 100) -> None:
        super().__init__(max_pending)
        self.db, self.settings = db, settings
        self.messages = MessageTable(db, settings)
        self.last_id: int | None = None  # of the last message delivered (set by start())
        self._task: asyncio.Task | None = None
        self._committed = asyncio.Event()  # set when this process commits a message

    async def start(self) -> None:
        """Begin after the newest message, and start polling."""
        if self._task is not None:
            raise RuntimeError("the broker is already started")
        self.last_id = await self.messages.newest_id()
        self._task = asyncio.create_task(self._run(), name="broker-poll")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        await self.messages.stop()

    async def publish(self, channel: str, message: Any) -> None:
        await self.messages.add(channel, message)
        await self.db.after_commit(self._poll_now)  # nothing if the transaction rolls back

    async def _poll_now(self) -> None:
        self._committed.set()

    async def poll(self) -> int:
        """Deliver the messages committed since the last ones, in id order; how many."""
        if self.last_id is None:
            raise RuntimeError("the broker is not started")
        delivered = 0
        while True:  # ends: each batch moves last_id past rows that exist
            query = BrokerMessage.select(self.db).where(id__gt=self.last_id).order_by("id")
            batch = await query.limit(self.BATCH).all()
            for row in batch:
                if self.last_id and row.id != self.last_id + 1:  # ids have no holes
                    log.warning(
                        "Live messages %d to %d were trimmed before this process read them",
                        self.last_id + 1,
                        row.id - 1,
                    )
                self.last_id = row.id
                message = decode(row)
                if message is not None:
                    self.local.deliver(row.channel, message)
                    delivered += 1
                # Let the sockets' senders take it: a batch longer than their queues
                # must not look like a slow client (which loses its oldest messages).
                await asyncio.sleep(0)
            if len(batch) < self.BATCH:
                return delivered

    async def trim(self) -> int:
        """Delete what every process has had time to read (MessageTable.trim); how many."""
        if self.last_id is None:
            raise RuntimeError("the broker is not started")
        return await self.messages.trim(self.last_id)

    async def _run(self) -> None:
        """The polling loop: until cancelled, through any database error."""
        seen = None  # data_version when the messages were last read
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
            assert self.last_id is not None
            self.messages.trim_soon(self.last_id)
            with contextlib.suppress(TimeoutError):  # the interval, or a commit of ours
                async with asyncio.timeout(self.settings.poll_interval):
                    await self._committed.wait()
            self._committed.clear()  # a commit from now on wakes the next wait
