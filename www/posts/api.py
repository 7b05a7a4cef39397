"""Posts and comments in the JSON API (mounted at /api/, see www/api.py).

Checks run in the contract's order: CSRF (middleware, 403), login (401), the post exists
(404), the user may change it (403), the body is acceptable (415, 400, then 422).
"""

import asyncio

from aiohttp import web
from pydantic import Field

from ..api import operation, read_body, read_query, reply
from ..auth import check_owner, login_required
from ..keys import CONFIG, DB, USER
from ..orm import Page
from ..ratelimits import hit
from ..routing import MAX_PAGE, get_or_404, url_for
from ..schemas import Invalid, Schema
from . import actions
from .models import Post
from .schemas import (
    TAG_RULE,
    CommentIn,
    CommentOut,
    CommentPage,
    PostIn,
    PostOut,
    PostPage,
    tag_name,
)
from .search import words as search_words
from .tags import load_tags


class PostsQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, title="Page", description="The page, from 1.")
    per_page: int | None = Field(
        None, ge=1, le=100, title="Per page", description="Posts a page (default: blog.per_page)."
    )
    tag: str | None = Field(
        None, title="Tag", description="Only the posts with this tag (any letter case)."
    )
    q: str | None = Field(
        None,
        title="Search",
        description="Only the posts holding every word of this text (letters and digits:"
        " anything else separates words; one without a word finds nothing), the best"
        " match first; at most search.max_query_length characters.",
    )


class CommentsQuery(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE, title="Page", description="The page, from 1.")
    per_page: int | None = Field(
        None,
        ge=1,
        le=100,
        title="Per page",
        description="Comments a page (default: blog.comments_per_page).",
    )


async def _post(request: web.Request) -> Post:
    post = await actions.get_post(request.config_dict, int(request.match_info["id"]))
    if post is None:
        raise web.HTTPNotFound(text="There is no such post.")
    return post


@operation(query=PostsQuery, response=PostPage)
async def list_posts(request: web.Request) -> web.Response:
    """A page of posts, newest first: all of them, a tag's (`tag`), or those found by a
    search (`q`, the best match first), or both."""
    app, query = request.config_dict, read_query(request, PostsQuery)
    per_page = query.per_page or app[CONFIG].blog.per_page
    if query.tag is None and query.q is None:
        page = await actions.posts_page(app, query.page, per_page)
    else:
        tag = None if query.tag is None else tag_name(query.tag)
        if query.tag is not None and tag is None:
            raise Invalid({"tag": TAG_RULE})
        limits = app[CONFIG].search
        found = search_words(query.q or "", limits.max_query_length, limits.max_words)
        if query.q is not None and not found:  # no word to look for: nothing is found
            page = Page([], query.page, per_page, 0)
        else:
            page = await actions.found_posts(app, query.page, per_page, tag=tag, words=found)
    return reply(PostPage(items=page.items, page=query.page, per_page=per_page, total=page.total))


@operation(body=PostIn, response=PostOut, status=201, errors=(429,))
@login_required
async def create_post(request: web.Request) -> web.Response:
    """Publish a post. 429 (with Retry-After) past the user's rate_limits.post_user."""
    values, _ = await read_body(request, PostIn)
    await hit(request, "post_user", str(request[USER].id))
    post = await actions.publish_post(request.config_dict, request[USER], values)
    location = url_for(request, "api.posts.detail", id=post.id)
    return reply(PostOut.model_validate(post), status=201, headers={"Location": location})


@operation(response=PostOut)
async def get_post(request: web.Request) -> web.Response:
    """A post."""
    return reply(PostOut.model_validate(await _post(request)))


@operation(body=PostIn, partial=True, response=PostOut)
@login_required
async def update_post(request: web.Request) -> web.Response:
    """Change any of a post's fields (its author or an admin)."""
    post = await get_or_404(Post, request)
    check_owner(request, post.user_id)
    await load_tags(request.config_dict[DB], [post])
    current = PostIn.model_validate(post)
    _, changes = await read_body(request, PostIn, current=current)
    post = await actions.update_post(request.config_dict, post, changes)
    return reply(PostOut.model_validate(post))


@operation()
@login_required
async def delete_post(request: web.Request) -> web.Response:
    """Delete a post and its comments (its author or an admin)."""
    post = await get_or_404(Post, request)
    check_owner(request, post.user_id)
    await actions.delete_post(request.config_dict, post)
    return reply(None)


@operation(query=CommentsQuery, response=CommentPage)
async def list_comments(request: web.Request) -> web.Response:
    """A page of a post's comments, oldest first."""
    app, post_id = request.config_dict, int(request.match_info["id"])
    query = read_query(request, CommentsQuery)
    per_page = query.per_page or app[CONFIG].blog.comments_per_page
    post, page = await asyncio.gather(  # together: they share one cache check
        actions.get_post(app, post_id), actions.comments_page(app, post_id, query.page, per_page)
    )
    if post is None:
        raise web.HTTPNotFound(text="There is no such post.")
    return reply(CommentPage(items=page.items, page=page.page, per_page=per_page, total=page.total))


@operation(body=CommentIn, response=CommentOut, status=201, errors=(429,))
@login_required
async def create_comment(request: web.Request) -> web.Response:
    """Comment on a post (also sent to its live sockets). 429 (with Retry-After) past the
    user's rate_limits.comment_user."""
    post = await get_or_404(Post, request)
    values, _ = await read_body(request, CommentIn)
    await hit(request, "comment_user", str(request[USER].id))
    comment = await actions.add_comment(request.config_dict, post.id, request[USER], values)
    return reply(CommentOut.model_validate(comment), status=201)
