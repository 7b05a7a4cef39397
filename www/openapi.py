"""The OpenAPI 3.1 document of the JSON API, built from the API's router and schemas."""

from typing import Any

from aiohttp import web


def build(api: web.Application, cookie_name: str) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "www blog API", "version": "1.0.0"}, "paths": {}}
