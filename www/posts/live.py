"""Live comments: GET /ws/posts/<id> upgrades to a WebSocket that receives new comments.

Each socket has its own subscription queue and sender task, so a slow or dead client
only ever delays itself. actions.add_comment() publishes what the sockets receive.
"""

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from ..csrf import same_origin
from ..keys import CONFIG, LIMITS_LOG, PUBSUB, SOCKETS
from ..routing import get_or_404
from .actions import channel
from .models import Post

log = logging.getLogger(__name__)

HEARTBEAT = 25.0  # seconds between pings; a peer that stops answering is dropped
MAX_MESSAGE = 4096  # clients only listen: anything they send is small or wrong
CLOSE_TIMEOUT = 1.0  # seconds a dropped client has to read the close frame: then it is cut
RETRY_AFTER = 10  # seconds a client refused for server.max_websockets is asked to wait


async def post_socket(request: web.Request) -> web.WebSocketResponse:
    """The live feed of a post's comments. 404 if the post is missing, 403 if the
    Origin header names another site (any page on the web could otherwise open it), 503
    with Retry-After when this process holds server.max_websockets sockets already."""
    post = await get_or_404(Post, request)
    if not same_origin(request):
        raise web.HTTPForbidden(text="Cross-site WebSocket refused.")
    sockets = request.config_dict[SOCKETS]
    server = request.config_dict[CONFIG].server
    limit = server.max_websockets
    if len(sockets) >= limit:
        request.config_dict[LIMITS_LOG].warning(
            "websockets", "server.max_websockets (%d) reached: refusing new ones (503)", limit
        )
        raise web.HTTPServiceUnavailable(
            headers={"Retry-After": str(RETRY_AFTER)},
            text="Too many live connections right now. Please try again later.",
        )
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE)
    sockets.add(ws)  # before prepare(), which yields: the check and the add are one step
    try:
        await ws.prepare(request)
        async with request.config_dict[PUBSUB].subscribe(channel(post.id)) as subscription:
            sender = asyncio.create_task(
                _send(ws, subscription, request.transport, server.websocket_send_timeout)
            )
            try:
                async for message in ws:  # until the client closes, stops answering, or is dropped
                    if message.type == WSMsgType.ERROR:
                        break
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
    finally:
        sockets.discard(ws)
    return ws


async def _send(ws: web.WebSocketResponse, subscription, transport, send_timeout: float) -> None:
    """Send the subscription's messages until the socket closes. A send that waits longer
    than `send_timeout` (server.websocket_send_timeout: the client stopped reading, so every
    buffer on the way is full) drops the client."""
    while not ws.closed:
        text = await subscription.get_json()  # encoded once for every socket
        try:
            if _cannot_wait(transport, text):  # the common case: no timer to arm
                await ws.send_str(text)
            else:
                async with asyncio.timeout(send_timeout):
                    await ws.send_str(text)
        except (TimeoutError, ConnectionError):
            log.info("Dropping a WebSocket client that stopped reading")
            await _drop(ws, transport)
            return


async def _drop(ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
    """Close the socket of a client that stopped reading: with a close frame if it reads
    again within CLOSE_TIMEOUT, else by cutting the connection. The frame queues behind
    all the client left unread, and the transport closes once its buffer is sent: on a
    client that never reads, never (ws.close() would wait for that too, but for
    drain=False). So a timer aborts the transport after CLOSE_TIMEOUT, dropping its buffer
    (a no-op if it closed by then); not this task, which the handler cancels as soon as
    the close ends its receive loop."""
    if transport is not None:
        asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, transport.abort)
    await ws.close(code=WSCloseCode.GOING_AWAY, drain=False)


def _cannot_wait(transport: asyncio.Transport | None, text: str) -> bool:
    """Whether sending `text` surely returns at once. A send waits only while the
    transport is paused: from when its buffer passes the high-water mark until it is back
    at the low-water mark. If the buffer is at most the low mark (so not paused) and has
    room for the whole frame under the high one (at most 4 bytes a character, 14 of
    header), the send cannot wait, and needs no timeout. With a thousand sockets on a
    post, arming and cancelling a timer for every send took about a fifth of the sending
    (profiled)."""
    if transport is None:
        return False
    low, high = transport.get_write_buffer_limits()
    buffered = transport.get_write_buffer_size()
    return buffered <= low and 4 * len(text) + 14 <= high - buffered


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: tell every open socket the server is going away (close code 1001)."""
    closing = [
        ws.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutdown")
        for ws in list(app[SOCKETS])
    ]
    await asyncio.gather(*closing, return_exceptions=True)
