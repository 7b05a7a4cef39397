"""The OpenAPI 3.1 document of the JSON API, served at GET /api/openapi.json.

This is the one description of the API: routes, parameters, bodies, responses (errors
included) and schemas. tests/test_openapi.py checks that it names exactly the /api/
routes of the router, and tests/test_schemathesis.py that the live app keeps to it.
Change a view in www/views/api.py, change this file with it.
"""

import functools
import json
from typing import Any

from .forms import POST_LIMITS

VERSION = "3.1.0"
JSON = "application/json"
MAX_ID = 10**18 - 1  # ids are 1 to 18 digits (www/routes.py)

ERROR_TEXT = {
    400: "The body is not valid JSON, or not a JSON object.",
    401: "Not logged in.",
    403: "The X-CSRF-Token header is missing or does not match the session.",
    404: "There is no such post (or the id is not 1 to 18 digits).",
    413: "The body is larger than 2 MiB.",
    415: "The body is not sent as application/json.",
    422: "Some fields are not valid; `fields` has a message for each, by name. A key that "
    "the operation does not know is refused too (`Unknown field.`).",
    "5XX": "Unexpected error. It is logged; the body never holds details.",
}
NOT_ALLOWED = (
    "The X-CSRF-Token header is missing or wrong, or the user is neither the post's author "
    "nor an admin."
)

# Security requirements (alternatives): GETs work anonymously and show more to a user;
# unsafe requests need the session cookie and its token (GET /api/session gives both).
PUBLIC: list[dict] = [{}, {"session": []}]
UNSAFE: list[dict] = [{"session": [], "csrf": []}]


# --- small builders -----------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict) -> dict:
    return {JSON: {"schema": schema}}


def obj(properties: dict[str, dict], required=None, **extra: Any) -> dict:
    """A closed object schema; every property is required unless `required` says which."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else list(required),
        "additionalProperties": False,
        **extra,
    }


def integer(low: int = 1, high: int | None = None, **extra: Any) -> dict:
    schema = {"type": "integer", "minimum": low, **extra}
    return schema if high is None else {**schema, "maximum": high}


def text(low: int, high: int, description: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string", "minLength": low, "maxLength": high}
    return schema if description is None else {**schema, "description": description}


TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, in UTC."}


def ok(description: str, schema: str, **headers: str) -> dict:
    response = {"description": description, "content": json_content(ref(schema))}
    if headers:
        response["headers"] = {
            name: {"description": about, "required": True, "schema": {"type": "string"}}
            for name, about in headers.items()
        }
    return response


def no_content(description: str) -> dict:
    return {"description": description}


def errors(*statuses: int, **descriptions: str) -> dict[str, dict]:
    """Error responses for `statuses` (and 5XX), each with the Error (or 422's) schema.

    `descriptions` replaces the usual text, keyed by "e403" and so on.
    """
    responses = {}
    for status in (*statuses, "5XX"):
        schema = "ValidationError" if status == 422 else "Error"
        description = descriptions.get(f"e{status}", ERROR_TEXT[status])
        responses[str(status)] = {"description": description, "content": json_content(ref(schema))}
    return responses


def body(schema: str, description: str) -> dict:
    return {"required": True, "description": description, "content": json_content(ref(schema))}


def operation(
    op_id: str, tag: str, summary: str, responses: dict, *, security=PUBLIC, **extra: Any
) -> dict:
    return {
        "operationId": op_id,
        "tags": [tag],
        "summary": summary,
        "security": security,
        **extra,
        "responses": responses,
    }


def query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


POST_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The post's id.",
    "schema": integer(1, MAX_ID),
    "example": 1,
}
BODY_ERRORS = (400, 413, 415, 422)  # a JSON body that is not acceptable, in check order


# --- components ---------------------------------------------------------------------------


def post_fields() -> dict[str, dict]:
    """Title, summary and content, limited as www/forms.py limits them."""
    stripped = " Leading and trailing spaces are removed."
    notes = {
        "title": "Required when creating." + stripped,
        "summary": "Plain text." + stripped,
        "content": "Markdown; raw HTML in it is shown escaped, never run.",
    }
    return {name: text(low, high, notes[name]) for name, (low, high) in POST_LIMITS.items()}


def schemas() -> dict[str, dict]:
    user = obj(
        {"id": integer(), "name": text(1, 50)},
        description="A user as anyone may see them: never an email or a password hash.",
    )
    post = obj(
        {
            "id": integer(),
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "content": {"type": "string", "description": "Markdown source."},
            "author": ref("User"),
            "created_at": TIME,
            "updated_at": TIME,
        }
    )
    comment = obj(
        {
            "id": integer(),
            "post_id": integer(),
            "content": {"type": "string"},
            "author": ref("User"),
            "created_at": TIME,
        }
    )
    error = obj({"status": integer(400, 599), "message": {"type": "string"}})
    fields = {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "A message for each field that is not valid, by field name.",
    }
    validation = obj({"status": {"const": 422}, "message": {"type": "string"}, "fields": fields})
    return {
        "User": user,
        "Post": post,
        "Comment": comment,
        "PostPage": obj(
            {
                "items": {"type": "array", "items": ref("Post")},
                "page": integer(),
                "per_page": integer(1, 100),
                "total": integer(0, description="How many posts there are in all."),
            },
            description="A page of posts, newest first. A page past the end has no items.",
        ),
        "CommentList": obj(
            {"items": {"type": "array", "items": ref("Comment")}},
            description="A post's comments, oldest first.",
        ),
        "Session": obj(
            {
                "user": {
                    "anyOf": [ref("User"), {"type": "null"}],
                    "description": "The logged-in user, or null.",
                },
                "csrf_token": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Send it as X-CSRF-Token on unsafe requests.",
                },
            }
        ),
        "Error": obj({"error": error}),
        "ValidationError": obj({"error": validation}),
        "Credentials": obj({"email": text(1, 254), "password": text(1, 1024)}),
        "NewPost": obj(post_fields(), required=["title"]),
        "PostChanges": obj(
            post_fields(),
            required=[],
            description="Any of the fields; the others are left as they are.",
        ),
        "NewComment": obj({"content": text(1, 5000, "Leading and trailing spaces are removed.")}),
    }


def security_schemes(cookie_name: str) -> dict[str, dict]:
    return {
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie_name,
            "description": "The session cookie, shared with the pages (HttpOnly, SameSite=Lax). "
            "GET /api/session starts one; POST /api/session replaces it with a logged-in one.",
        },
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRF-Token",
            "description": "The session's `csrf_token` (from GET or POST /api/session). Every "
            "POST, PUT, PATCH and DELETE must carry it, logging in included; else 403.",
        },
    }


# --- paths --------------------------------------------------------------------------------


def paths() -> dict[str, dict]:
    page = query("page", integer(1, 9_999_999), "The page, from 1 (default 1).")
    per_page = query(
        "per_page", integer(1, 100), "Posts a page, 1 to 100 (default: the blog.per_page setting)."
    )
    may_edit = {"e403": NOT_ALLOWED}
    return {
        "/api/session": {
            "get": operation(
                "get_session",
                "session",
                "The current user and the CSRF token",
                {
                    "200": ok("The session (it is started if there was none).", "Session"),
                    **errors(),
                },
            ),
            "post": operation(
                "create_session",
                "session",
                "Log in",
                {
                    "200": ok("Logged in: a new session cookie, and its token.", "Session"),
                    **errors(
                        401,
                        403,
                        *BODY_ERRORS,
                        e401="Incorrect email or password (one message for both).",
                    ),
                },
                security=UNSAFE,
                requestBody=body("Credentials", "The account's email and password."),
            ),
            "delete": operation(
                "delete_session",
                "session",
                "Log out",
                {
                    "204": no_content("Logged out; copies of the old cookie no longer work."),
                    **errors(403),
                },
                security=UNSAFE,
            ),
        },
        "/api/posts": {
            "get": operation(
                "list_posts",
                "posts",
                "A page of posts, newest first",
                {"200": ok("The page.", "PostPage"), **errors(422)},
                parameters=[page, per_page],
            ),
            "post": operation(
                "create_post",
                "posts",
                "Publish a post",
                {
                    "201": ok("The new post.", "Post", Location="/api/posts/<id>"),
                    **errors(401, 403, *BODY_ERRORS),
                },
                security=UNSAFE,
                requestBody=body("NewPost", "The post."),
            ),
        },
        "/api/posts/{id}": {
            "parameters": [POST_ID],
            "get": operation(
                "get_post", "posts", "A post", {"200": ok("The post.", "Post"), **errors(404)}
            ),
            "patch": operation(
                "update_post",
                "posts",
                "Change a post (its author or an admin)",
                {
                    "200": ok("The changed post.", "Post"),
                    **errors(401, 403, 404, *BODY_ERRORS, **may_edit),
                },
                security=UNSAFE,
                requestBody=body("PostChanges", "The fields to change."),
            ),
            "delete": operation(
                "delete_post",
                "posts",
                "Delete a post and its comments (its author or an admin)",
                {"204": no_content("Deleted."), **errors(401, 403, 404, **may_edit)},
                security=UNSAFE,
            ),
        },
        "/api/posts/{id}/comments": {
            "parameters": [POST_ID],
            "get": operation(
                "list_comments",
                "comments",
                "A post's comments, oldest first",
                {"200": ok("The comments.", "CommentList"), **errors(404)},
            ),
            "post": operation(
                "create_comment",
                "comments",
                "Comment on a post",
                {
                    "201": ok("The new comment (also sent to /ws/posts/<id>).", "Comment"),
                    **errors(401, 403, 404, *BODY_ERRORS),
                },
                security=UNSAFE,
                requestBody=body("NewComment", "The comment."),
            ),
        },
        "/api/openapi.json": {
            "get": operation(
                "openapi",
                "meta",
                "This document",
                {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": json_content({"type": "object"}),
                    },
                    **errors(),
                },
                security=[],
            ),
        },
    }


DESCRIPTION = """\
The blog's JSON API. It uses the same session cookie as the pages: call GET /api/session
first (it starts a session and returns its `csrf_token`), send that token in the
X-CSRF-Token header on every POST, PATCH and DELETE, and log in with POST /api/session.

Checks run in this order: the CSRF token (403), login (401), the post exists (404), the
user may change it (403), the body is acceptable (415, 413, 400, then 422).

Every error, under any /api/ address (unknown ones: 404; a method an address does not
take: 405 with an Allow header), is `{"error": {"status", "message"}}`; a 422 adds
`fields`, a message for each field. Request bodies are JSON objects; unknown keys are
refused with 422.
"""


def build_document(cookie_name: str = "www_session") -> dict[str, Any]:
    """The whole document; `cookie_name` is the session.cookie_name setting."""
    return {
        "openapi": VERSION,
        "info": {"title": "www blog API", "version": "1.0.0", "description": DESCRIPTION},
        "tags": [
            {"name": "session", "description": "Logging in and out, the CSRF token."},
            {"name": "posts", "description": "Posts."},
            {"name": "comments", "description": "Comments on a post."},
            {"name": "meta", "description": "This description."},
        ],
        "paths": paths(),
        "components": {"schemas": schemas(), "securitySchemes": security_schemes(cookie_name)},
    }


@functools.cache
def document_json(cookie_name: str) -> bytes:
    """The document as JSON bytes, built once per cookie name (in practice: once)."""
    return json.dumps(build_document(cookie_name), indent=1).encode()
