"""A post's HTML: rendered off the loop when the post is saved and kept in `post_html`,
rendered again for a reader when the kept one is stale (made from other content, or by an
older renderer: www/markdown.py's RENDERER_VERSION).
"""

import asyncio
import contextlib
import hashlib
from collections.abc import Mapping
from typing import Any

from ..db import IntegrityError
from ..executors import ExecutorBusy
from ..keys import DB, MARKDOWN
from ..markdown import RENDERER_VERSION, TooLarge, as_plain_text
from ..schemas import Invalid
from .models import Post, PostHtml

App = Mapping[Any, Any]  # an Application, or a request's config_dict
TOO_LONG = "Content would make too long a page: repeat long links less often."


def current_html(post: Post, stored: PostHtml | None) -> PostHtml | None:
    """`stored` if it was made from this content by this renderer or a newer one (a worker
    not yet restarted meets those), else None. Asked when the row is loaded (post_page's
    body, off the loop), not at each view: hashing a post's content is CPU on the loop,
    and over 2 KB hashlib lets go of the GIL and waits to get it back."""
    if stored and stored.version >= RENDERER_VERSION:
        return stored if stored.source_hash == source_hash(post.content) else None
    return None


async def post_html(app: App, post: Post, current: PostHtml | None) -> str:
    """The post's HTML: `current` (current_html's) if there is one; else rendered now, off
    the loop, and saved. A post that would render too long shows its source."""
    if current is not None:
        return current.html
    try:
        html = await _render_for_a_reader(app, post.content)
    except TooLarge:
        html = as_plain_text(post.content)
    await save_html(app, post.id, source_hash(post.content), html)
    return html


# A reader of a post whose HTML is stale (every post, once, after migration 0003 or a
# renderer change) waits this long for room in the Markdown pool, rather than getting 503
# at once as a writer does: a burst of first views is worked through, not refused.
READER_WAIT = 10.0  # seconds
READER_RETRY = 0.05  # seconds between two tries


async def _render_for_a_reader(app: App, content: str) -> str:
    deadline = asyncio.get_running_loop().time() + READER_WAIT
    while True:
        try:
            return await app[MARKDOWN].render(content)
        except ExecutorBusy:
            if asyncio.get_running_loop().time() >= deadline:
                raise
            await asyncio.sleep(READER_RETRY)


def source_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


async def render_content(app: App, content: str) -> str:
    """The HTML of `content`, rendered off the loop. Raises Invalid when it would be
    longer than markdown.max_html, 503 when the renderer is busy."""
    try:
        return await app[MARKDOWN].render(content)
    except TooLarge:
        raise Invalid({"content": TOO_LONG}) from None


async def save_html(app: App, post_id: int, digest: str, html: str) -> None:
    """Store the post's HTML, unless a newer renderer's is there. A race (two saves, a
    save and a read) may keep either: each names its source, so a stale one is replaced
    when read. Nothing is saved for a post deleted meanwhile."""
    db, version = app[DB], RENDERER_VERSION
    row = PostHtml.select(db).where(post_id=post_id, version__lte=version)
    if not await row.update(source_hash=digest, version=version, html=html):
        with contextlib.suppress(IntegrityError):  # there is one (newer), or no post
            await PostHtml.create(
                db, post_id=post_id, source_hash=digest, version=version, html=html
            )
