"""The blog's pages: home, posts, the post form, comments, authors' profiles, tags and
search.

Checks run in the contract's order: CSRF (middleware), login, the object exists (404),
the user may act on it (403), the input is valid (400, the form shown again).
"""

import asyncio

from aiohttp import web

from .. import bodies
from ..accounts.actions import get_user
from ..accounts.models import User
from ..auth import check_owner, flash, login_required, may_edit
from ..keys import CONFIG, DB, USER
from ..orm import Page
from ..ratelimits import hit
from ..routing import get_or_404, page_number, see_other, url_for
from ..schemas import Invalid, form_attrs
from ..templating import render
from . import actions, rendering
from .models import Comment, Post
from .schemas import CommentIn, PostIn, tag_name
from .search import excerpt, highlight
from .search import words as search_words
from .tags import load_tags


async def _post_list(
    request: web.Request, template: str, author: User | None, page: Page
) -> web.Response:
    """A page of posts (the home page's or an author's), once loaded: 404 past the end."""
    if page.page > 1 and not page.items:
        raise web.HTTPNotFound(text="There is no such page.")
    return render(request, template, {"page": page, "author": author})


async def tag(request: web.Request) -> web.Response:
    """A tag's posts, newest first, paginated as the home page. 404 for a tag no post has
    (or no tag at all), and for a page past the end."""
    name = tag_name(request.match_info["tag"])
    number = page_number(request)
    if name is None:
        raise web.HTTPNotFound(text="There is no such tag.")
    per_page = request.config_dict[CONFIG].blog.per_page
    page = await actions.found_posts(request.config_dict, number, per_page, tag=name)
    if not page.items:
        raise web.HTTPNotFound()
    return render(request, "posts/tag.html", {"page": page, "tag": name})


async def search(request: web.Request) -> web.Response:
    """/search?q=&page=: the posts holding every word, best first, each with an excerpt
    (search.py). No query: the form. Too long a query: 400 and the form with a message."""
    app, query = request.config_dict, request.query.get("q", "")
    settings = app[CONFIG].search
    context: dict = {"q": query, "errors": {}, "page": None}
    context["max_length"] = settings.max_query_length
    try:
        found = search_words(query, settings.max_query_length, settings.max_words)
    except Invalid as exc:
        context["errors"] = exc.errors
        return render(request, "posts/search.html", context, status=400)
    number = page_number(request)
    if found:
        per_page = app[CONFIG].blog.per_page
        page = await actions.found_posts(app, number, per_page, words=found)
        if number > 1 and not page.items:
            raise web.HTTPNotFound(text="There is no such page.")
        context["page"] = page
        context["titles"] = {post.id: highlight(post.title, found) for post in page.items}
        context["excerpts"] = {
            post.id: excerpt(post, found, settings.excerpt_length) for post in page.items
        }
    elif query.strip():  # only punctuation: nothing to look for
        context["page"] = Page([], 1, 1, 0)
    return render(request, "posts/search.html", context)


async def index(request: web.Request) -> web.Response:
    """The home page: newest posts first, `blog.per_page` a page. 404 for a bad page."""
    app, number = request.config_dict, page_number(request)
    page = await actions.posts_page(app, number, app[CONFIG].blog.per_page)
    return await _post_list(request, "posts/index.html", None, page)


async def author(request: web.Request) -> web.Response:
    """A user's posts. 404 if the user does not exist."""
    app, number = request.config_dict, page_number(request)
    author_id = int(request.match_info["id"])
    found, page = await asyncio.gather(  # side by side when the cache must load them
        get_user(app, author_id),
        actions.posts_page(app, number, app[CONFIG].blog.per_page, author_id),
    )
    if found is None:
        raise web.HTTPNotFound()
    return await _post_list(request, "posts/author.html", found, page)


async def detail(request: web.Request, comment_form: dict | None = None) -> web.Response:
    """A post with a page of its comments, oldest first: `?page=N`, by default the last,
    where a new comment lands (#comment-<id>). 404 if the post or the page does not exist."""
    app, post_id = request.config_dict, int(request.match_info["id"])
    number = page_number(request) if "page" in request.query else None
    per_page = app[CONFIG].blog.comments_per_page
    post, comments, stored = await actions.post_page(app, post_id, number, per_page)
    if post is None or (number is not None and number > 1 and not comments.items):
        raise web.HTTPNotFound()
    user = request[USER]
    can_edit = may_edit(user, post.user_id)  # the post's author (or an admin) moderates
    context = {
        "post": post,
        "html": await rendering.post_html(app, post, stored),  # rendered when saved
        "comments": comments,
        "last_page": max(1, -(-comments.total // per_page)),
        "can_edit": can_edit,
        # The comments whose slots get this reader's delete button (detail.html); visitors
        # get an empty set.
        "deletable": {c.id for c in comments.items if can_edit or may_edit(user, c.user_id)}
        if user
        else frozenset(),
        "comment_form": comment_form or {"values": {}, "errors": {}},
        "attrs": form_attrs(CommentIn),
    }
    return render(request, "posts/detail.html", context, status=400 if comment_form else 200)


def _form(request, post: Post | None, values, errors=None) -> web.Response:
    """The post form; `values` as typed, or the post's (its tags as the field's text)."""
    if isinstance(values.get("tags"), list):
        values = {**values, "tags": ", ".join(values["tags"])}
    context = {
        "post": post,
        "values": values,
        "errors": errors or {},
        "attrs": form_attrs(PostIn),
        "tags_hint": PostIn.model_fields["tags"].description,
    }
    return render(request, "posts/form.html", context, status=400 if errors else 200)


@login_required
async def new(request: web.Request) -> web.Response:
    return _form(request, None, {})


@login_required
async def create(request: web.Request) -> web.Response:
    """Create a post and 303 to it; 400 with the form again when the input is invalid,
    429 past the user's rate_limits.post_user."""
    form = await bodies.form(request)
    try:
        values = PostIn.parse(form, form=True)
        await hit(request, "post_user", str(request[USER].id))  # before rendering it
        post = await actions.publish_post(request.config_dict, request[USER], values)
    except Invalid as exc:
        return _form(request, None, form, exc.errors)
    flash(request, "Your post is published.", "success")
    return see_other(url_for(request, "posts.detail", id=post.id))


async def _own_post(request: web.Request) -> Post:
    post = await get_or_404(Post, request)
    check_owner(request, post.user_id)
    return post


@login_required
async def edit(request: web.Request) -> web.Response:
    """The edit form. 404 if missing, 403 unless the author or an admin."""
    post = await _own_post(request)
    await load_tags(request.config_dict[DB], [post])
    return _form(request, post, {name: getattr(post, name) for name in PostIn.model_fields})


@login_required
async def update(request: web.Request) -> web.Response:
    """Save an edit and 303 to the post. 404, 403, or 400 with the form again."""
    post = await _own_post(request)
    form = await bodies.form(request)
    try:
        values = PostIn.parse(form, form=True)
        await actions.update_post(request.config_dict, post, values.model_dump())
    except Invalid as exc:
        return _form(request, post, form, exc.errors)
    flash(request, "Your changes are saved.", "success")
    return see_other(url_for(request, "posts.detail", id=post.id))


@login_required
async def delete(request: web.Request) -> web.Response:
    """Delete a post and its comments, then 303 to /. 404, or 403 unless allowed."""
    await actions.delete_post(request.config_dict, await _own_post(request))
    flash(request, "The post was deleted.", "success")
    return see_other(url_for(request, "posts.index"))


@login_required
async def comment(request: web.Request) -> web.Response:
    """Add a comment and 303 to it (#comment-<id>). 404 if the post is missing; 400 with
    the post page and the comment form again when the comment is invalid; 429 past the
    user's rate_limits.comment_user.

    The post is not read first: the comment's foreign key finds a missing post (404) in
    the same trip as the INSERT, and the form's errors are shown by detail(), which reads
    it. It is the hot write of a busy site: one query fewer, one wait less."""
    post_id = int(request.match_info["id"])
    form = await bodies.form(request)
    try:
        values = CommentIn.parse(form, form=True)
    except Invalid as exc:
        return await detail(request, {"values": form, "errors": exc.errors})
    try:
        await hit(request, "comment_user", str(request[USER].id))
    except web.HTTPTooManyRequests:
        await get_or_404(Post, request)  # a missing post is 404 first, as it always was
        raise
    added = await actions.add_comment(request.config_dict, post_id, request[USER], values)
    return see_other(url_for(request, "posts.detail", id=post_id) + f"#comment-{added.id}")


@login_required
async def delete_comment(request: web.Request) -> web.Response:
    """Delete a comment and 303 to its post. 404 if missing; 403 unless the comment's
    author, the post's author or an admin."""
    found = await get_or_404(Comment, request)
    post = await actions.get_post(request.config_dict, found.post_id)
    if post is None:  # deleted (with its comments) by a concurrent request
        raise web.HTTPNotFound()
    check_owner(request, found.user_id, post.user_id)
    await actions.delete_comment(request.config_dict, found)
    flash(request, "The comment was deleted.", "success")
    return see_other(url_for(request, "posts.detail", id=post.id))
