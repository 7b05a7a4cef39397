"""Markdown to HTML for posts: CommonMark plus tables, with raw HTML escaped, off the loop.

markdown-it-py with `html: False` escapes any HTML in the source instead of passing it
through, and its link validation drops javascript:, vbscript: and data: URLs. Links get
rel="nofollow noopener ugc", since anyone with an account can write them, and headings
move one level down, under the post's title.

Rendering is pure Python and slow on hostile input (100 KB of `[` or `![` takes seconds),
so pages never render: a post's HTML is rendered when it is saved and stored with it
(www/posts/rendering.py), by a `MarkdownRenderer` whose own threads keep the event loop
free. The output is bounded too: a reference link repeats its URL at each use, so 100 KB
of Markdown could make 80 MB of HTML; past `markdown.max_html` characters rendering stops.
"""

import asyncio
import html
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

from .executors import BoundedExecutor
from .ratelog import RateLimitedLog
from .settings import Settings

# Bump whenever the HTML for the same source changes (a rule, an option, markdown-it-py's
# own output): stored HTML of an older version is rendered again when next read.
RENDERER_VERSION = 1
LINK_REL = "nofollow noopener ugc"


class TooLarge(ValueError):
    """The HTML would be longer than allowed."""


class _BoundedRenderer(RendererHTML):
    """RendererHTML's loops, counting each piece against env["room"] (characters left), so
    that rendering stops (TooLarge) before the output, not after, passes the limit."""

    def render(self, tokens: Sequence[Token], options: Any, env: Any) -> str:
        out: list[str] = []
        for i, token in enumerate(tokens):
            if token.type == "inline":  # counted piece by piece in renderInline
                out.append(self.renderInline(token.children or (), options, env))
            else:
                out.append(_spend(env, self._piece(tokens, i, options, env)))
        return "".join(out)

    def renderInline(self, tokens: Sequence[Token], options: Any, env: Any) -> str:
        return "".join(
            _spend(env, self._piece(tokens, i, options, env)) for i in range(len(tokens))
        )

    def _piece(self, tokens: Sequence[Token], i: int, options: Any, env: Any) -> str:
        rule = self.rules.get(tokens[i].type)
        return rule(tokens, i, options, env) if rule else self.renderToken(tokens, i, options, env)


def _spend(env: dict, piece: str) -> str:
    env["room"] -= len(piece)
    if env["room"] < 0:
        raise TooLarge("the HTML would be too long")
    return piece


def _build(renderer_cls: type[RendererHTML] = _BoundedRenderer) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}, renderer_cls=renderer_cls)
    md.enable(["table", "strikethrough"])

    def link_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("rel", LINK_REL)
        return renderer.renderToken(tokens, idx, options, env)

    def heading(renderer, tokens, idx, options, env):
        # The post's title is the page's <h1>: "# Heading" in the text becomes an <h2>.
        tokens[idx].tag = f"h{min(int(tokens[idx].tag[1]) + 1, 6)}"
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("heading_open", heading)
    md.add_render_rule("heading_close", heading)
    return md


_MARKDOWN = _build()
UNLIMITED = 2**62


def render_markdown(source: str, max_chars: int = UNLIMITED) -> str:
    """Safe HTML for `source`, in the calling thread (scripts, tests: a view awaits
    MarkdownRenderer.render instead). Raises TooLarge past `max_chars` characters."""
    return _MARKDOWN.render(source, {"room": max_chars})


def as_plain_text(source: str) -> str:
    """The source shown as it is, escaped: for a post whose HTML would be too long."""
    return f'<pre class="markdown-source">{html.escape(source)}</pre>\n'


class MarkdownRenderer:
    """Renders in a bounded pool of its own (www/executors.py: `markdown.threads`, at most
    `markdown.queue` renders waiting, then 503 with Retry-After), never on the loop nor
    with the hashing or file I/O threads. The same text asked for again while it is being
    rendered shares that render, so a burst of readers costs one. No cache: the HTML is
    stored with the post, and a cache of outputs would hold their size in memory."""

    def __init__(self, executor: BoundedExecutor, max_html: int) -> None:
        self.executor, self.max_html = executor, max_html
        self._running: dict[str, asyncio.Future[str]] = {}

    async def render(self, source: str) -> str:
        """render_markdown(source) in a thread, bounded by `markdown.max_html` (TooLarge).
        Raises ExecutorBusy (503) when the pool and its queue are full."""
        future = self._running.get(source)
        if future is None:
            job = self.executor.run(render_markdown, source, self.max_html)
            future = self._running[source] = asyncio.ensure_future(job)
            future.add_done_callback(self._forget)
        return await asyncio.shield(future)  # one reader giving up ends no other's wait

    def _forget(self, future: asyncio.Future[str]) -> None:
        """A finished render is no longer shared; its error counts as seen (every reader
        may have gone: asyncio would log it as never retrieved)."""
        for source, running in list(self._running.items()):
            if running is future:
                del self._running[source]
        if not future.cancelled():
            future.exception()


def markdown_renderer(config: Settings, limits_log: RateLimitedLog) -> MarkdownRenderer:
    """The app's renderer, on a pool of `markdown.threads` threads with `markdown.queue`
    places to wait; no thread starts before the first render."""
    settings = config.markdown
    pool = BoundedExecutor(settings.threads, settings.queue, "markdown", limits_log)
    return MarkdownRenderer(pool, settings.max_html)
