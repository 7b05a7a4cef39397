"""The blog: home page, posts, comments and user profiles.

Checks run in the contract's order: CSRF (middleware), login, the object exists (404),
the user may act on it (403), the input is valid (400, the form shown again).
"""

from aiohttp import web

from ..auth import check_owner, flash, login_required, may_edit
from ..db import IntegrityError
from ..forms import clean_comment, clean_post
from ..keys import CONFIG, DB, QUERIES, USER
from ..markdown import render_markdown
from ..models import Blog, Comment, User
from ..templating import render
from . import live
from .common import get_or_404, page_number, save_changes

# Page data is the same for every visitor, so it is shared until the database changes
# (www/cache.py). The API reads through the same two functions. Never modify what they return.


async def posts_page(app: web.Application, number: int, per_page: int, author_id=None):
    """(Page of posts newest first, [(post, author), ...]) for all posts or one author's."""
    db = app[DB]

    async def load():
        query = Blog.select(db) if author_id is None else Blog.select(db).where(user_id=author_id)
        page = await query.order_by("-created_at", "-id").paginate(number, per_page)
        authors = await User.get_many(db, (post.user_id for post in page.items))
        return page, [(post, authors[post.user_id]) for post in page.items]

    return await app[QUERIES].get(("posts", author_id, number, per_page), load)


async def post_with_comments(app: web.Application, post_id: int):
    """(post, author, [(comment, commenter), ...] oldest first), or None if missing."""
    db = app[DB]

    async def load():
        post = await Blog.get(db, post_id)
        if post is None:
            return None
        query = Comment.select(db).where(blog_id=post.id).order_by("created_at", "id")
        comments = await query.all()
        users = await User.get_many(db, [post.user_id, *(c.user_id for c in comments)])
        return post, users[post.user_id], [(c, users[c.user_id]) for c in comments]

    return await app[QUERIES].get(("post", post_id), load)


async def _post_list(request: web.Request, template: str, author_id: int | None, context):
    number = page_number(request)
    page, posts = await posts_page(
        request.app, number, request.app[CONFIG].blog.per_page, author_id
    )
    if number > 1 and not posts:
        raise web.HTTPNotFound(text="There is no such page.")
    return render(request, template, {**context, "posts": posts, "page": page})


async def index(request: web.Request) -> web.Response:
    """The home page: newest posts first, `blog.per_page` a page. 404 for a bad page."""
    return await _post_list(request, "index.html", None, {})


async def user_profile(request: web.Request) -> web.Response:
    """A user's posts. 404 if the user does not exist."""
    user = await get_or_404(User, request.app[DB], request.match_info["id"])
    return await _post_list(request, "user.html", user.id, {"user": user})


async def post_page(request: web.Request, comment_form: dict | None = None) -> web.Response:
    """A post with its comments, oldest first. 404 if the post does not exist."""
    found = await post_with_comments(request.app, int(request.match_info["id"]))
    if found is None:
        raise web.HTTPNotFound()
    post, author, comments = found
    user = request[USER]
    context = {
        "post": post,
        "author": author,
        "html": render_markdown(post.content),
        "comments": comments,
        "can_edit": may_edit(user, post.user_id),
        "can_delete_comment": lambda c: may_edit(user, c.user_id) or may_edit(user, post.user_id),
        "comment_form": comment_form or {"values": {}, "errors": {}},
    }
    return render(request, "post.html", context, status=400 if comment_form else 200)


@login_required
async def new_post_page(request: web.Request) -> web.Response:
    return render(request, "post_form.html", {"post": None, "values": {}, "errors": {}})


@login_required
async def create_post(request: web.Request) -> web.Response:
    """Create a post and 303 to it; 400 with the form again when the input is invalid."""
    values, errors = clean_post(await request.post())
    if errors:
        context = {"post": None, "values": values, "errors": errors}
        return render(request, "post_form.html", context, status=400)
    post = await Blog.create(request.app[DB], user_id=request[USER].id, **values)
    flash(request, "Your post is published.", "success")
    raise web.HTTPSeeOther(f"/posts/{post.id}")


async def _own_post(request: web.Request) -> Blog:
    post = await get_or_404(Blog, request.app[DB], request.match_info["id"])
    check_owner(request, post.user_id)
    return post


@login_required
async def edit_post_page(request: web.Request) -> web.Response:
    """The edit form. 404 if missing, 403 unless the author or an admin."""
    post = await _own_post(request)
    values = {"title": post.title, "summary": post.summary, "content": post.content}
    return render(request, "post_form.html", {"post": post, "values": values, "errors": {}})


@login_required
async def update_post(request: web.Request) -> web.Response:
    """Save an edit and 303 to the post. 404, 403, or 400 with the form again."""
    post = await _own_post(request)
    values, errors = clean_post(await request.post())
    if errors:
        context = {"post": post, "values": values, "errors": errors}
        return render(request, "post_form.html", context, status=400)
    await save_changes(request.app[DB], post, values)
    flash(request, "Your changes are saved.", "success")
    raise web.HTTPSeeOther(f"/posts/{post.id}")


@login_required
async def delete_post(request: web.Request) -> web.Response:
    """Delete a post and its comments, then 303 to /. 404, or 403 unless allowed."""
    post = await _own_post(request)
    await post.delete(request.app[DB])
    flash(request, "The post was deleted.", "success")
    raise web.HTTPSeeOther("/")


@login_required
async def add_comment(request: web.Request) -> web.Response:
    """Add a comment and 303 to it (#comment-<id>). 404 if the post is missing; 400 with
    the post page and the comment form again when the comment is invalid."""
    db = request.app[DB]
    post = await get_or_404(Blog, db, request.match_info["id"])
    values, errors = clean_comment(await request.post())
    if errors:
        return await post_page(request, {"values": values, "errors": errors})
    try:
        comment = await Comment.create(db, blog_id=post.id, user_id=request[USER].id, **values)
    except IntegrityError:  # the post was deleted by a concurrent request
        raise web.HTTPNotFound() from None
    await live.publish_comment(request.app, comment, request[USER])
    raise web.HTTPSeeOther(f"/posts/{post.id}#comment-{comment.id}")


@login_required
async def delete_comment(request: web.Request) -> web.Response:
    """Delete a comment and 303 to its post. 404 if missing; 403 unless the comment's
    author, the post's author or an admin."""
    db = request.app[DB]
    comment = await get_or_404(Comment, db, request.match_info["id"])
    post = await Blog.get(db, comment.blog_id)
    check_owner(request, comment.user_id, post.user_id)
    await comment.delete(db)
    flash(request, "The comment was deleted.", "success")
    raise web.HTTPSeeOther(f"/posts/{post.id}")
