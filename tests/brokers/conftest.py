"""What the broker tests share: a second database standing for a second process, and
ways to read what a subscription received."""

import asyncio

import pytest

from tests.databases import open_database

WAIT = 5  # seconds for a message to arrive


@pytest.fixture
async def other_db(db_url, db):
    """The test's database (made by the `db` fixture) as another process sees it: its
    own connections."""
    async with open_database(db_url) as other:
        yield other


async def receive(subscription, count: int) -> list:
    """The next `count` messages, waiting WAIT seconds at most."""
    async with asyncio.timeout(WAIT):
        return [await subscription.get() for _ in range(count)]


async def nothing_more(subscription) -> bool:
    """Whether nothing else arrives (a duplicate would, within 0.2 s)."""
    await asyncio.sleep(0.2)
    return subscription.queue.empty()


def drain(subscription) -> list:
    """Every message waiting in a subscription, without waiting."""
    messages = []
    while not subscription.queue.empty():
        messages.append(subscription.queue.get_nowait())
    return messages
