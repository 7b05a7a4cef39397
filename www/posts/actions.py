"""Loading and changing posts and comments: what the pages, the API and live comments share.

Each function takes `app`, the application's keys (`request.config_dict` in a view), and
already validated input (a schema from schemas.py). Checks that need the user (login,
ownership) stay in the views, which run them in the contract's order.

Page data is the same for every visitor, so the loaders share it until the database
changes (www/cache.py). Never modify what they return.
"""

from collections.abc import Mapping
from typing import Any

from ..accounts.models import User
from ..db import IntegrityError
from ..keys import DB, MARKDOWN, PUBSUB, QUERIES
from ..markdown import RENDERER_VERSION, TooLarge, as_plain_text
from ..orm import DoesNotExist, Page
from ..schemas import Invalid
from .models import Comment, Post
from .schemas import CommentEvent, CommentIn, CommentOut, PostIn

App = Mapping[Any, Any]  # an Application, or a request's config_dict
TOO_LONG = "Content would make too long a page: repeat long links less often."


async def posts_page(app: App, number: int, per_page: int, author_id: int | None = None) -> Page:
    """A page of posts, newest first, each with its `author`: all posts or one author's."""
    db = app[DB]

    async def load() -> Page:
        query = Post.select(db) if author_id is None else Post.select(db).where(user_id=author_id)
        page = await query.order_by("-created_at", "-id").paginate(number, per_page)
        authors = await User.get_many(db, (post.user_id for post in page.items))
        for post in page.items:
            post.author = authors[post.user_id]
        return page

    return await app[QUERIES].get(("posts", author_id, number, per_page), load)


async def get_post(app: App, post_id: int) -> Post | None:
    """The post with its `author`, or None. Its `content_html` may be stale: see post_html."""
    db = app[DB]

    async def load() -> Post | None:
        post = await Post.get(db, post_id)
        if post is not None:
            post.author = await User.get(db, post.user_id)
        return post

    return await app[QUERIES].get(("post", post_id), load)


async def comments_page(app: App, post_id: int, number: int | None, per_page: int) -> Page:
    """Page `number` of a post's comments, oldest first, each with its `author`; None: the
    last page, where a new comment is. One query for the page (LIMIT, OFFSET), one count."""
    db = app[DB]

    async def load() -> Page:
        query = Comment.select(db).where(post_id=post_id).order_by("created_at", "id")
        if number is None:
            total = await query.count()
            last = max(1, -(-total // per_page))
            items = await query.limit(per_page).offset((last - 1) * per_page).all()
            page = Page(items, last, per_page, total)
        else:
            page = await query.paginate(number, per_page)
        users = await User.get_many(db, (comment.user_id for comment in page.items))
        for comment in page.items:
            comment.author = users[comment.user_id]
        return page

    return await app[QUERIES].get(("comments", post_id, number, per_page), load)


async def post_html(app: App, post: Post) -> str:
    """The post's HTML: as stored, unless an older renderer made it (RENDERER_VERSION), or
    it was never rendered (rows from scripts and the migration); then it is rendered (off
    the loop) and saved, unless the post changed meanwhile. A post that would render too
    long is shown as its escaped source."""
    if post.html_version >= RENDERER_VERSION:  # a newer one: a worker not yet restarted
        return post.content_html
    try:
        html = await app[MARKDOWN].render(post.content)
    except TooLarge:
        html = as_plain_text(post.content)
    unchanged = Post.select(app[DB]).where(
        id=post.id, content=post.content, html_version__lt=RENDERER_VERSION
    )  # updated_at as it was: rendering again is no edit
    await unchanged.update(
        content_html=html, html_version=RENDERER_VERSION, updated_at=post.updated_at
    )
    return html


async def render_content(app: App, content: str) -> dict[str, Any]:
    """The HTML fields of a post with `content`, rendered off the loop. Raises Invalid when
    the HTML would be longer than markdown.max_html, 503 when the renderer is busy."""
    try:
        html = await app[MARKDOWN].render(content)
    except TooLarge:
        raise Invalid({"content": TOO_LONG}) from None
    return {"content_html": html, "html_version": RENDERER_VERSION}


async def publish_post(app: App, author: User, values: PostIn) -> Post:
    """Save a new post with its HTML. Raises Invalid (see render_content)."""
    html = await render_content(app, values.content)
    post = await Post.create(app[DB], user_id=author.id, **values.model_dump(), **html)
    post.author = author
    return post


async def update_post(app: App, post: Post, changes: Mapping[str, Any]) -> Post:
    """Save `changes` (validated PostIn fields) to `post`, a row loaded for this request
    (never one from the cache), and load its `author`. Raises DoesNotExist (404) if a
    concurrent request deleted it, Invalid if its new content is refused (render_content)."""
    if "content" in changes:
        changes = {**changes, **await render_content(app, changes["content"])}
    for name, value in changes.items():
        setattr(post, name, value)
    await post.save(app[DB])
    post.author = await User.get(app[DB], post.user_id)
    return post


async def delete_post(app: App, post: Post) -> None:
    """Delete the post; its comments go with it (ON DELETE CASCADE)."""
    await post.delete(app[DB])


async def add_comment(app: App, post: Post, author: User, values: CommentIn) -> Comment:
    """Save the comment and announce it to the post's live sockets (www/posts/live.py),
    in one transaction: the announcement goes out if and when the comment is saved.

    Raises DoesNotExist (404) if a concurrent request deleted the post."""
    try:
        async with app[DB].transaction() as tx:
            comment = await Comment.create(
                tx, post_id=post.id, user_id=author.id, content=values.content
            )
            comment.author = author
            event = CommentEvent(comment=CommentOut.model_validate(comment))
            await app[PUBSUB].publish(channel(post.id), event.model_dump(mode="json"))
    except IntegrityError:
        raise DoesNotExist(f"post {post.id} was deleted") from None
    return comment


async def delete_comment(app: App, comment: Comment) -> None:
    await comment.delete(app[DB])


def channel(post_id: int) -> str:
    """The publish/subscribe channel of a post's live comments."""
    return f"post:{post_id}"
