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
from ..keys import DB, PUBSUB, QUERIES
from ..orm import DoesNotExist, Page
from .models import Comment, Post
from .schemas import CommentEvent, CommentIn, CommentOut, PostIn

App = Mapping[Any, Any]  # an Application, or a request's config_dict


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


async def post_with_comments(app: App, post_id: int) -> tuple[Post, list[Comment]] | None:
    """(post, its comments oldest first), each with its `author`; None if there is no post."""
    db = app[DB]

    async def load() -> tuple[Post, list[Comment]] | None:
        post = await Post.get(db, post_id)
        if post is None:
            return None
        query = Comment.select(db).where(post_id=post.id).order_by("created_at", "id")
        comments = await query.all()
        users = await User.get_many(db, [post.user_id, *(c.user_id for c in comments)])
        for item in (post, *comments):
            item.author = users[item.user_id]
        return post, comments

    return await app[QUERIES].get(("post", post_id), load)


async def get_post(app: App, post_id: int) -> Post | None:
    """The post with its `author`, or None."""
    found = await post_with_comments(app, post_id)
    return found[0] if found else None


async def publish_post(app: App, author: User, values: PostIn) -> Post:
    post = await Post.create(app[DB], user_id=author.id, **values.model_dump())
    post.author = author
    return post


async def update_post(app: App, post: Post, changes: Mapping[str, Any]) -> Post:
    """Save `changes` (validated PostIn fields) to `post`, a row loaded for this request
    (never one from the cache), and load its `author`. Raises DoesNotExist (404) if a
    concurrent request deleted it."""
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
