"""comments.follow: new comments posted by another client arrive over the WebSocket, once
each and in order, through a server restart (stopped by its PID, started again on the
same port and database), including those saved while the follower was cut off."""

import asyncio
import contextlib

from tests.client.conftest import unique
from www.client import Client, NotFound, live
from www.posts.models import Comment

WAIT = 30.0  # seconds, at most, for the comments to arrive (a busy machine)
MAX_PROBES = 50  # comments posted at most until the follower shows it is listening


class Follower:
    """Follows a post in a task of its own, noting each comment as it arrives."""

    def __init__(self, api: Client, post_id: int, after: int | None = None) -> None:
        self.received: list = []
        self.ended = False
        self.arrived = asyncio.Condition()
        self.task = asyncio.create_task(self._run(api, post_id, after))

    async def _run(self, api, post_id, after) -> None:
        try:
            async for comment in api.comments.follow(post_id, after=after):
                async with self.arrived:
                    self.received.append(comment)
                    self.arrived.notify_all()
        finally:  # ended (by an error): wake the waiters, who raise it
            async with self.arrived:
                self.ended = True
                self.arrived.notify_all()

    async def until(self, count: int, within: float = WAIT) -> None:
        async with asyncio.timeout(within), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count or self.ended)
        if len(self.received) < count:
            await self.task  # it ended: raises what ended it
            raise AssertionError(f"follow ended after {len(self.received)} comments")

    async def until_has(self, comments: list, within: float = WAIT) -> None:
        """Until every one of `comments` has arrived (others may come too: late probes)."""
        wanted = {comment.id for comment in comments}
        async with asyncio.timeout(within), self.arrived:
            await self.arrived.wait_for(
                lambda: wanted <= {c.id for c in self.received} or self.ended
            )
        if not wanted <= {c.id for c in self.received}:
            await self.task  # it ended: raises what ended it
            raise AssertionError("follow ended before the comments came")

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def test_follow_receives_new_comments_from_another_client(server, alice):
    _, bob = await server.user(unique("bob"))
    async with Client(server.url, token=alice[1]) as api, Client(server.url, token=bob) as other:
        post = await api.posts.create(title="Live")
        before = await other.comments.add(post.id, "before following: not delivered")
        follower = Follower(api, post.id)
        try:
            for n in range(MAX_PROBES):  # until the follower has connected and listens
                await other.comments.add(post.id, f"probe {n}")
                with contextlib.suppress(TimeoutError):
                    await follower.until(1, within=0.5)
                    break
            sent = [await other.comments.add(post.id, f"comment {n}") for n in range(3)]
            await follower.until_has(sent)
        finally:
            await follower.stop()
    ids = [comment.id for comment in follower.received]
    assert ids[-3:] == [comment.id for comment in sent]
    assert before.id not in ids and len(set(ids)) == len(ids) and ids == sorted(ids)


async def test_follow_survives_a_server_restart_without_losing_or_repeating(own_server):
    server = own_server
    alice, token = await server.user("alice")
    _, bob = await server.user("bob")
    fast = {"follow_backoff": 0.05, "follow_max_backoff": 0.5}
    async with Client(server.url, token=token, **fast) as api:
        post = await api.posts.create(title="Live")
        follower = Follower(api, post.id, after=0)  # every comment of the post, from the first
        try:
            async with Client(server.url, token=bob) as other:
                sent = [await other.comments.add(post.id, f"first {n}") for n in range(3)]
            await follower.until(3)

            await asyncio.to_thread(server.stop)  # SIGTERM by PID: the socket closes (1001)
            async with server.database() as db:  # saved while the follower is cut off
                for n in range(2):
                    sent.append(
                        await Comment.create(db, post_id=post.id, user_id=alice.id, content=f"{n}")
                    )
            await asyncio.to_thread(server.start)  # the same port and database

            async with Client(server.url, token=bob) as other:
                sent += [await other.comments.add(post.id, f"after {n}") for n in range(3)]
            await follower.until(len(sent))
            await asyncio.sleep(0.3)  # room for a duplicate to show, if there were one
        finally:
            await follower.stop()
    assert [comment.id for comment in follower.received] == [comment.id for comment in sent]


async def test_following_a_missing_post_is_not_found(server):
    async with Client(server.url) as api:
        follower = Follower(api, 999_999)
        async with asyncio.timeout(WAIT):
            try:
                await follower.task
            except NotFound:
                return
        raise AssertionError("follow ended without NotFound")


def test_seen_drops_repeats_and_what_came_before_and_stays_bounded(monkeypatch):
    monkeypatch.setattr(live, "REMEMBERED", 3)
    seen = live.Seen(floor=10)
    assert not seen.add(10) and not seen.add(3)  # there before following began
    assert [seen.add(i) for i in (12, 11, 12, 13, 14)] == [True, True, False, True, True]
    assert len(seen.ids) == 3 and seen.newest == 14
