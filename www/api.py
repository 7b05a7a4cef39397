"""The JSON API: a sub-application mounted at /api/, made of the resources' API routes.

Its errors are JSON (`{"error": {"status", "message"}}`, plus `fields` on 422), chosen by
the error middleware for every route of this sub-application. Handlers read bodies and
queries through schemas and declare what they answer with `@operation(...)`; from that,
the router and the schemas, www/openapi.py builds GET /api/openapi.json.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from . import bodies, openapi, resources
from .keys import ERRORS, OPENAPI
from .schemas import Schema
from .settings import Settings

S = TypeVar("S", bound=Schema)
PREFIX = "/api"
NO_STORE = {"Cache-Control": "no-store"}  # responses carrying a CSRF token


@dataclass(frozen=True)
class Operation:
    """What an API handler takes and answers, for the OpenAPI document."""

    response: type[Schema] | None = None  # None: an empty response (204)
    status: int = 200
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    partial: bool = False  # the body may hold any subset of `body`'s fields (PATCH)
    errors: tuple[int, ...] = ()  # statuses beyond those the route's shape implies
    upload: str | None = None  # a multipart/form-data body with a file in this part
    download: bool = False  # the response is bytes (application/octet-stream), not JSON


def operation(**declared: Any):
    """Declare a handler's body, query and response schemas: @operation(body=PostIn,
    response=PostOut, status=201). The docstring gives its summary and description."""
    op = Operation(**declared)

    def decorate(handler: Handler) -> Handler:
        handler.operation = op  # type: ignore[attr-defined]
        return handler

    return decorate


def mount_api(app: web.Application, config: Settings) -> web.Application:
    """Mount the /api/ sub-application: every resource's API routes and their OpenAPI
    document, built here so that an undocumented route stops the app before it starts."""
    api = web.Application()
    api[ERRORS] = error_response
    for module in resources.modules("routes"):
        api.add_routes(getattr(module, "API", ()))
    api.add_routes([web.get("/openapi.json", openapi_document, name="api.openapi")])
    app.add_subapp(PREFIX, api)  # from here on, the API's paths start with /api
    document = openapi.build(api, config.session.cookie_name)
    api[OPENAPI] = json.dumps(document, indent=1).encode()
    return api


def error_response(
    request: web.Request,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    fields: Mapping[str, str] | None = None,
) -> web.Response:
    """The contract's JSON error; with `fields` (input that broke a rule) it is a 422."""
    error: dict[str, Any] = {"status": status, "message": message}
    if fields is not None:
        error = {"status": 422, "message": "Some fields are not valid.", "fields": fields}
    return web.json_response({"error": error}, status=error["status"], headers=headers)


async def read_body(
    request: web.Request, schema: type[S], *, current: Schema | None = None
) -> tuple[S, dict[str, Any]]:
    """(validated body, the fields it sent). With `current` (PATCH), the fields sent are
    laid over `current`'s values, so a partial body is checked as the whole it makes.
    Raises 415/400/413 (see bodies.json_object) or Invalid (422)."""
    data = await bodies.json_object(request)
    whole = {**current.model_dump(), **data} if current is not None else data
    values = schema.parse(whole)
    return values, {name: getattr(values, name) for name in data}


def read_query(request: web.Request, schema: type[S]) -> S:
    """The query string through `schema` (other parameters are ignored). Raises Invalid."""
    return schema.parse(request.query, form=True)


def reply(
    value: Schema | None, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """`value` as JSON, with `status`; None gives an empty 204."""
    if value is None:
        return web.Response(status=204, headers=headers)
    return web.Response(
        text=value.model_dump_json(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


@operation(response=openapi.Document)
async def openapi_document(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API, built from its routes and schemas."""
    return web.Response(body=request.app[OPENAPI], content_type="application/json")
