"""The OpenAPI 3.1 document of the JSON API, built from its router and its schemas.

Nothing here lists routes. build() walks the API sub-application's router and reads
what each route says about itself: its method and path (`{id}` parts), its handler's
`@operation(...)`, `@login_required` and docstring. The schemas are pydantic's JSON
Schemas of the very classes the handlers validate and serialize with. So a new route is
documented as soon as it is added, a route without `@operation` stops the app at start-up,
and the document cannot drift from the code. tests/test_openapi.py checks it against the
router and real responses; tests/test_schemathesis.py fuzzes the live app against it.
"""

import inspect
import re
import sys
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web
from pydantic import Field
from pydantic.json_schema import models_json_schema

from .csrf import HEADER as CSRF_HEADER
from .csrf import SAFE_METHODS
from .schemas import Schema

if TYPE_CHECKING:  # www/api.py imports this module
    from .api import Operation

JSON = "application/json"
MULTIPART = "multipart/form-data"
BYTES = "application/octet-stream"
REF = "#/components/schemas/{model}"
# Every operation takes an API token (bearer) or the session cookie, which an unsafe
# method needs with its CSRF token (www/csrf.py); a safe one takes nothing too.
BEARER = {"bearerAuth": []}
PUBLIC: list[dict] = [{}, BEARER, {"session": []}]  # a session shows more (user, token)
UNSAFE: list[dict] = [BEARER, {"session": [], "csrf": []}]
BODY_ERRORS = (400, 413, 415, 422)  # what www/bodies.py json_object and Schema.parse refuse
# A path part such as {id:[0-9]{1,18}} (www/routing.py ID), as the router compiled it.
DIGITS = re.compile(r"\(\?P<(\w+)>\[0-9\]\{1,(\d+)\}\)")

# Why each error comes, for the statuses a route's shape implies.
ERROR_TEXT: dict[int | str, str] = {
    400: "The body is not valid JSON, or not a JSON object.",
    401: "Not logged in, or the bearer token is wrong, revoked or expired (even where no "
    "login is needed: the request says who it is, and is not).",
    403: f"The {CSRF_HEADER} header is missing or does not match the session, or the user "
    "may not do this.",
    404: "There is nothing with this id.",
    413: "The body is larger than the server accepts.",
    415: "The body is not sent as application/json.",
    429: "Too many attempts: wait the Retry-After header's seconds. Bad bearer tokens from "
    "one client address are limited on every operation; see the description for more.",
    422: "Some input breaks its rules: `fields` has a message for each, by name. Unknown "
    "keys in a body are refused too (`Unknown field.`).",
    "5XX": "Unexpected error. It is logged; the body never holds details.",
}

DESCRIPTION = f"""\
The blog's JSON API. It shares the session cookie with the pages. GET /api/session starts
a session and returns its `csrf_token`; send it in the {CSRF_HEADER} header on every POST,
PUT, PATCH and DELETE (else 403), logging in with POST /api/session included.

A script uses a personal API token instead (made at /account/tokens): `Authorization:
Bearer www_...` on any request, with no cookie and no CSRF token. A wrong, revoked or
expired token is refused with 401 on every operation, even one open to anonymous users.

Checks run in this order: the bearer token (401), the CSRF token (403), login (401), the
item exists (404), the user may change it (403), the body is acceptable (415, 413, 400,
then 422).

Every error, under any /api/ address (unknown ones: 404; a method an address does not
take: 405 with an Allow header), is `{{"error": {{"status", "message"}}}}`; a 422 adds
`fields`, a message for each field. Bodies are JSON objects; unknown keys are refused.
A file is uploaded as multipart/form-data (POST /api/files), streamed to disk, and
downloaded as application/octet-stream (GET /api/files/{{id}}/content).

Logging in, posting and commenting are rate limited (per client address, account or
user), and so are bad bearer tokens (per client address): too many attempts get 429
with a Retry-After header, in seconds, and the wait in words in the message. While an
account is locked, even the right password gets 429.
"""


# --- the error shapes (www/api.py error_response writes them) ------------------------------


class ErrorDetail(Schema):
    status: int = Field(ge=400, le=599)
    message: str


class Error(Schema):
    """Every error of the API."""

    error: ErrorDetail


class FieldErrors(Schema):
    status: Literal[422]
    message: str
    fields: dict[str, str] = Field(description="A message for each field that is not valid.")


class ValidationError(Schema):
    """Input that breaks a rule (422), with a message for each field."""

    error: FieldErrors


class Document(Schema):
    """An OpenAPI 3.1 document: this one (the response of its own route)."""

    openapi: str
    info: dict[str, Any]
    tags: list[dict[str, Any]]
    paths: dict[str, dict[str, Any]]
    components: dict[str, Any]


# --- the document ---------------------------------------------------------------------------


def build(api: web.Application, cookie_name: str) -> dict[str, Any]:
    """The document of `api`'s routes (mounted: their paths carry the /api prefix).

    Raises TypeError for a route that does not say what it takes and answers (no
    `@operation`, no docstring), so no route can go undocumented.
    """
    routes = [(route, _declared(route)) for route in api.router.routes() if route.method != "HEAD"]
    names = [route.handler.__name__ for route, _ in routes]
    if len(names) != len(set(names)):
        raise TypeError(f"API handlers need distinct names (the operationId): {sorted(names)}")
    # Every schema at once, so that pydantic names each one once (and tells apart two
    # classes of the same name); $refs point at components/schemas.
    wanted = [(Error, "serialization"), (ValidationError, "serialization")]
    for _, op in routes:
        wanted += [(op.body, "validation")] if op.body else []
        wanted += [(op.response, "serialization")] if op.response else []
    refs, defs = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    schemas = defs.get("$defs", {})
    gets = {route.resource.canonical for route, _ in routes if route.method == "GET"}

    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, str] = {}
    for route, op in routes:
        path = route.resource.canonical
        tag, about = _tag(route.handler)
        tags[tag] = about
        operation = _operation(route, op, refs, schemas, has_items=f"{path}/{{id}}" in gets)
        item = paths.setdefault(path, _path_parameters(route.resource))
        item[route.method.lower()] = {"tags": [tag], **operation}
    return {
        "openapi": "3.1.0",
        "info": {"title": "www blog API", "version": "1.0.0", "description": DESCRIPTION},
        "tags": [{"name": name, "description": about} for name, about in tags.items()],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": _security(cookie_name)},
    }


def _declared(route: web.AbstractRoute) -> "Operation":
    where = f"{route.method} {route.resource.canonical if route.resource else route}"
    operation = getattr(route.handler, "operation", None)
    if operation is None:
        raise TypeError(f"{where}: decorate its handler with @operation(...) (www/api.py)")
    if not inspect.getdoc(route.handler):
        raise TypeError(f"{where}: its handler needs a docstring (the operation's summary)")
    return operation


def _operation(
    route: web.AbstractRoute, op: "Operation", refs: dict, schemas: dict, has_items: bool
) -> dict[str, Any]:
    """One operation. Its errors follow from the route's shape, as the app answers them:
    a bad bearer token (anywhere), the CSRF check, an {id} to find, a body or a query to
    validate; a handler's own `errors` (a 401 of its own) are described by its docstring."""
    handler, path = route.handler, route.resource.canonical
    unsafe = route.method not in SAFE_METHODS
    implied = {401, 429}  # a bad bearer token, too many of them: anywhere (www/auth.py)
    implied |= {403} if unsafe else set()
    implied |= {404} if "{" in path else set()
    implied |= set(BODY_ERRORS) if op.body else set()
    implied |= {422} if op.query else set()

    status = op.status if op.response or op.download else 204
    responses = {str(status): _success(op, status, refs, path if has_items else None)}
    for code in sorted(implied | set(op.errors)):
        text = (
            ERROR_TEXT[code]
            if code in implied and code not in op.errors
            else f"{HTTPStatus(code).phrase}: see the description."
        )
        schema = refs[(ValidationError if code == 422 else Error, "serialization")]
        responses[str(code)] = _response(text, schema)
    responses["5XX"] = _response(ERROR_TEXT["5XX"], refs[(Error, "serialization")])

    summary, description = _doc(handler)
    operation: dict[str, Any] = {"operationId": handler.__name__, "summary": summary}
    operation |= {"description": description} if description else {}
    operation["security"] = UNSAFE if unsafe else PUBLIC
    if op.query:
        operation["parameters"] = _query_parameters(op.query)
    if op.body:
        schema = refs[(op.body, "validation")]
        schema = _partial(schemas, schema) if op.partial else schema
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    if op.upload:
        operation["requestBody"] = _upload(op.upload)
    return operation | {"responses": responses}


def _upload(part: str) -> dict[str, Any]:
    """A multipart/form-data body whose `part` is a file (its other parts are skipped)."""
    file = {"type": "string", "contentMediaType": BYTES, "description": "The file's bytes."}
    schema = {"type": "object", "properties": {part: file}, "required": [part]}
    encoding = {part: {"contentType": BYTES}}
    return {"required": True, "content": {MULTIPART: {"schema": schema, "encoding": encoding}}}


def _success(op: "Operation", status: int, refs: dict, collection: str | None) -> dict:
    if op.download:
        schema = {"type": "string", "contentMediaType": BYTES}
        return {"description": "The bytes, as uploaded.", "content": {BYTES: {"schema": schema}}}
    if op.response is None:
        return {"description": "Done; there is nothing to send back."}
    about = _first_line(op.response.__doc__) or HTTPStatus(status).phrase
    response = _response(about, refs[(op.response, "serialization")])
    if status == 201 and collection:  # created in a collection whose items have an address
        about = f"The new item's address: {collection}/{{id}}."
        location = {"description": about, "required": True, "schema": {"type": "string"}}
        response["headers"] = {"Location": location}
    return response


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _partial(schemas: dict[str, Any], ref: dict[str, str]) -> dict[str, str]:
    """A `<Body>Changes` component for PATCH: any of the body's fields, the others left as
    they are (so none is required, and no default applies)."""
    name = ref["$ref"].rsplit("/", 1)[1]
    whole = schemas[name]
    fields = {field: _without(schema, "default") for field, schema in whole["properties"].items()}
    changes = _without(whole, "required", "title") | {
        "properties": fields,
        "description": f"Any of {name}'s fields; those left out keep their values.",
    }
    schemas[f"{name}Changes"] = changes
    return {"$ref": REF.format(model=f"{name}Changes")}


def _path_parameters(resource: web.AbstractResource) -> dict[str, Any]:
    """The path item's shared `parameters`: its {id} parts, with the router's bounds."""
    pattern = resource.get_info().get("pattern")
    digits = dict(DIGITS.findall(pattern.pattern)) if pattern else {}
    parameters = []
    for name in re.findall(r"\{(\w+)\}", resource.canonical):
        if name not in digits:
            raise TypeError(f"{resource.canonical}: {{{name}}} is not a [0-9]{{1,N}} id")
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": f"An id: 1 to {digits[name]} digits.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 10 ** int(digits[name]) - 1},
                "example": 1,
            }
        )
    return {"parameters": parameters} if parameters else {}


def _query_parameters(query: type[Schema]) -> list[dict[str, Any]]:
    """A query parameter for each field of `query` (plain values: no null, no nesting)."""
    schema = query.model_json_schema(mode="validation")
    if "$defs" in schema:
        raise TypeError(f"{query.__name__}: a query holds plain values, not objects")
    parameters = []
    for name, field in schema["properties"].items():
        options = [option for option in field.get("anyOf", ()) if option != {"type": "null"}]
        if len(options) == 1:  # `int | None`: absent is the None
            field = _without(field, "anyOf") | options[0]
        if "default" in field and field["default"] is None:
            field = _without(field, "default")
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", ())}
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter | {"schema": _without(field, "title", "description")})
    return parameters


def _security(cookie_name: str) -> dict[str, dict]:
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "www_ and 43 characters",
            "description": "A personal API token, made at /account/tokens: it acts as its "
            "user, without a cookie or a CSRF token. Wrong, revoked or expired: 401.",
        },
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": cookie_name,
            "description": "The session cookie, shared with the pages (HttpOnly, "
            "SameSite=Lax). GET /api/session starts one; logging in replaces it.",
        },
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": CSRF_HEADER,
            "description": "The session's `csrf_token`. Every POST, PUT, PATCH and DELETE "
            "must carry it, logging in included; else 403.",
        },
    }


def _tag(handler: Callable) -> tuple[str, str]:
    """(name, description): the handler's resource (www.posts.api: posts), described by
    the first line of its module's docstring; handlers outside a resource are "meta"."""
    parts = handler.__module__.split(".")
    if len(parts) < 3:
        return "meta", "The API's own description."
    about = _first_line(sys.modules[handler.__module__].__doc__) or parts[-2]
    return parts[-2], re.sub(r" \([^)]*\)", "", about)  # asides are for developers


def _doc(handler: Callable) -> tuple[str, str]:
    """(summary, description): the docstring's first sentence, and the rest of it."""
    text = " ".join((inspect.getdoc(handler) or "").split())
    summary, _, rest = text.partition(". ")
    return summary.rstrip("."), rest


def _first_line(doc: str | None) -> str:
    return inspect.cleandoc(doc).split("\n", 1)[0] if doc else ""


def _without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if key not in keys}
