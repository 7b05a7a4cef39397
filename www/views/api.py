"""The JSON API under /api/, described by www/openapi.py (GET /api/openapi.json).

It shares the pages' models, input rules (www/forms.py) and permission helpers. Checks
run in the contract's order: CSRF (middleware, 403), login (401), the object exists (404),
the user may act on it (403), the input is valid (415, 400, then 422 with `fields`).
Other errors become `{"error": {"status", "message"}}` in www/middlewares.py.

Request bodies are JSON objects; a key that the route does not know is a 422 (a typo
such as "titel" should not look like success).
"""

import json
from collections.abc import Collection
from typing import Any

from aiohttp import web

from ..auth import check_owner, log_in, log_out, login_required
from ..csrf import get_token
from ..db import IntegrityError
from ..forms import Errors, clean_comment, clean_post, is_utf8
from ..keys import CONFIG, DB, SESSION, USER
from ..models import Blog, Comment, User
from ..openapi import document_json
from ..serialize import comment_json, post_json, user_json
from .accounts import WRONG_LOGIN, authenticate
from .common import MAX_PAGE, get_or_404, positive_int, save_changes
from .live import publish_comment
from .posts import post_with_comments, posts_page

POST_FIELDS = ("title", "summary", "content")
MAX_PER_PAGE = 100
NO_STORE = {"Cache-Control": "no-store"}  # responses carrying a CSRF token


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object.

    Raises 415 unless the Content-Type is application/json; 400 for malformed JSON (NaN
    and unpaired surrogates included) or a body that is not an object; 413 (from aiohttp)
    over the app's client_max_size.
    """
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send JSON (Content-Type: application/json).")
    raw = await request.read()
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise web.HTTPBadRequest(text="The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="The body must be a JSON object.")
    if not all(is_utf8(value) for value in data.values() if isinstance(value, str)):
        raise web.HTTPBadRequest(text="The body is not valid JSON (unpaired surrogate).")
    return data


def unknown_fields(data: dict[str, Any], known: Collection[str]) -> Errors:
    """A 422 message for each key of `data` that is not in `known`."""
    return {key: "Unknown field." for key in data if key not in known}


def invalid(fields: Errors, message: str = "Some fields are not valid.") -> web.Response:
    """The 422 response: the error shape of the contract plus a message for each field."""
    body = {"error": {"status": 422, "message": message, "fields": fields}}
    return web.json_response(body, status=422)


# --- the session ------------------------------------------------------------------------


def _session_json(request: web.Request) -> dict[str, Any]:
    user = request[USER]
    return {
        "user": user_json(user) if user else None,
        "csrf_token": get_token(request[SESSION]),
    }


async def get_session(request: web.Request) -> web.Response:
    """The current user (or null) and the CSRF token; starts a session when there is none."""
    return web.json_response(_session_json(request), headers=NO_STORE)


async def create_session(request: web.Request) -> web.Response:
    """Log in with {"email", "password"}: a new session, its user and CSRF token.

    Raises 415/400 for a body that is not a JSON object, 401 with one message for an
    unknown email and a wrong password; returns 422 for missing or malformed fields.
    """
    data = await json_body(request)
    if errors := unknown_fields(data, ("email", "password")):
        return invalid(errors)
    user, _, errors = await authenticate(request, data)
    if errors == {"password": WRONG_LOGIN}:
        raise web.HTTPUnauthorized(text=WRONG_LOGIN)
    if user is None:
        return invalid(errors)
    await log_in(request, user)
    return web.json_response(_session_json(request), headers=NO_STORE)


async def delete_session(request: web.Request) -> web.Response:
    """Log out: 204, and every copy of the old session cookie stops working."""
    await log_out(request)
    return web.Response(status=204)


# --- posts ------------------------------------------------------------------------------


def _int_param(request: web.Request, name: str, default: int, high: int, errors: Errors) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    number = positive_int(raw, high)
    if number is None:
        errors[name] = f"{name} must be a whole number from 1 to {high}."
    return number or default


async def list_posts(request: web.Request) -> web.Response:
    """A page of posts, newest first; a page past the end has no items.

    Returns 422 when `page` or `per_page` (1 to 100) is not a whole number in range.
    """
    errors: Errors = {}
    page = _int_param(request, "page", 1, MAX_PAGE, errors)
    default = request.app[CONFIG].blog.per_page
    per_page = _int_param(request, "per_page", default, MAX_PER_PAGE, errors)
    if errors:
        return invalid(errors)
    result, posts = await posts_page(request.app, page, per_page)
    items = [post_json(post, author) for post, author in posts]
    return web.json_response(
        {"items": items, "page": page, "per_page": per_page, "total": result.total}
    )


@login_required
async def create_post(request: web.Request) -> web.Response:
    """Publish a post: 201 with the post and its Location.

    Raises 401 when anonymous, 415/400 for a body that is not a JSON object; returns 422
    for invalid or unknown fields.
    """
    data = await json_body(request)
    values, errors = clean_post(data)
    if errors := {**unknown_fields(data, POST_FIELDS), **errors}:
        return invalid(errors)
    user = request[USER]
    post = await Blog.create(request.app[DB], user_id=user.id, **values)
    headers = {"Location": f"/api/posts/{post.id}"}
    return web.json_response(post_json(post, user), status=201, headers=headers)


async def _post_with_author(request: web.Request) -> tuple[Blog, User]:
    db = request.app[DB]
    post = await get_or_404(Blog, db, request.match_info["id"])
    author = await User.get(db, post.user_id)
    return post, author


async def get_post(request: web.Request) -> web.Response:
    """One post. Raises 404 if it does not exist."""
    return web.json_response(post_json(*await _post_with_author(request)))


@login_required
async def update_post(request: web.Request) -> web.Response:
    """Change any of title, summary and content: 200 with the post.

    Raises 401 when anonymous, 404 if the post is missing, 403 unless the author or an
    admin, 415/400 for a body that is not a JSON object; returns 422 for invalid or
    unknown fields.
    """
    post, author = await _post_with_author(request)
    check_owner(request, post.user_id)
    data = await json_body(request)
    values, errors = clean_post(data, partial=True)
    if errors := {**unknown_fields(data, POST_FIELDS), **errors}:
        return invalid(errors)
    await save_changes(request.app[DB], post, values)
    return web.json_response(post_json(post, author))


@login_required
async def delete_post(request: web.Request) -> web.Response:
    """Delete a post and its comments: 204.

    Raises 401 when anonymous, 404 if the post is missing, 403 unless the author or an admin.
    """
    db = request.app[DB]
    post = await get_or_404(Blog, db, request.match_info["id"])
    check_owner(request, post.user_id)
    await post.delete(db)
    return web.Response(status=204)


# --- comments ---------------------------------------------------------------------------


async def list_comments(request: web.Request) -> web.Response:
    """A post's comments, oldest first. Raises 404 if the post does not exist."""
    found = await post_with_comments(request.app, int(request.match_info["id"]))
    if found is None:
        raise web.HTTPNotFound()
    _, _, comments = found
    return web.json_response({"items": [comment_json(c, author) for c, author in comments]})


@login_required
async def create_comment(request: web.Request) -> web.Response:
    """Comment on a post: 201 with the comment, also sent to the post's live sockets.

    Raises 401 when anonymous, 404 if the post is missing, 415/400 for a body that is not
    a JSON object; returns 422 for an invalid or unknown field.
    """
    db = request.app[DB]
    post = await get_or_404(Blog, db, request.match_info["id"])
    data = await json_body(request)
    values, errors = clean_comment(data)
    if errors := {**unknown_fields(data, ("content",)), **errors}:
        return invalid(errors)
    user = request[USER]
    try:
        comment = await Comment.create(db, blog_id=post.id, user_id=user.id, **values)
    except IntegrityError:  # the post was deleted by a concurrent request
        raise web.HTTPNotFound() from None
    await publish_comment(request.app, comment, user)
    return web.json_response(comment_json(comment, user), status=201)


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API."""
    body = document_json(request.app[CONFIG].session.cookie_name)
    return web.Response(body=body, content_type="application/json")
