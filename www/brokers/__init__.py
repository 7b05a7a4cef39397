"""Brokers: how a live comment saved by one server process reaches the sockets of all.

Each is a `PubSub` (www/pubsub.py), picked from the settings by `broker_for()`:

- Redis pub/sub, when `redis.url` is set (www/brokers/redis.py): for several machines,
  without adding work to the database.
- Else the database itself, so several workers just work with nothing to set up:
  - SQLite: a table of messages that every process reads when `PRAGMA data_version`
    moves (www/brokers/database.py);
  - PostgreSQL: LISTEN/NOTIFY, with the messages in that same table
    (www/brokers/postgres.py).

Every one publishes only what commits, delivers each message once to each subscriber of
each process, and lets a slow subscriber delay no one but itself.
"""

from ..db import BaseDatabase
from ..db.postgres import PostgresDatabase
from ..pubsub import PubSub
from ..settings import Settings
from .database import DatabaseBroker
from .messages import BrokerMessage
from .postgres import NotifyBroker
from .redis import RedisBroker

__all__ = ["BrokerMessage", "DatabaseBroker", "NotifyBroker", "RedisBroker", "broker_for"]


def broker_for(db: BaseDatabase, config: Settings) -> PubSub:
    """The broker the settings call for (not started: the app starts it after the db)."""
    if config.redis.url:
        return RedisBroker(db, config.redis, config.live)
    if isinstance(db, PostgresDatabase):
        return NotifyBroker(db, config.live)
    return DatabaseBroker(db, config.live)
