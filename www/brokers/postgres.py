"""PostgreSQL's broker: LISTEN/NOTIFY carries ids, the table carries the messages.

    publish   in the caller's transaction, INSERT the message into broker_messages and
              `pg_notify` its id. PostgreSQL sends a notification only if and when its
              transaction commits, and sends those of different transactions in the order
              they committed: a rolled-back comment announces nothing, and each post's
              comments arrive in commit order, which a sequence's ids would not promise.
    deliver   each process keeps one connection of its own, outside the pool, that LISTENs
              (application_name "www-live", to find it in pg_stat_activity). Its callback
              only queues the ids; one task reads their rows in batches and hands them to
              the process's subscribers, in the order notified.
    recover   if that connection drops (a restart, a failover, pg_terminate_backend), the
              process reconnects with back-off (www/brokers/base.py), LISTENs again, then
              delivers the messages with newer ids than it had seen that committed while it
              was away. Ids it already delivered are remembered, so none is sent twice.

The channel is named after the schema (`www_live:<current_schema()>`), so several sites,
or the test suite's schemas, can share one database without hearing each other.
"""

import asyncio
import contextlib
import functools
import logging
from collections import deque
from typing import Any

import asyncpg

from ..db.postgres import PostgresDatabase
from ..orm import utcnow
from ..settings import LiveSettings
from .base import Broker, cancel, listening, stay_connected
from .messages import BrokerMessage, MessageTable, decode, encode

log = logging.getLogger(__name__)

APPLICATION_NAME = "www-live"
ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class NotifyBroker(Broker):
    """The PubSub methods (www/pubsub.py) across processes, through PostgreSQL."""

    BATCH = 500  # ids read per query
    KEEPALIVE = 10.0  # seconds: a listening connection that stays quiet is asked SELECT 1

    def __init__(
        self, db: PostgresDatabase, settings: LiveSettings, max_pending: int = 100
    ) -> None:
        super().__init__(max_pending)
        self.db, self.settings = db, settings
        self.messages = MessageTable(db, settings)
        self.channel = ""  # set by start(): www_live:<schema>
        self.last_id = 0  # the newest id delivered (or seen at start)
        # Ids delivered lately, so that catching up after a reconnection sends none twice.
        self._recent: deque[int] = deque(maxlen=settings.keep_rows)
        self._recent_set: set[int] = set()
        self._queue: asyncio.Queue[int | None] = asyncio.Queue()  # None: catch up
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        if self._tasks:
            raise RuntimeError("the broker is already started")
        self.last_id = await self.messages.newest_id()
        schema = (await self.db.fetchone("SELECT current_schema()"))[0]
        self.channel = f"www_live:{schema}"
        # Serve once listening: a comment made after start-up is never missed.
        self._tasks = [
            await listening(self._listen, "broker-listen", self.db.connect_timeout),
            asyncio.create_task(self._deliver(), name="broker-deliver"),
        ]

    async def stop(self) -> None:
        await cancel(*self._tasks)
        self._tasks = []
        await self.messages.stop()

    async def publish(self, channel: str, message: Any) -> None:
        # One statement, one round trip, in the caller's transaction; outside one, the row
        # commits with its notification, so a listener always finds it.
        params = (channel, encode(message), utcnow(), self.channel)
        await self.db.fetchall(self._publish_sql, params)

    @functools.cached_property
    def _publish_sql(self) -> str:
        table = self.db.dialect.quote(BrokerMessage._meta.table)  # the model's, quoted
        return (
            f"WITH message AS (INSERT INTO {table} (channel, payload, created_at)"  # noqa: S608
            " VALUES ($1, $2, $3) RETURNING id) SELECT pg_notify($4, id::text) FROM message"
        )

    async def _listen(self, ready: asyncio.Future) -> None:
        async def session(connected: Any) -> None:
            conn = await self.db.connect(application_name=APPLICATION_NAME)
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            try:
                await conn.add_listener(self.channel, self._notified)
                if ready.done():
                    self._queue.put_nowait(None)  # back: catch up on what was missed
                else:
                    ready.set_result(None)
                connected()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.KEEPALIVE):
                            await lost.wait()
                    if not lost.is_set():  # quiet: is the server still there?
                        await conn.fetchval("SELECT 1", timeout=self.db.connect_timeout)
            finally:
                conn.terminate()

        await stay_connected("PostgreSQL", session, ERRORS, self.settings.reconnect_max)

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            self._queue.put_nowait(int(payload))
        except ValueError:
            log.error("Live: a notification on %s is not an id: %.100r", channel, payload)

    async def _deliver(self) -> None:
        """Until cancelled: read the rows of the notified ids, in order, and deliver them."""
        while True:
            ids = [await self._queue.get()]
            while not self._queue.empty() and len(ids) < self.BATCH:
                ids.append(self._queue.get_nowait())
            try:
                await self._deliver_ids(ids)
            except Exception:  # the database failed to answer: those messages are lost
                log.exception("Could not read live messages %s", ids)
            self.messages.trim_soon(self.last_id)

    async def _deliver_ids(self, ids: list[int | None]) -> None:
        wanted = [i for i in ids if i is not None and i not in self._recent_set]
        rows = await BrokerMessage.select(self.db).where(id__in=wanted).all() if wanted else []
        by_id = {row.id: row for row in rows}
        for i in ids:
            if i is None:  # catching up: what committed while no one listened
                query = BrokerMessage.select(self.db).where(id__gt=self.last_id).order_by("id")
                for row in await query.limit(self.settings.keep_rows).all():
                    self._send(row)
            elif i in by_id:
                self._send(by_id[i])
            await asyncio.sleep(0)  # let the sockets' senders take it (see database.py)

    def _send(self, row: BrokerMessage) -> None:
        if row.id in self._recent_set:
            return
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(row.id)
        self._recent_set.add(row.id)
        self.last_id = max(self.last_id, row.id)
        message = decode(row)
        if message is not None:
            self.local.deliver(row.channel, message)
