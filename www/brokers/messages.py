"""The table of messages that the database brokers share, and its trimming.

On SQLite (www/brokers/database.py) the table is how messages travel: every process reads
the rows added since it last looked. On PostgreSQL (www/brokers/postgres.py) a NOTIFY only
carries a row's id, since a payload is limited to 8,000 bytes and a comment can be longer.
Either way the row is written in the transaction of what it announces, so a rolled-back
comment announces nothing, and rows are deleted once every process has had time to read
them.
"""

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from ..db import BaseDatabase, DatabaseError
from ..orm import DateTimeField, Model, TextField, utcnow
from ..settings import LiveSettings
from .base import cancel

log = logging.getLogger(__name__)


class BrokerMessage(Model):
    """A published message: read by every process, then trimmed."""

    channel = TextField(max_length=200)
    payload = TextField()  # the message as JSON
    created_at = DateTimeField(default=utcnow, index=True)  # the index serves the trimming


def encode(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def decode(row: BrokerMessage) -> Any:
    """The row's message, or None (logged) when it is not JSON: skipped, never retried."""
    try:
        return json.loads(row.payload)
    except ValueError:  # not written by a broker
        log.error("Live message %d is not JSON: skipped", row.id)
        return None


class MessageTable:
    """broker_messages as a broker uses it: the newest id, adding, and trimming as it goes."""

    TRIM_EVERY = 5.0  # seconds between looks for messages to trim

    def __init__(self, db: BaseDatabase, settings: LiveSettings) -> None:
        self.db, self.settings = db, settings
        self._trimming: asyncio.Task | None = None
        self._next_trim = 0.0

    async def newest_id(self) -> int:
        """The id of the newest message (0 if none): a process starts after it."""
        try:
            newest = await BrokerMessage.select(self.db).order_by("-id").first()
        except DatabaseError as exc:
            raise DatabaseError(f"{exc} (init_db.py creates the tables)") from exc
        return newest.id if newest else 0

    async def add(self, channel: str, message: Any) -> BrokerMessage:
        """Write the message, in the caller's transaction if there is one."""
        return await BrokerMessage.create(self.db, channel=channel, payload=encode(message))

    async def trim(self, last_id: int) -> int:
        """Delete the messages older than keep_seconds or beyond the newest keep_rows up to
        `last_id` (the last one this process read); how many. Only a read when there are
        none: no write, so no process is woken for nothing."""
        cutoff = utcnow() - timedelta(seconds=self.settings.keep_seconds)
        beyond = last_id - self.settings.keep_rows  # ids up to this one go
        oldest = await BrokerMessage.select(self.db).order_by("id").first()
        if oldest is None or (oldest.created_at >= cutoff and oldest.id > beyond):
            return 0
        async with self.db.transaction() as tx:
            old = await BrokerMessage.select(tx).where(created_at__lt=cutoff).delete()
            return old + await BrokerMessage.select(tx).where(id__lte=beyond).delete()

    def trim_soon(self, last_id: int) -> None:
        """Trim in a task of its own, at most every TRIM_EVERY seconds, so that a busy
        writer never holds up delivery."""
        now = asyncio.get_running_loop().time()
        if now >= self._next_trim and (self._trimming is None or self._trimming.done()):
            self._next_trim = now + self.TRIM_EVERY
            self._trimming = asyncio.create_task(self._trim(last_id), name="broker-trim")

    async def _trim(self, last_id: int) -> None:
        try:
            await self.trim(last_id)
        except Exception:
            log.exception("Could not trim live messages")

    async def stop(self) -> None:
        await cancel(self._trimming)
        self._trimming = None
