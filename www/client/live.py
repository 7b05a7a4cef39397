"""Following a post's comments over its WebSocket (/ws/posts/<id>), through drops.

On each (re)connection the socket is opened first, then the API is asked for what came
since the newest comment already delivered (at first: since `after`, or from where the
post's comments end), so nothing falls between the two; each comment is delivered once,
in order: the ids seen are remembered. A dropped connection, or a server that is down,
restarting (1001) or busy (503), is retried after a back-off that doubles up to
`follow_max_backoff`, and comes back to `follow_backoff` once a connection works. A post
that does not exist (404) or a refusal (403, 401) ends it with that error.
"""

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
from pydantic import ValidationError

from ..posts.schemas import CommentEvent, CommentOut
from .errors import ApiError, RateLimited, ServerError, TransportError, error_for

if TYPE_CHECKING:
    from .client import Client

HEARTBEAT = 30.0  # seconds between our pings: a server that stops answering is dropped
MAX_MESSAGE = 1024 * 1024  # bytes: a comment event is far smaller
REMEMBERED = 10_000  # ids kept to drop duplicates; older ones are below the watermark
PAGE = 100  # comments read a page at a time while catching up
MAX_CATCH_UP_PAGES = 1_000  # pages read at most while catching up


class Seen:
    """The ids delivered (the newest REMEMBERED of them), above `floor`: the comments that
    were there before following began, never delivered, even when the server's socket
    sends one that it published just before the socket subscribed. `newest` is where
    catching up starts."""

    def __init__(self, floor: int = 0) -> None:
        self.ids: set[int] = set()
        self.order: deque[int] = deque()
        self.floor = self.newest = floor

    def add(self, comment_id: int) -> bool:
        """False when `comment_id` was delivered already, or is below the floor."""
        if comment_id <= self.floor or comment_id in self.ids:
            return False
        self.ids.add(comment_id)
        self.order.append(comment_id)
        if len(self.order) > REMEMBERED:
            self.ids.discard(self.order.popleft())
        self.newest = max(self.newest, comment_id)
        return True


async def follow(
    client: "Client", post_id: int, after: int | None = None
) -> AsyncIterator[CommentOut]:
    """The post's new comments, as they are added, for as long as the caller iterates;
    with `after` (a comment id, or 0 for all), the comments after it first."""
    url = client.url.replace("http", "ws", 1) + f"/ws/posts/{post_id}"
    seen = None if after is None else Seen(after)  # None: from the newest comment on
    backoff = client.follow_backoff
    while True:
        try:
            async with client.http.session.ws_connect(
                url, heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE, timeout=_timeouts(client)
            ) as ws:
                if seen is None:
                    seen = Seen(await _newest_id(client, post_id))
                for comment in await _since(client, post_id, seen.newest):
                    if seen.add(comment.id):
                        yield comment
                backoff = client.follow_backoff  # this connection worked
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break  # closed (1001: the server restarts), or an error
                    comment = _comment(message.data)
                    if comment is not None and comment.post_id == post_id and seen.add(comment.id):
                        yield comment
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status not in (429, 502, 503, 504):
                raise error_for(exc.status, None) from None
        except (ServerError, RateLimited, TransportError, aiohttp.ClientError, TimeoutError):
            pass  # a drop, or the server is down or busy: try again after the back-off
        except ApiError:
            raise
        await asyncio.sleep(random.uniform(backoff / 2, backoff))
        backoff = min(client.follow_max_backoff, backoff * 2)


def _timeouts(client: "Client") -> aiohttp.ClientWSTimeout:
    return aiohttp.ClientWSTimeout(ws_receive=None, ws_close=client.timeouts.connect or 10.0)


def _comment(data: str) -> CommentOut | None:
    try:
        return CommentEvent.model_validate_json(data).comment
    except ValidationError:
        return None  # a message of another kind: not ours to read


async def _newest_id(client: "Client", post_id: int) -> int:
    """The id of the post's newest comment (0 if it has none): where following starts."""
    first = await client.comments.page(post_id, 1, per_page=PAGE)
    last_page = max(1, -(-first.total // PAGE))
    page = (
        first if last_page == 1 else await client.comments.page(post_id, last_page, per_page=PAGE)
    )
    return max((comment.id for comment in page.items), default=0)


async def _since(client: "Client", post_id: int, newest: int) -> list[CommentOut]:
    """The post's comments after id `newest`, oldest first: the last pages, read backwards
    until one reaches back to `newest`."""
    first = await client.comments.page(post_id, 1, per_page=PAGE)
    number = max(1, -(-first.total // PAGE))
    pages: list[list[CommentOut]] = []
    for _ in range(MAX_CATCH_UP_PAGES):
        page = first if number == 1 else await client.comments.page(post_id, number, per_page=PAGE)
        pages.append([comment for comment in page.items if comment.id > newest])
        if number == 1 or any(comment.id <= newest for comment in page.items):
            break
        number -= 1
    return [comment for page in reversed(pages) for comment in page]
