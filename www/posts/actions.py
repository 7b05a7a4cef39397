"""Loading and changing posts and comments: what the pages, the API and live comments share.

Each function takes `app`, the application's keys (`request.config_dict` in a view), and
already validated input (a schema from schemas.py). Checks that need the user (login,
ownership) stay in the views, which run them in the contract's order.

Page data is the same for every visitor, so the loaders share it until the database
changes (www/cache.py). Never modify what they return. A loader that makes several reads
makes them in one `db.read()` (one trip to SQLite's reader thread, one snapshot): its body
awaits only the reads of the `db` it is given.
"""

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from ..accounts.models import User
from ..db import IntegrityError
from ..keys import DB, PUBSUB, QUERIES
from ..orm import DoesNotExist, Page, utcnow
from .models import Comment, Post, PostHtml
from .queries import find_posts
from .rendering import current_html, render_content, save_html, source_hash
from .schemas import CommentEvent, CommentIn, CommentOut, PostIn
from .tags import load_tags, set_tags

App = Mapping[Any, Any]  # an Application, or a request's config_dict


async def posts_page(app: App, number: int, per_page: int, author_id: int | None = None) -> Page:
    """A page of posts, newest first, each with its `author`: all posts or one author's."""

    async def load(db: Any) -> Page:
        query = Post.select(db) if author_id is None else Post.select(db).where(user_id=author_id)
        page = await query.order_by("-created_at", "-id").paginate(number, per_page)
        await _with_authors(db, page.items)
        await load_tags(db, page.items)
        return page

    key = ("posts", author_id, number, per_page)
    return await app[QUERIES].get(key, lambda: app[DB].read(load), _page_size)


async def found_posts(
    app: App, number: int, per_page: int, *, tag: str | None = None, words: Sequence[str] = ()
) -> Page:
    """A page of the posts with `tag` and/or all of `words` (queries.find_posts), each
    with its `author` and `tags`. Cached as the other pages: a write empties the cache."""

    async def load(db: Any) -> Page:
        page = await find_posts(db, number, per_page, tag=tag, words=words)
        await _with_authors(db, page.items)
        await load_tags(db, page.items)
        return page

    key = ("found", tag, tuple(words), number, per_page)
    return await app[QUERIES].get(key, lambda: app[DB].read(load), _page_size)


async def get_post(app: App, post_id: int) -> Post | None:
    """The post with its `author`, or None."""
    load = functools.partial(_load_post, post_id=post_id)
    return await app[QUERIES].get(("post", post_id), lambda: app[DB].read(load), _post_size)


async def comments_page(app: App, post_id: int, number: int | None, per_page: int) -> Page:
    """Page `number` of a post's comments, oldest first, each with its `author`; None: the
    last page, where a new comment is. One query for the page (LIMIT, OFFSET), one count."""
    load = functools.partial(_load_comments, post_id=post_id, number=number, per_page=per_page)
    key = ("comments", post_id, number, per_page)
    return await app[QUERIES].get(key, lambda: app[DB].read(load), _page_size)


async def post_page(
    app: App, post_id: int, number: int | None, per_page: int
) -> tuple[Post | None, Page, PostHtml | None]:
    """What a post's page shows: the post (None if missing), page `number` of its comments
    (comments_page) and its HTML as last saved, if still current (current_html). Cached
    as two entries, so that a new comment reloads only its post's comments (a count, a
    page, their authors), not the post, its author, tags and HTML too; both are checked
    against one reading of the counters (QueryCache.one_check). With the cache off, both
    are read in one db.read()."""
    cache = app[QUERIES]
    if not cache.enabled:
        return await app[DB].read(
            lambda db: _load_post_page(db, post_id=post_id, number=number, per_page=per_page)
        )
    load = functools.partial(_load_post_with_html, post_id=post_id)
    key = ("post_page", post_id)
    post, stored = await cache.get(key, lambda: app[DB].read(load), _post_with_html_size)
    if post is None:
        return None, Page([], 1, per_page, 0), None
    return post, await comments_page(app, post_id, number, per_page), stored


async def _load_post_page(
    db: Any, post_id: int, number: int | None, per_page: int
) -> tuple[Post | None, Page, PostHtml | None]:
    post, stored = await _load_post_with_html(db, post_id)
    if post is None:
        return None, Page([], 1, per_page, 0), None
    return post, await _load_comments(db, post_id, number, per_page), stored


async def _load_post_with_html(db: Any, post_id: int) -> tuple[Post | None, PostHtml | None]:
    post = await _load_post(db, post_id)
    if post is None:
        return None, None
    stored = await PostHtml.select(db).where(post_id=post_id).first()
    return post, current_html(post, stored)


async def _load_post(db: Any, post_id: int) -> Post | None:
    post = await Post.get(db, post_id)
    if post is not None:
        post.author = await User.get(db, post.user_id)
        await load_tags(db, [post])
    return post


async def _load_comments(db: Any, post_id: int, number: int | None, per_page: int) -> Page:
    query = Comment.select(db).where(post_id=post_id).order_by("created_at", "id")
    if number is None:
        total = await query.count()
        last = max(1, -(-total // per_page))
        items = await query.limit(per_page).offset((last - 1) * per_page).all()
        page = Page(items, last, per_page, total)
    else:
        page = await query.paginate(number, per_page)
    await _with_authors(db, page.items)
    return page


async def _with_authors(db: Any, rows: list[Post] | list[Comment]) -> None:
    """Set each row's `author` (its user_id's User), with one query for them all."""
    authors = await User.get_many(db, (row.user_id for row in rows))
    for row in rows:
        row.author = authors[row.user_id]


# What a cached value weighs (www/cache.py), about: its text, and some for each object.
ROW_BYTES = 500


def _post_size(post: Post | None) -> int:
    if post is None:
        return 0
    return len(post.title) + len(post.summary) + len(post.content) + ROW_BYTES * 2


def _page_size(page: Page) -> int:
    return sum(
        _post_size(item) if isinstance(item, Post) else len(item.content) + ROW_BYTES
        for item in page.items
    )


def _post_with_html_size(loaded: tuple[Post | None, PostHtml | None]) -> int:
    post, stored = loaded
    return _post_size(post) + (0 if stored is None else len(stored.html) + ROW_BYTES)


async def publish_post(app: App, author: User, values: PostIn) -> Post:
    """Save a new post, its tags and its HTML. Raises Invalid (see render_content)."""
    html = await render_content(app, values.content)
    async with app[DB].transaction() as tx:
        post = await Post.create(tx, user_id=author.id, **values.model_dump(exclude={"tags"}))
        await set_tags(tx, post.id, values.tags)
    await save_html(app, post.id, source_hash(post.content), html)
    post.author, post.tags = author, sorted(values.tags)
    return post


async def update_post(app: App, post: Post, changes: Mapping[str, Any]) -> Post:
    """Save `changes` (validated PostIn fields, `tags` among them or not) to `post`, a row
    loaded for this request (never one from the cache), and load its `author` and `tags`.
    Raises DoesNotExist (404) if a concurrent request deleted it, Invalid if its new
    content is refused (render_content)."""
    db = app[DB]
    html = await render_content(app, changes["content"]) if "content" in changes else None
    if "tags" in changes:
        if getattr(post, "tags", None) is None:
            await load_tags(db, [post])
        if sorted(changes["tags"]) == post.tags:  # the same tags: nothing to change
            changes = {name: value for name, value in changes.items() if name != "tags"}
    columns = {name: value for name, value in changes.items() if name != "tags"}
    for name, value in columns.items():
        setattr(post, name, value)
    try:
        async with db.transaction() as tx:
            if "tags" in changes:
                # An edit: and the UPDATE locks the post's row, so that two edits of its
                # tags take turns (PostgreSQL) instead of meeting in post_tags.
                post.updated_at = utcnow()
            await post.save(tx)
            if "tags" in changes:
                await set_tags(tx, post.id, changes["tags"])
    except IntegrityError:  # the post went between its UPDATE and its links
        raise DoesNotExist(f"post {post.id} was deleted") from None
    if html is not None:
        await save_html(app, post.id, source_hash(post.content), html)
    post.author = await User.get(db, post.user_id)
    await load_tags(db, [post])
    return post


async def delete_post(app: App, post: Post) -> None:
    """Delete the post; its comments go with it (ON DELETE CASCADE)."""
    await post.delete(app[DB])


async def add_comment(app: App, post_id: int, author: User, values: CommentIn) -> Comment:
    """Save the comment and announce it to the post's live sockets (www/posts/live.py),
    in one transaction: the announcement goes out if and when the comment is saved.

    It is the hot write of a busy site, so it is one ``db.write()`` body: the whole
    transaction runs on the database's thread (SQLite's writer, PostgreSQL's bodies'),
    never waiting for the event loop. The brokers' publish is fit for that: it writes
    the message row in the transaction (database brokers) or leaves an after-commit
    callback, which runs on this loop (Redis).

    Raises DoesNotExist (404) if there is no post `post_id` (never was, or a concurrent
    request deleted it): the comment's foreign key says so."""
    pubsub = app[PUBSUB]

    async def save(tx: Any) -> Comment:
        comment = await Comment.create(
            tx, post_id=post_id, user_id=author.id, content=values.content
        )
        comment.author = author
        event = CommentEvent(comment=CommentOut.model_validate(comment))
        await pubsub.publish(channel(post_id), event.model_dump(mode="json"))
        return comment

    try:
        return await app[DB].write(save)
    except IntegrityError:
        raise DoesNotExist(f"there is no post {post_id}") from None


async def delete_comment(app: App, comment: Comment) -> None:
    await comment.delete(app[DB])


def channel(post_id: int) -> str:
    """The publish/subscribe channel of a post's live comments."""
    return f"post:{post_id}"
