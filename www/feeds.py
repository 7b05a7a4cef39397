"""Atom feeds: a list of posts as an Atom 1.0 document, with the headers that make polling
cheap.

`atom_response()` is the one way to answer a feed: the site's, a user's (www/posts/feeds.py)
and any other list of posts (a tag's) are each a few lines around it. What a feed shows is
fixed here, once:

- links are absolute, from `site.base_url` (never the request's Host, which a client
  can forge), and so are the links and images inside the posts' HTML;
- an entry's id is a `tag:` URI (RFC 4151) made of the site's host, the post's creation
  date and its id: editing a post, or moving the site to https, never changes it, so a
  reader never shows an edited post twice;
- content is the post's stored HTML (the Markdown rendering, www/posts/models.PostHtml),
  escaped as Atom's type="html" text;
- characters XML cannot carry (control characters, lone surrogates) become U+FFFD, so no
  stored text can make a feed that a reader refuses, nor a 500.

The document's bytes are built in the Markdown renderer's bounded pool, not on the event
loop: 20 posts of up to `markdown.max_html` characters of HTML each can make megabytes of
XML to escape. The bytes, their ETag (a hash of them) and Last-Modified (the newest post's
`updated_at`) are kept in the query cache (www/cache.py) until the database changes, so a
crowd of feed readers polling costs one cache check each, and a 304 when they send the
ETag or date they have. A deleted post changes the ETag but not always Last-Modified:
If-None-Match, which readers send with If-Modified-Since and which wins, catches it.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from feedgen.feed import FeedGenerator

from .keys import CONFIG, DB, MARKDOWN, QUERIES, URLS
from .posts import rendering
from .posts.models import Post, PostHtml

CONTENT_TYPE = "application/atom+xml"
# When a feed has no post yet, its <updated> (Atom requires one): a fixed time, so that
# every worker builds the same bytes, and so the same ETag.
NO_POSTS = datetime(1970, 1, 1, tzinfo=UTC)
# What XML 1.0 may hold (its Char production); anything else is replaced.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# A site-relative href or src in the HTML our Markdown renderer writes (attribute values
# in double quotes; a quote inside one is &quot;): made absolute for feed readers.
RELATIVE_LINK = re.compile(r'(\s(?:href|src)=")/(?!/)')


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str
    last_modified: datetime


async def atom_response(
    request: web.Request,
    posts: Sequence[Post],
    *,
    title: str,
    self_url: str,
    page_url: str,
    author: Any = None,
    since: datetime = NO_POSTS,
) -> web.Response:
    """The Atom feed of `posts` (newest first, each with its `author`, as the loaders of
    www/posts/actions.py give them), titled `title`. `self_url` is the feed's own path
    and `page_url` the HTML page it follows (both site paths, made absolute here);
    `author` the user whose feed it is (else the posts' authors are the feed's); `since`
    its <updated> while it has no post. Answers 304 to a matching If-None-Match (or,
    without one, to an If-Modified-Since no older than the newest post)."""
    app = request.config_dict
    key = (
        "atom",
        self_url,
        title,
        author and (author.id, author.name),
        since,
        tuple((post.id, post.updated_at, post.author.name) for post in posts),
    )

    async def load() -> Feed:
        html = await _html_of(app, posts)
        body = await app[MARKDOWN].executor.run(
            _build,
            app[CONFIG].site.base_url,
            app[URLS],
            posts,
            html,
            title,
            self_url,
            page_url,
            author,
            since,
        )
        return Feed(body, hashlib.sha256(body).hexdigest()[:32], _whole_seconds(posts, since))

    feed: Feed = await app[QUERIES].get(key, load, lambda feed: len(feed.body))
    max_age = app[CONFIG].feeds.max_age
    response = web.Response(status=304 if _not_modified(request, feed) else 200)
    response.etag = feed.etag
    response.last_modified = feed.last_modified
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    if response.status == 200:
        response.body = feed.body
        response.content_type, response.charset = CONTENT_TYPE, "utf-8"
    return response


def _not_modified(request: web.Request, feed: Feed) -> bool:
    """RFC 9110's order: If-None-Match when sent (weak comparison), else If-Modified-Since
    (in whole seconds, as HTTP dates are)."""
    tags = request.if_none_match
    if tags is not None:
        return any(tag.value in (feed.etag, "*") for tag in tags)
    since = request.if_modified_since
    return since is not None and feed.last_modified <= since


def _whole_seconds(posts: Sequence[Post], since: datetime) -> datetime:
    """Last-Modified: the newest post's update (else `since`), rounded up to the second,
    as an HTTP date holds it (and as aiohttp would round it)."""
    newest = max((post.updated_at for post in posts), default=since)
    whole = newest.replace(microsecond=0)
    return whole + timedelta(seconds=1) if whole < newest else whole


async def _html_of(app: Any, posts: Sequence[Post]) -> dict[int, str]:
    """Each post's HTML: the stored rendering, loaded in one query (a stale or missing one,
    left by a script or a renderer change, is rendered again, as the post page does)."""
    if not posts:
        return {}
    stored = await PostHtml.select(app[DB]).where(post_id__in=[post.id for post in posts]).all()
    by_post = {row.post_id: row for row in stored}
    html = {}
    for post in posts:
        current = rendering.current_html(post, by_post.get(post.id))
        html[post.id] = await rendering.post_html(app, post, current)
    return html


def xml_text(text: str) -> str:
    """`text` with each character that XML cannot hold replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", text)


def entry_id(base_url: str, post: Post) -> str:
    """tag:<host>,<YYYY-MM-DD>:<path of the site>/posts/<id>, from the post's creation
    date: the same for ever, whatever is edited (RFC 4287 4.2.6, RFC 4151)."""
    parts = urlsplit(base_url)
    day = post.created_at.astimezone(UTC).date().isoformat()
    return f"tag:{parts.hostname},{day}:{parts.path}/posts/{post.id}"


def _build(
    base_url: str,
    urls: Any,
    posts: Sequence[Post],
    html: dict[int, str],
    title: str,
    self_url: str,
    page_url: str,
    author: Any,
    since: datetime,
) -> bytes:
    """The feed's XML (in a thread: see the module's docstring)."""

    def person(user: Any) -> dict[str, str]:
        return {"name": xml_text(user.name), "uri": base_url + urls("posts.author", id=user.id)}

    feed = FeedGenerator()
    feed.id(base_url + self_url)
    feed.title(xml_text(title))
    feed.link(href=base_url + self_url, rel="self", type=CONTENT_TYPE)
    feed.link(href=base_url + page_url, rel="alternate", type="text/html")
    feed.updated(max((post.updated_at for post in posts), default=since))
    authors = [author] if author else list({p.author.id: p.author for p in posts}.values())
    for user in authors:
        feed.author(person(user))
    for post in posts:
        entry = feed.add_entry(order="append")
        entry.id(entry_id(base_url, post))
        entry.title(xml_text(post.title) or "Untitled")
        entry.link(href=base_url + urls("posts.detail", id=post.id), rel="alternate")
        entry.author(person(post.author))
        entry.published(post.created_at)
        entry.updated(post.updated_at)
        if post.summary:
            entry.summary(xml_text(post.summary))
        absolute = RELATIVE_LINK.sub(lambda m: m.group(1) + base_url + "/", html[post.id])
        entry.content(xml_text(absolute), type="html")
    return feed.atom_str(pretty=False)
